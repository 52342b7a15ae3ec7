"""Portal pages of licences/: a licence-holder's sites, products, users, applications, licences, certificates.

The tenant scope restricts every query to the user's own holder; ids of other holders answer 404.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from certification.access import portal_required
from licences import documents, forms, selectors, services
from licences.models import HolderMembership, Licence, Product, Site
from licences.views_staff import (
    certificate_download,
    edit_product,
    pdf_response,
    posted_version,
    run_service,
    serve_file,
)


def _holder(request):
    return request.holder_membership.holder


def _is_manager(request):
    return request.holder_membership.role == HolderMembership.Role.MANAGER


@portal_required
@require_GET
def portal_home(request):
    holder = _holder(request)
    return render(request, "portal/home.html", {
        "holder": holder, "users": selectors.holder_users(holder), "is_manager": _is_manager(request),
        "sites": Site.objects.filter(holder=holder), "products": Product.objects.filter(holder=holder)
        .select_related("category", "site"),
        "applications": selectors.applications().filter(holder=holder),
        "licences": selectors.licences().filter(holder=holder),
        "expiry_notices": selectors.expiry_notices(holder),
    })


@portal_required
def site_create(request):
    form = forms.SiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_add_site(holder=_holder(request), **form.cleaned_data)):
            messages.success(request, _("Site added."))
            return redirect("portal:home")
    return render(request, "licences/simple_form.html", {"form": form, "title": _("New production site"),
                                                         "base": "portal/base.html"})


@portal_required
def product_create(request):
    form = forms.ProductForm(request.POST or None, holder=_holder(request))
    if request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_add_product(holder=_holder(request), **form.cleaned_data)):
            messages.success(request, _("Product added."))
            return redirect("portal:home")
    return render(request, "licences/simple_form.html", {"form": form, "title": _("New product"),
                                                         "base": "portal/base.html"})


@portal_required
def invite(request):
    form = forms.InviteForm(request.POST or None)
    if not _is_manager(request):
        form.add_error(None, _("Only a manager of your company may invite colleagues."))
    elif request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_invite_holder_user(
                holder=_holder(request), email=form.cleaned_data["email"], role=form.cleaned_data["role"],
                invited_by=request.user)):
            messages.success(request, _("Invitation sent: your colleague receives a link to set a password."))
            return redirect("portal:home")
    return render(request, "licences/simple_form.html", {"form": form, "title": _("Invite a colleague"),
                                                         "base": "portal/base.html"})


@portal_required
def application_create(request):
    holder = _holder(request)
    form = forms.ApplicationForm(request.POST or None, holder=holder)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        application = run_service(form, lambda: services.do_create_application(
            holder=holder, site=data["site"], mark=data["regulation_version"].regulation.mark,
            regulation_version=data["regulation_version"], products=data["products"], remarks=data["remarks"],
            by=request.user))
        if application:
            messages.success(request, _("Draft application saved. Submit it when ready."))
            return redirect("portal:application-detail", pk=application.pk)
    return render(request, "licences/simple_form.html", {"form": form, "title": _("Apply for certification"),
                                                         "base": "portal/base.html"})


def _application_page(request, application, status=200, **extra):
    return render(request, "portal/application_detail.html", {
        "application": application, "products": application.products.all(),
        "confirm_form": extra.get("confirm_form") or forms.ConfirmForm(),
        "reason_form": extra.get("reason_form") or forms.ReasonForm()}, status=status)


@portal_required
@require_GET
def application_detail(request, pk):
    application = get_object_or_404(selectors.applications(), pk=pk)
    return _application_page(request, application)


@portal_required
@require_POST
def application_action(request, pk):
    application = get_object_or_404(selectors.applications(), pk=pk)
    action = request.POST.get("action")
    if action == "confirm":
        form = forms.ConfirmForm(request.POST, request.FILES)
        ok = form.is_valid() and run_service(form, lambda: services.do_confirm_application(
            application=application, by=request.user, signed_copy=form.cleaned_data.get("signed_copy"),
            electronic=form.cleaned_data.get("electronic"), expected_version=posted_version(request)))
        key = "confirm_form"
    else:
        form = forms.ReasonForm(request.POST)
        calls = {
            "submit": lambda: services.do_submit_application(application=application,
                                                             expected_version=posted_version(request)),
            "withdraw": lambda: services.do_withdraw_application(application=application, by=request.user,
                                                                  reason=form.cleaned_data["reason"],
                                                                  expected_version=posted_version(request)),
        }
        ok = form.is_valid() and action in calls and run_service(form, calls[action])
        if action not in calls:
            form.add_error(None, _("Unknown action."))
        key = "reason_form"
    if ok:
        messages.success(request, _("Done."))
        return redirect("portal:application-detail", pk=application.pk)
    application.refresh_from_db()
    return _application_page(request, application, status=400, **{key: form})


@portal_required
@require_GET
def application_pack(request, pk):
    application = get_object_or_404(selectors.applications(), pk=pk)
    return serve_file(application.pack, f"{application.reference}-information-pack.pdf")


@portal_required
@require_GET
def licence_detail(request, pk):
    licence = get_object_or_404(selectors.licences(), pk=pk)
    return render(request, "portal/licence_detail.html", {
        "licence": licence, "products": licence.products.select_related("category"),
        "history": licence.history.all(), "decisions": licence.decisions.all(),
        "sanctions": licence.sanctions.all(), "certificates": licence.certificates.order_by("-version"),
        "valid_states": Licence.VALID_STATES})


@portal_required
@require_GET
def licence_results(request, pk):
    licence = get_object_or_404(selectors.licences(), pk=pk)
    return pdf_response(documents.results_pdf(licence), f"{licence.number}-certification-results.pdf")


@portal_required
@require_GET
def certificate_pdf(request, pk):
    certificate = get_object_or_404(selectors.certificates(), pk=pk)
    return certificate_download(request, certificate, "portal/certificate_pending.html")


@portal_required
def product_edit(request, pk):
    product = get_object_or_404(Product.objects.select_related("holder"), pk=pk)
    return edit_product(request, product, "portal/base.html", "portal:home")
