from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from certification import selectors as audit_selectors
from certification.access import has_capability, staff_required
from certification.models import CertificationBody
from certification.tenancy import public_reads
from marks import exchange, selectors, services
from marks.forms import (
    ChecklistFormSet,
    DraftForm,
    ImportForm,
    PublishForm,
    RegulationForm,
    RequirementFormSet,
    VersionHeaderForm,
)
from marks.models import PublishedVersionImmutable, ReferenceDocument, RegulationVersion


def public_home(request):
    """Public landing page: the marks and the bodies certifying on this installation."""
    with public_reads():
        context = {
            "marks": list(selectors.marks()),
            "bodies": list(CertificationBody.objects.filter(is_active=True)),
        }
    return render(request, "public/home.html", context)


@staff_required()
def mandate_list(request):
    return render(request, "marks/mandates.html", {"mandates": selectors.mandates_of_current_body()})


@staff_required()
def reference_data(request):
    """Read-only: marks, the category tree and the reference documents (global data)."""
    return render(request, "marks/reference.html", {
        "marks": selectors.marks(), "categories": selectors.category_tree(),
        "documents": ReferenceDocument.objects.order_by("kind", "code"),
        "mandates": selectors.mandates_of_current_body(),
    })


def _error_messages(exc):
    return exc.messages if isinstance(exc, ValidationError) else [str(exc)]


@staff_required()
def regulation_list(request):
    regulations = selectors.regulations_for_staff().prefetch_related("versions")
    return render(request, "marks/regulation_list.html", {
        "regulations": regulations, "can_edit": has_capability(request, "regulations.edit")})


