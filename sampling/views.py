from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from certification import access
from certification.access import lab_required, portal_required, staff_required
from inspections.models import Visit
from licences.models import Product
from sampling import charts, forms, labels, selectors, services
from sampling.models import ConformityOutcome, LabResult, Sample, SampleRequest, SelfMonitoringResult


def _form_errors(form, exc):
    if hasattr(exc, "message_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


# ---------------------------------------------------------------- inspector

def _my_visit(request, visit_pk):
    return get_object_or_404(Visit.objects.select_related("licence"), pk=visit_pk, inspector=request.user)


def _my_sample(request, pk):
    return get_object_or_404(Sample.objects.select_related("product", "visit", "laboratory"), pk=pk,
                             visit__inspector=request.user)


@staff_required("inspections.perform")
def inspector_take_sample(request, visit_pk):
    visit = _my_visit(request, visit_pk)
    form = forms.TakeSampleForm(request.POST or None, visit=visit)
    if request.method == "POST" and form.is_valid():
        try:
            sample = services.do_take_sample(visit=visit, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Sample %(code)s taken. Print its label.") % {"code": sample.code})
            return redirect("inspector:sample-detail", pk=sample.pk)
    samples = Sample.objects.filter(visit=visit)
    requests = (SampleRequest.objects.filter(licence=visit.licence, state=SampleRequest.State.OPEN)
                .select_related("product").prefetch_related("requirements"))
    return render(request, "sampling/inspector_take.html", {"visit": visit, "form": form, "samples": samples,
                                                            "requests": requests})


@staff_required("inspections.perform")
def inspector_sample_detail(request, pk):
    sample = _my_sample(request, pk)
    form = forms.DispatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_dispatch_sample(sample=sample, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Sample dispatched."))
            return redirect("inspector:sample-detail", pk=sample.pk)
    return render(request, "sampling/inspector_sample.html",
                  {"sample": sample, "form": form, "custody": sample.custody.select_related("by")})


@staff_required("inspections.perform")
def inspector_sample_label(request, pk):
    sample = _my_sample(request, pk)
    pdf = labels.label_pdf(sample)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{sample.code}.pdf"'
    return response


# ---------------------------------------------------------------- laboratory

def _lab_sample(request, pk):
    sample = get_object_or_404(selectors.samples_for_lab(request.user), pk=pk)
    if not services.lab_may_handle(request.user, sample):
        raise Http404
    return sample


@lab_required
def lab_home(request):
    samples = selectors.samples_for_lab(request.user)
    return render(request, "lab/home.html", {"laboratory": request.lab_membership.laboratory,
                                             "samples": samples[:200]})


@lab_required
def lab_sample_detail(request, pk):
    sample = _lab_sample(request, pk)
    form = forms.LabResultForm(request.POST or None, sample=sample,
                               initial={"tested_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.do_record_lab_result(sample=sample, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Result recorded."))
            return redirect("lab:sample-detail", pk=sample.pk)
    results = (sample.results.select_related("requirement", "entered_by", "supersedes")
               .annotate(is_superseded=Exists(LabResult.objects.filter(supersedes=OuterRef("pk"))))
               .order_by("property_code", "id"))
    return render(request, "sampling/lab_sample.html", {
        "sample": sample, "form": form, "results": results, "custody": sample.custody.select_related("by")})


def _lab_step(step):
    @lab_required
    @require_POST
    def view(request, pk):
        sample = _lab_sample(request, pk)
        try:
            step(sample=sample, by=request.user)
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        return redirect("lab:sample-detail", pk=sample.pk)

    return view


lab_receive = _lab_step(services.do_receive_sample)
lab_report = _lab_step(services.do_report_sample)


@lab_required
def lab_correct_result(request, pk):
    result = get_object_or_404(LabResult.objects.select_related("sample", "requirement"), pk=pk)
    sample = _lab_sample(request, result.sample_id)
    form = forms.CorrectionForm(request.POST or None, initial={"value": result.value, "unit": result.unit,
                                                               "uncertainty": result.uncertainty})
    if request.method == "POST" and form.is_valid():
        try:
            services.do_correct_lab_result(result=result, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Correction recorded; the original is kept."))
            return redirect("lab:sample-detail", pk=sample.pk)
    return render(request, "sampling/lab_correct.html", {"result": result, "sample": sample, "form": form})


# ---------------------------------------------------------------- portal (self-monitoring)

def _period(request):
    today = timezone.localdate()
    try:
        days = max(1, min(int(request.GET.get("days", 90)), 3660))
    except ValueError:
        days = 90
    return today - timedelta(days=days - 1), today, days


@portal_required
def portal_self_monitoring(request):
    holder = request.holder_membership.holder
    form = forms.SelfMonitoringForm(request.POST or None, holder=holder)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_record_self_monitoring(holder=holder, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Result recorded."))
            return redirect("portal:self-monitoring")
    date_from, date_to, days = _period(request)
    products = list(selectors.products_of(holder))
    frequency = [(product, selectors.frequency_check(product, date_from, date_to)) for product in products]
    results = SelfMonitoringResult.objects.filter(holder=holder).select_related("product").order_by("-tested_on", "-id")
    return render(request, "sampling/portal_self_monitoring.html", {
        "form": form, "results": results[:100], "frequency": frequency, "date_from": date_from,
        "date_to": date_to, "days": days, "upload_form": forms.CsvUploadForm()})


@portal_required
def portal_upload(request):
    holder = request.holder_membership.holder
    form = forms.CsvUploadForm(request.POST or None, request.FILES or None)
    bad_rows = []
    if request.method == "POST" and form.is_valid():
        filename, text = form.cleaned_data["file"]
        try:
            upload = services.do_import_self_monitoring(holder=holder, text=text, filename=filename, by=request.user)
        except services.ImportRejected as exc:
            bad_rows = exc.rows
            form.add_error(None, exc.messages[0])
        else:
            messages.success(request, _("%(n)d results imported.") % {"n": upload.rows})
            return redirect("portal:self-monitoring")
    return render(request, "sampling/portal_upload.html", {"form": form, "bad_rows": bad_rows,
                                                           "columns": services.CSV_COLUMNS},
                  status=400 if bad_rows else 200)


def _chart(request, product, property_code, template):
    series = selectors.chart_series(product, property_code)
    if series is None:
        raise Http404
    svg = charts.control_chart_svg(series["points"], series["lower"], series["upper"],
                                   title=f"{product} — {series['requirement'].property_name}")
    return render(request, template, {"product": product, "series": series, "svg": svg})


@portal_required
def portal_chart(request, product_pk, property_code):
    product = get_object_or_404(Product, pk=product_pk, holder=request.holder_membership.holder)
    return _chart(request, product, property_code, "sampling/portal_chart.html")


# ---------------------------------------------------------------- staff

@staff_required()
def staff_outcomes(request):
    outcomes = selectors.outcomes_for_staff()
    status = request.GET.get("status", ConformityOutcome.Status.PROPOSED)
    if status in ConformityOutcome.Status.values:
        outcomes = outcomes.filter(status=status)
    return render(request, "sampling/staff_outcomes.html", {
        "outcomes": outcomes[:200], "status": status, "statuses": ConformityOutcome.Status.choices,
        "decision_form": forms.DecisionForm()})


@staff_required("decisions.take")
@require_POST
def staff_decide(request, pk):
    outcome = get_object_or_404(selectors.outcomes_for_staff(), pk=pk)
    form = forms.DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.do_decide_outcome(outcome=outcome, accept=form.cleaned_data["decision"] == "accept",
                                       reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(request, _("Decision recorded."))
    else:
        messages.error(request, _("Choose accept or dismiss."))
    return redirect("staff:conformity-outcomes")


@staff_required()
def staff_sample_detail(request, pk):
    sample = get_object_or_404(selectors.samples_for_staff(), pk=pk)
    return render(request, "sampling/staff_sample.html", {
        "sample": sample, "custody": sample.custody.select_related("by"),
        "results": sample.results.select_related("entered_by").order_by("property_code", "id"),
        "outcomes": sample.outcomes.select_related("requirement", "finding__visit", "sample_request__fulfilled_by",
                                                   "planned_visit", "sanction")})


@staff_required()
def staff_samples(request):
    return render(request, "sampling/staff_samples.html", {"samples": selectors.samples_for_staff()[:200]})


@staff_required()
def staff_chart(request, product_pk, property_code):
    product = get_object_or_404(Product, pk=product_pk)
    return _chart(request, product, property_code, "sampling/staff_chart.html")


@staff_required()
def staff_laboratories(request):
    laboratories = selectors.laboratories_for_staff()
    return render(request, "sampling/staff_laboratories.html", {"laboratories": laboratories})


@staff_required("registry.edit")
def staff_laboratory_create(request):
    form = forms.LaboratoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            laboratory = services.do_recognise_laboratory(body=request.tenant, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Laboratory %(name)s recognised.") % {"name": laboratory.name})
            return redirect("staff:laboratory-detail", pk=laboratory.pk)
    return render(request, "sampling/staff_laboratory_form.html", {"form": form},
                  status=400 if form.errors else 200)


@staff_required()
def staff_laboratory_detail(request, pk):
    laboratory = get_object_or_404(selectors.laboratories_for_staff(), pk=pk)
    form = forms.LabUserForm(request.POST or None)
    if request.method == "POST":
        if not access.has_capability(request, "registry.edit"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.do_invite_lab_user(laboratory=laboratory, invited_by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("%(email)s can now use the laboratory portal; an invitation was sent.")
                                 % {"email": form.cleaned_data["email"]})
                return redirect("staff:laboratory-detail", pk=laboratory.pk)
    members = laboratory.memberships.filter(is_active=True).select_related("user").order_by("user__email")
    return render(request, "sampling/staff_laboratory.html", {
        "laboratory": laboratory, "form": form, "members": members,
        "samples": laboratory.samples.select_related("product")[:50]}, status=400 if form.errors else 200)


@staff_required("registry.edit")
@require_POST
def staff_laboratory_user_remove(request, pk, membership_pk):
    laboratory = get_object_or_404(selectors.laboratories_for_staff(), pk=pk)
    membership = get_object_or_404(laboratory.memberships.filter(is_active=True), pk=membership_pk)
    services.do_remove_lab_user(membership=membership, reason=request.POST.get("reason", ""))
    messages.success(request, _("%(email)s no longer has access to the laboratory portal.")
                     % {"email": membership.user.email})
    return redirect("staff:laboratory-detail", pk=laboratory.pk)


@staff_required("registry.edit")
def staff_laboratory_scope(request, pk):
    laboratory = get_object_or_404(selectors.laboratories_for_staff(), pk=pk)
    form = forms.LaboratoryScopeForm(request.POST or None, initial={
        "accreditation": laboratory.accreditation, "accreditation_valid_until": laboratory.accreditation_valid_until,
        "test_methods": list(laboratory.test_methods.all())})
    if request.method == "POST" and form.is_valid():
        services.do_set_laboratory_scope(laboratory=laboratory, **form.cleaned_data)
        messages.success(request, _("Accreditation scope updated."))
        return redirect("staff:laboratory-detail", pk=laboratory.pk)
    return render(request, "sampling/staff_laboratory_scope.html", {"laboratory": laboratory, "form": form})
