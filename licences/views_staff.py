"""Staff back-office pages of licences/: applications, licences, decisions, sanctions, appeals, certificates."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from certification.access import staff_required
from licences import documents, forms, selectors, services
from licences.models import Appeal, Application, Certificate, Licence, Product, Sanction


def run_service(form, call):
    """Call a service; business refusals become form errors. Returns the result or None."""
    try:
        return call()
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


def serve_file(field, filename, content_type="application/pdf"):
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


def certificate_download(request, certificate, template):
    if certificate.render_status != Certificate.RenderStatus.RENDERED or not certificate.pdf:
        return render(request, template, {"certificate": certificate}, status=200)
    return serve_file(certificate.pdf, f"{certificate.full_number}.pdf")


def pdf_response(data, filename):
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _effective(day):
    if not day:
        return None
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return max(moment, timezone.now()) if day == timezone.localdate() else moment


# --- applications --------------------------------------------------------------------------------------

@staff_required()
@require_GET
def application_list(request):
    applications = selectors.applications()
    state = request.GET.get("state", "")
    if state:
        applications = applications.filter(state=state)
    page = Paginator(applications.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(request, "licences/application_list.html",
                  {"page": page, "state": state, "states": Application.State.choices})


@staff_required("registry.edit")
def application_create(request, holder_pk):
    holder = get_object_or_404(selectors.holders_for_staff(), pk=holder_pk)
    form = forms.ApplicationForm(request.POST or None, holder=holder)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        application = run_service(form, lambda: services.do_create_application(
            holder=holder, site=data["site"], mark=data["regulation_version"].regulation.mark,
            regulation_version=data["regulation_version"], products=data["products"], remarks=data["remarks"],
            by=request.user))
        if application:
            messages.success(request, _("Application recorded."))
            return redirect("staff:application-detail", pk=application.pk)
    return render(request, "licences/application_form.html", {"form": form, "holder": holder})


def _application_context(application, **extra):
    return {"application": application, "products": application.products.all(),
            "reason_form": forms.ReasonForm(), **extra}


@staff_required()
@require_GET
def application_detail(request, pk):
    application = get_object_or_404(selectors.applications(), pk=pk)
    return render(request, "licences/application_detail.html", _application_context(application))


STAFF_APPLICATION_ACTIONS = {
    "submit": lambda app, request, reason, v: services.do_submit_application(application=app, expected_version=v),
    "send_pack": lambda app, request, reason, v: services.do_send_information_pack(application=app,
                                                                                   expected_version=v),
    "confirm_electronic": lambda app, request, reason, v: services.do_confirm_application(
        application=app, by=request.user, electronic=True, expected_version=v),
    "review": lambda app, request, reason, v: services.do_start_review(application=app, expected_version=v),
    "admit": lambda app, request, reason, v: services.do_admit(application=app, by=request.user, reason=reason,
                                                               expected_version=v),
    "withdraw": lambda app, request, reason, v: services.do_withdraw_application(
        application=app, by=request.user, reason=reason, expected_version=v),
}


def posted_version(request):
    value = request.POST.get("row_version", "")
    return int(value) if value.isdigit() else None


@staff_required("registry.edit")
@require_POST
def application_action(request, pk):
    application = get_object_or_404(selectors.applications(), pk=pk)
    form = forms.ReasonForm(request.POST)
    action = STAFF_APPLICATION_ACTIONS.get(request.POST.get("action"))
    if action is None or not form.is_valid():
        form.add_error(None, _("Unknown action."))
    elif run_service(form, lambda: action(application, request, form.cleaned_data["reason"],
                                          posted_version(request))):
        messages.success(request, _("Done."))
        return redirect("staff:application-detail", pk=application.pk)
    application.refresh_from_db()
    return render(request, "licences/application_detail.html", _application_context(application, reason_form=form),
                  status=400)


@staff_required()
@require_GET
def application_pack(request, pk):
    application = get_object_or_404(selectors.applications(), pk=pk)
    return serve_file(application.pack, f"{application.reference}-information-pack.pdf")


@staff_required()
@require_GET
def application_signed_copy(request, pk):
    application = get_object_or_404(selectors.applications(), pk=pk)
    return serve_file(application.signed_copy, f"{application.reference}-signed.pdf")


# --- licences ----------------------------------------------------------------------------------------------

@staff_required()
@require_GET
def licence_list(request):
    licences = selectors.licences()
    state = request.GET.get("state", "")
    if state:
        licences = licences.filter(state=state)
    page = Paginator(licences.order_by("number", "pk"), 50).get_page(request.GET.get("page"))
    return render(request, "licences/licence_list.html", {"page": page, "state": state,
                                                          "states": Licence.State.choices})


def _licence_context(request, licence, **forms_):
    context = {
        "licence": licence,
        "products": licence.products.select_related("category"),
        "history": licence.history.select_related("recorded_by"),
        "decisions": licence.decisions.select_related("decided_by"),
        "sanctions": licence.sanctions.all(),
        "certificate_changes": selectors.certificate_changes(licence),
        "expiry_notices": licence.expiry_notices.filter(expires_on=licence.expires_on).order_by("-threshold_days"),
        "appeals": Appeal.objects.filter(decision__licence=licence).prefetch_related("committee"),
        "certificates": licence.certificates.all().order_by("-version"),
        "visits": selectors.licence_visits(licence),
        "decision_form": forms.DecisionForm(licence=licence),
        "sanction_form": forms.SanctionForm(),
        "appeal_form": forms.AppealForm(),
        "issue_form": forms.IssueForm(),
        "committee_form": forms.AppealCommitteeForm(body=licence.body),
        "outcome_form": forms.AppealOutcomeForm(),
        "reason_form": forms.ReasonForm(),
        "inspected": services.inspected_by(request.user, licence),
    }
    context.update(forms_)
    return context


def _licence_page(request, licence, status=200, **forms_):
    licence.refresh_from_db()
    return render(request, "licences/licence_detail.html", _licence_context(request, licence, **forms_), status=status)


@staff_required()
@require_GET
def licence_detail(request, pk):
    licence = get_object_or_404(selectors.licences(), pk=pk)
    return _licence_page(request, licence)


@staff_required("decisions.take")
@require_POST
def licence_decide(request, pk):
    licence = get_object_or_404(selectors.licences(), pk=pk)
    form = forms.DecisionForm(request.POST, licence=licence)
    if form.is_valid():
        data = form.cleaned_data
        decision = run_service(form, lambda: services.do_take_decision(
            licence=licence, kind=data["kind"], by=request.user, reason=data["reason"],
            effective_from=_effective(data["effective_on"]), products=data["products"], language=data["language"],
            valid_years=data["valid_years"]))
        if decision:
            messages.success(request, _("Decision recorded: %(kind)s.") % {"kind": decision.get_kind_display()})
            return redirect("staff:licence-detail", pk=licence.pk)
    return _licence_page(request, licence, status=400, decision_form=form)


@staff_required("decisions.take")
@require_POST
def licence_sanction(request, pk):
    licence = get_object_or_404(selectors.licences(), pk=pk)
    form = forms.SanctionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        if run_service(form, lambda: services.do_impose_sanction(
                licence=licence, kind=data["kind"], starts_on=data["starts_on"], ends_on=data["ends_on"],
                reason=data["reason"], by=request.user)):
            messages.success(request, _("Sanction recorded."))
            return redirect("staff:licence-detail", pk=licence.pk)
    return _licence_page(request, licence, status=400, sanction_form=form)


@staff_required("decisions.take")
@require_POST
def sanction_lift(request, pk):
    sanction = get_object_or_404(Sanction.objects.select_related("licence"), pk=pk)
    form = forms.ReasonForm(request.POST)
    if form.is_valid() and run_service(form, lambda: services.do_lift_sanction(
            sanction=sanction, by=request.user, reason=form.cleaned_data["reason"] or "Sanction lifted")):
        messages.success(request, _("Sanction lifted."))
        return redirect("staff:licence-detail", pk=sanction.licence_id)
    return _licence_page(request, sanction.licence, status=400, reason_form=form)


@staff_required("registry.edit")
@require_POST
def licence_appeal(request, pk):
    licence = get_object_or_404(selectors.licences(), pk=pk)
    form = forms.AppealForm(request.POST)
    decision = licence.decisions.filter(pk=request.POST.get("decision") or 0).first()
    if decision is None:
        form.add_error(None, _("Choose the decision appealed against."))
    elif form.is_valid() and run_service(form, lambda: services.do_lodge_appeal(
            decision=decision, lodged_on=form.cleaned_data["lodged_on"], grounds=form.cleaned_data["grounds"])):
        messages.success(request, _("Appeal registered."))
        return redirect("staff:licence-detail", pk=licence.pk)
    return _licence_page(request, licence, status=400, appeal_form=form)


@staff_required("registry.edit")
@require_POST
def appeal_update(request, pk):
    appeal = get_object_or_404(Appeal.objects.select_related("decision__licence"), pk=pk)
    licence = appeal.decision.licence
    if request.POST.get("action") == "committee":
        form = forms.AppealCommitteeForm(request.POST, body=request.tenant)
        ok = form.is_valid() and run_service(form, lambda: services.do_set_appeal_committee(
            appeal=appeal, members=form.cleaned_data["members"]))
        key = "committee_form"
    else:
        form = forms.AppealOutcomeForm(request.POST)
        ok = form.is_valid() and run_service(form, lambda: services.do_record_appeal_outcome(
            appeal=appeal, outcome=form.cleaned_data["outcome"], reason=form.cleaned_data["reason"], by=request.user))
        key = "outcome_form"
    if ok:
        messages.success(request, _("Appeal updated."))
        return redirect("staff:licence-detail", pk=licence.pk)
    return _licence_page(request, licence, status=400, **{key: form})


@staff_required("decisions.take")
@require_POST
def licence_issue(request, pk):
    licence = get_object_or_404(selectors.licences(), pk=pk)
    form = forms.IssueForm(request.POST)
    if form.is_valid() and run_service(form, lambda: services.do_issue_certificate(
            licence=licence, by=request.user, language=form.cleaned_data["language"])):
        messages.success(request, _("Certificate issued; the PDF is being rendered."))
        return redirect("staff:licence-detail", pk=licence.pk)
    return _licence_page(request, licence, status=400, issue_form=form)


@staff_required()
@require_GET
def licence_results(request, pk):
    licence = get_object_or_404(selectors.licences(), pk=pk)
    return pdf_response(documents.results_pdf(licence), f"{licence.number}-certification-results.pdf")


@staff_required()
@require_GET
def certificate_pdf(request, pk):
    certificate = get_object_or_404(selectors.certificates(), pk=pk)
    return certificate_download(request, certificate, "licences/certificate_pending.html")


# --- holder sites and products (staff side) ---------------------------------------------------------------

@staff_required("registry.edit")
def site_create(request, holder_pk):
    holder = get_object_or_404(selectors.holders_for_staff(), pk=holder_pk)
    form = forms.SiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_add_site(holder=holder, **form.cleaned_data)):
            messages.success(request, _("Site added."))
            return redirect("staff:holder-detail", pk=holder.pk)
    return render(request, "licences/simple_form.html", {"form": form, "holder": holder, "title": _("New site"),
                                                         "base": "staff/base.html"})


@staff_required("registry.edit")
def product_create(request, holder_pk):
    holder = get_object_or_404(selectors.holders_for_staff(), pk=holder_pk)
    form = forms.ProductForm(request.POST or None, holder=holder)
    if request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_add_product(holder=holder, **form.cleaned_data)):
            messages.success(request, _("Product added."))
            return redirect("staff:holder-detail", pk=holder.pk)
    return render(request, "licences/simple_form.html", {"form": form, "holder": holder, "title": _("New product"),
                                                         "base": "staff/base.html"})


def product_form_initial(product):
    return {"site": product.site_id, "category": product.category_id, "commercial_name": product.commercial_name,
            "technical_description": product.technical_description,
            "declared_characteristics": "\n".join(f"{k}: {v}" for k, v in product.declared_characteristics.items())}


PRODUCT_FIELDS = ["commercial_name", "site", "category", "technical_description", "declared_characteristics"]


def _characteristics_text(characteristics):
    return "\n".join(f"{k}: {v}" for k, v in (characteristics or {}).items())


def product_conflict(form, current):
    """Both sides of a concurrent product edit, field by field: what this user submitted, what is stored now."""
    rows = []
    for name in PRODUCT_FIELDS:
        yours, theirs = form.cleaned_data.get(name), getattr(current, name)
        if name == "declared_characteristics":
            yours, theirs = _characteristics_text(yours), _characteristics_text(theirs)
        rows.append({"label": form.fields[name].label or name.replace("_", " ").capitalize(), "yours": str(yours or ""),
                     "current": str(theirs or ""), "differs": (yours or "") != (theirs or "")})
    return rows


def edit_product(request, product, base, done):
    """Edit form shared by staff and portal. A stale ``row_version`` answers 409 with both values side by side;
    the form keeps the user's input and now carries the current version, so saving again is a deliberate choice."""
    initial = {**product_form_initial(product), "row_version": product.row_version}
    form = forms.ProductEditForm(request.POST or None, holder=product.holder, initial=initial)
    conflict, status = None, 200
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        expected = changes.pop("row_version")
        try:
            services.do_update_product(product=product, changes=changes, expected_version=expected)
        except services.ProductEditConflict as exc:
            conflict, status, product = product_conflict(form, exc.current), 409, exc.current
            data = request.POST.copy()
            data["row_version"] = exc.current.row_version
            form = forms.ProductEditForm(data, holder=product.holder)
            form.is_valid()
            form.add_error(None, exc.messages[0])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Product updated."))
            return redirect(done)
    return render(request, "licences/product_form.html", {
        "form": form, "title": _("Edit %(product)s") % {"product": product.commercial_name}, "base": base,
        "conflict": conflict, "product": product}, status=status)


@staff_required("registry.edit")
def product_edit(request, pk):
    product = get_object_or_404(Product.objects.select_related("holder"), pk=pk)
    return edit_product(request, product, "staff/base.html", reverse("staff:holder-detail", args=[product.holder_id]))