@staff_required("regulations.edit")
def regulation_create(request):
    form = RegulationForm(request.POST or None, body=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            regulation = services.do_create_regulation(body=request.tenant, **form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.error_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("Regulation created with an empty draft version 1."))
            return redirect("staff:regulation-detail", pk=regulation.pk)
    return render(request, "marks/regulation_form.html", {"form": form})


@staff_required()
def regulation_detail(request, pk):
    regulation = get_object_or_404(selectors.regulations_for_staff(), pk=pk)
    versions = list(selectors.versions_for_staff().filter(regulation=regulation).order_by("-version"))
    current = selectors.applicable_version(regulation, timezone.localdate())
    return render(request, "marks/regulation_detail.html", {
        "regulation": regulation, "versions": versions, "current": current,
        "draft": next((v for v in versions if v.is_draft), None),
        "can_edit": has_capability(request, "regulations.edit"),
        "events": audit_selectors.audit_trail(regulation)[:30],
    })


@staff_required("regulations.edit")
def version_draft(request, pk):
    regulation = get_object_or_404(selectors.regulations_for_staff(), pk=pk)
    form = DraftForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.do_draft_version(regulation=regulation, **form.cleaned_data)
        except ValidationError as exc:
            for message in _error_messages(exc):
                messages.error(request, message)
            return redirect("staff:regulation-detail", pk=regulation.pk)
        messages.success(request, _("Draft version %(v)s created from the latest published version.")
                         % {"v": draft.version})
        return redirect("staff:version-edit", pk=draft.pk)
    return render(request, "marks/version_draft.html", {"regulation": regulation, "form": form,
                                                         "draft": selectors.draft_of(regulation)})


def _version(pk):
    try:
        return selectors.version_with_content(pk)
    except RegulationVersion.DoesNotExist:
        raise Http404 from None


@staff_required()
def version_detail(request, pk):
    version = _version(pk)
    others = selectors.versions_for_staff().filter(regulation=version.regulation).exclude(pk=version.pk)
    return render(request, "marks/version_detail.html", {
        "version": version, "regulation": version.regulation, "others": others,
        "can_edit": has_capability(request, "regulations.edit"),
        "events": audit_selectors.audit_trail(version)[:30],
    })


@staff_required("regulations.edit")
def version_edit(request, pk):
    version = _version(pk)
    if not version.is_draft:
        messages.error(request, _("Version %(v)s is %(s)s and cannot be changed; draft a new version instead.")
                       % {"v": version.version, "s": version.get_status_display().lower()})
        return redirect("staff:version-detail", pk=version.pk)
    data = request.POST if request.method == "POST" else None
    stale = None
    header = VersionHeaderForm(data, request.FILES if data is not None else None, instance=version, prefix="v")
    requirements = RequirementFormSet(data, instance=version, prefix="req")
    checklist = ChecklistFormSet(data, instance=version, prefix="chk")
    status = 200
    if request.method == "POST" and str(version.row_version) != request.POST.get("v-row_version"):
        # Someone saved the draft since this form was loaded: refuse before validating rows that may be gone.
        header = VersionHeaderForm(instance=version, prefix="v")
        requirements = RequirementFormSet(instance=version, prefix="req")
        checklist = ChecklistFormSet(instance=version, prefix="chk")
        stale = _("Someone else changed this draft since you opened it. The form now shows the current draft; "
                  "apply your changes again.")
        status = 409
    elif request.method == "POST":
        if header.is_valid() and requirements.is_valid() and checklist.is_valid():
            try:
                services.do_edit_draft(
                    version=version, expected_row_version=header.cleaned_data["row_version"],
                    header={name: header.cleaned_data[name] for name in header.changed_data
                            if name not in ("row_version", "reference_documents")},
                    reference_documents=header.cleaned_data["reference_documents"],
                    requirements=requirements.row_changes(), checklist=checklist.row_changes(),
                )
            except services.StaleEdit as exc:
                header.add_error(None, exc)
                status = 409
            except (ValidationError, PublishedVersionImmutable) as exc:
                header.add_error(None, exc)
                status = 400
            else:
                messages.success(request, _("Draft saved."))
                return redirect("staff:version-edit", pk=version.pk)
        else:
            status = 400
    return render(request, "marks/version_edit.html", {
        "version": version, "regulation": version.regulation, "header": header, "requirements": requirements,
        "checklist": checklist, "stale": stale,
    }, status=status)


@staff_required("regulations.edit")
def version_publish(request, pk):
    version = _version(pk)
    if not version.is_draft:
        messages.error(request, _("Only a draft can be published."))
        return redirect("staff:version-detail", pk=version.pk)
    form = PublishForm(request.POST or None, initial={"row_version": version.row_version})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.do_publish_version(version=version, user=request.user,
                                            expected_row_version=form.cleaned_data["row_version"],
                                            effective_date=form.cleaned_data["effective_date"],
                                            transition_end=form.cleaned_data["transition_end"])
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for name, errors in exc.error_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
                status = 409 if isinstance(exc, services.StaleEdit) else 400
            else:
                messages.success(request, _("Version %(v)s published.") % {"v": version.version})
                return redirect("staff:version-detail", pk=version.pk)
        else:
            status = 400
    previous = version.previous
    return render(request, "marks/version_publish.html", {
        "version": version, "regulation": version.regulation, "form": form, "previous": previous,
        "diff": selectors.compare_versions(previous, version) if previous else None,
    }, status=status)


@staff_required()
def version_compare(request, pk):
    new = _version(pk)
    siblings = selectors.versions_for_staff().filter(regulation=new.regulation)
    other_pk = request.GET.get("other")
    old = None
    if other_pk and other_pk.isdigit():
        old = siblings.filter(pk=int(other_pk)).first()
    if old is None:
        old = new.previous or siblings.filter(version__lt=new.version).order_by("-version").first()
    diff = selectors.compare_versions(old, new) if old is not None else None
    return render(request, "marks/version_compare.html", {
        "version": new, "regulation": new.regulation, "old": old, "diff": diff,
        "siblings": siblings.exclude(pk=new.pk).order_by("-version"),
    })


@staff_required()
def version_export(request, pk, fmt):
    version = _version(pk)
    name = f"{version.regulation.code}-v{version.version}-requirements".replace(" ", "_")
    if fmt == "csv":
        response = HttpResponse(exchange.export_csv(version), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(exchange.export_json(version), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@staff_required("regulations.edit")
def version_import(request, pk):
    version = _version(pk)
    if not version.is_draft:
        messages.error(request, _("Requirements can only be imported into a draft."))
        return redirect("staff:version-detail", pk=version.pk)
    form = ImportForm(request.POST or None, request.FILES or None, initial={"row_version": version.row_version})
    errors, status = [], 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > exchange.MAX_BYTES:
                    raise exchange.ImportRejected([exchange.RowError(0, "", _("The file is larger than 2 MB."))])
                rows = exchange.parse_requirements(upload.read(), form.cleaned_data["format"])
                services.do_replace_requirements(version=version, rows=rows,
                                                 expected_row_version=form.cleaned_data["row_version"],
                                                 reason=f"import of {upload.name}")
            except exchange.ImportRejected as exc:
                errors = exc.errors
                status = 400
            except ValidationError as exc:
                form.add_error(None, exc)
                status = 409 if isinstance(exc, services.StaleEdit) else 400
            else:
                messages.success(request, _("%(n)s requirements imported.") % {"n": len(rows)})
                return redirect("staff:version-detail", pk=version.pk)
        else:
            status = 400
    return render(request, "marks/version_import.html", {
        "version": version, "regulation": version.regulation, "form": form, "errors": errors,
        "columns": exchange.COLUMNS,
    }, status=status)


@staff_required()
def inspection_plans(request):
    """Planner's view: visits, unannounced visits and samples each live licence needs in a year."""
    today = timezone.localdate()
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else today.year
    plans = selectors.inspection_plans(year)
    totals = {"visits": sum(p.visits for p in plans), "unannounced": sum(p.unannounced for p in plans),
              "samples": sum(p.samples for p in plans)}
    return render(request, "marks/inspection_plans.html", {"plans": plans, "year": year, "totals": totals,
                                                            "years": range(today.year - 1, today.year + 3)})


@staff_required()
def version_document(request, pk):
    """The regulation's PDF, served through the scoped version (never a public media URL)."""
    version = _version(pk)
    if not version.document:
        raise Http404
    response = FileResponse(version.document.open("rb"), content_type="application/pdf")
    name = f"{version.regulation.code}-v{version.version}.pdf".replace(" ", "_")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response
