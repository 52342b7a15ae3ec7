"""Views of inspections/: inspector mobile form (+ its JSON sync endpoints), staff pages, holder portal."""

import datetime as dt
import json
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from certification.access import has_capability, portal_required, staff_required
from certification.models import Membership, Role, User
from inspections import forms, selectors, services
from inspections.models import CorrectiveAction, Finding, IdempotencyRecord, InspectorProfile, Photo, Visit

# --- inspector face ---------------------------------------------------------------------------


@staff_required("inspections.perform")
def inspector_home(request):
    today = timezone.localdate()
    visits = selectors.inspector_visits(request.user)
    active = visits.filter(state__in=[Visit.State.ASSIGNED, Visit.State.IN_PROGRESS])
    return render(request, "inspector/home.html", {
        "membership": request.membership,
        "today_visits": [v for v in active if v.planned_for <= today],
        "upcoming": [v for v in active if v.planned_for > today][:50],
        "done": visits.filter(state__in=[Visit.State.SUBMITTED, Visit.State.REVIEWED]).order_by("-planned_for")[:20],
    })


@never_cache
@staff_required("inspections.perform")
def inspector_visit(request, pk):
    visit = selectors.visit_for_inspector(request.user, pk)
    checklist = list(visit.licence.regulation_version.checklist.all())
    samples = selectors.visit_samples(visit)
    return render(request, "inspector/visit.html", {
        "visit": visit, "checklist": checklist, "samples": samples, "samples_supported": samples is not None,
        "state_json": selectors.visit_state_payload(visit), "results": Finding.Severity.choices,
        "result_choices": [("compliant", _("Compliant")), ("non_compliant", _("Non-compliant")),
                           ("not_applicable", _("N/A"))],
        "photo_max": services.PHOTO_MAX_BYTES,
        "to_verify": CorrectiveAction.objects.filter(
            finding__visit__licence=visit.licence, state=CorrectiveAction.State.ACCEPTED,
            verification=CorrectiveAction.Verification.NEXT_VISIT).exclude(finding__visit=visit).select_related(
            "finding"),
    })


@require_GET
@staff_required("inspections.perform")
def inspector_visit_state(request, pk):
    visit = selectors.visit_for_inspector(request.user, pk)
    return JsonResponse(selectors.visit_state_payload(visit))


def _json_body(request):
    if len(request.body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise ValidationError({"body": "Request too large."})
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError({"body": "Malformed JSON."}) from exc
    if not isinstance(data, dict):
        raise ValidationError({"body": "Expected a JSON object."})
    return data


def _errors(exc):
    if hasattr(exc, "message_dict"):
        return exc.message_dict
    return {"non_field_errors": exc.messages}


OPERATIONS = {
    "start": lambda visit, data, request, version: services.do_start(visit=visit, expected_version=version),
    "checklist": lambda visit, data, request, version: services.do_record_checklist(
        visit=visit, results=data.get("results") or [], general_remarks=data.get("general_remarks"),
        expected_version=version),
    "finding": lambda visit, data, request, version: services.do_add_finding(
        visit=visit, severity=data.get("severity"), description=data.get("description"),
        checklist_item_id=data.get("checklist_item"), actor=request.user, expected_version=version),
    "signature": lambda visit, data, request, version: services.do_record_signature(
        visit=visit, name=data.get("name"), png_data_url=data.get("png"), expected_version=version),
    "submit": lambda visit, data, request, version: services.do_submit(visit=visit, expected_version=version),
}


@require_POST
@staff_required("inspections.perform")
def inspector_visit_op(request, pk, action):
    """One submission of the offline form.

    ``Idempotency-Key`` (a UUID) is required: a replay of a key already processed returns the stored answer
    and changes nothing. ``If-Match`` carries the visit's ``row_version`` the inspector edited: a stale one is
    refused with 409 and the current state, so the device shows the conflict instead of overwriting.
    """
    visit = selectors.visit_for_inspector(request.user, pk)
    operation = OPERATIONS.get(action)
    if operation is None:
        raise Http404
    try:
        key = uuid.UUID(request.headers.get("Idempotency-Key", ""))
    except ValueError:
        return JsonResponse({"errors": {"Idempotency-Key": ["A UUID Idempotency-Key header is required."]}},
                            status=400)
    if_match = request.headers.get("If-Match", "").strip('"W/ ')
    if not if_match.isdigit():
        return JsonResponse({"errors": {"If-Match": ["The row_version you edited is required."]}}, status=428)
    try:
        with transaction.atomic():
            Visit.objects.select_for_update().get(pk=visit.pk)  # serialises submissions on this visit
            record = IdempotencyRecord.objects.filter(key=key).first()
            if record is not None:
                if record.user_id != request.user.pk or record.visit_id != visit.pk or record.action != action:
                    return JsonResponse({"errors": {"Idempotency-Key": ["Key already used for another request."]}},
                                        status=422)
                response = JsonResponse(record.response, status=record.status)
                response["Idempotent-Replay"] = "true"
                return response
            data = _json_body(request)
            result = operation(visit, data, request, int(if_match))
            fresh = Visit.objects.get(pk=visit.pk)
            payload = {"ok": True, "action": action, "visit": selectors.visit_state_payload(fresh)}
            if isinstance(result, Finding):
                payload["finding_id"] = result.pk
            IdempotencyRecord.objects.create(body=visit.body, key=key, user=request.user, visit=visit,
                                             action=action, status=200, response=payload)
    except services.StaleVersion as stale:
        current = Visit.objects.get(pk=stale.visit.pk)
        return JsonResponse({
            "error": "conflict",
            "message": _("This visit was changed elsewhere (version %(current)s; you edited version %(yours)s). "
                         "Your change was not saved.") % {"current": current.row_version, "yours": if_match},
            "your_version": int(if_match), "current": selectors.visit_state_payload(current),
        }, status=409)
    except IntegrityError:
        return JsonResponse({"errors": {"Idempotency-Key": ["Concurrent replay; retry."]}}, status=409)
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    return JsonResponse(payload)


@require_POST
@staff_required("inspections.perform")
def inspector_photo_start(request, pk):
    visit = selectors.visit_for_inspector(request.user, pk)
    try:
        data = _json_body(request)
        upload_id = _upload_id(data.get("upload_id"))
        photo = services.do_start_photo(visit=visit, filename=data.get("filename"), size=data.get("size"),
                                        caption=data.get("caption", ""), upload_id=upload_id)
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    return JsonResponse({"upload_id": str(photo.upload_id), "received": photo.received, "size": photo.size,
                         "complete": photo.complete}, status=201)


def _upload_id(value):
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ValidationError({"upload_id": "Not a UUID."}) from exc


@staff_required("inspections.perform")
def inspector_photo_chunk(request, pk, upload_id):
    """GET: how many bytes the server holds (to resume). POST: raw bytes at ``Upload-Offset``."""
    visit = selectors.visit_for_inspector(request.user, pk)
    photo = get_object_or_404(Photo, visit=visit, upload_id=upload_id)
    if request.method == "GET":
        return JsonResponse({"received": photo.received, "size": photo.size, "complete": photo.complete})
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return JsonResponse({"errors": {"Upload-Offset": ["Required."]}}, status=400)
    if len(request.body) > 2 * 1024 * 1024:
        return JsonResponse({"errors": {"chunk": ["Chunks are at most 2 MB."]}}, status=413)
    try:
        photo = services.do_append_photo_chunk(photo=photo, offset=offset, data=request.body)
    except services.StaleVersion as stale:
        return JsonResponse({"error": "offset", "received": stale.visit.received}, status=409)
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    return JsonResponse({"received": photo.received, "size": photo.size, "complete": photo.complete})


SW_PATH = Path(settings.BASE_DIR) / "static" / "js" / "inspector-sw.js"


@require_GET
def inspector_service_worker(request):
    """The service worker, served under /inspector/ so that it may control the inspector's pages."""
    response = HttpResponse(SW_PATH.read_text(), content_type="application/javascript")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/inspector/"
    return response


# --- staff face --------------------------------------------------------------------------------


@staff_required("registry.view")
def staff_dashboard(request):
    context = selectors.dashboard()
    context["plan_form"] = forms.PlanForm(initial={"year": timezone.localdate().year})
    context["can_plan"] = has_capability(request, "planning.manage")
    return render(request, "inspections/dashboard.html", context)


@require_POST
@staff_required("planning.manage")
def staff_plan(request):
    form = forms.PlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a year between 2000 and 2100."))
        return redirect("staff:inspections-dashboard")
    result = services.do_plan_year(body=request.tenant, year=form.cleaned_data["year"])
    services.do_flag_overdue_visits(body=request.tenant)
    messages.success(request, _("%(n)s visits planned (%(u)s without an eligible inspector), %(s)s already planned.")
                     % {"n": len(result.created), "u": result.unassigned, "s": result.skipped_existing})
    return redirect("staff:inspections-dashboard")


@staff_required("planning.manage")
def staff_visit_create(request):
    form = forms.VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        visit = services.do_create_visit(licence=data["licence"], kind=data["kind"], planned_for=data["planned_for"],
                                         announced=data["announced"], reason=data["reason"])
        return redirect("staff:visit-detail", pk=visit.pk)
    return render(request, "inspections/visit_form.html", {"form": form})


def _staff_visit(pk):
    return get_object_or_404(Visit.objects.select_related("licence__holder", "licence__mark", "site", "inspector",
                                                          "licence__regulation_version__regulation"), pk=pk)


def _inspector_choices():
    users = User.objects.filter(memberships__in=Membership.objects.filter(role=Role.INSPECTOR, is_active=True))
    return [(u.pk, str(u)) for u in users]


@staff_required("registry.view")
def staff_visit_list(request):
    """Every visit of the body, filtered; cancelled ones only when asked for (checkbox or state filter)."""
    form = forms.VisitFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    visits = selectors.staff_visits(state=filters.get("state", ""), include_cancelled=filters.get("cancelled", False),
                                    planned_from=filters.get("planned_from"),
                                    planned_until=filters.get("planned_until"))
    page = Paginator(visits, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "inspections/visit_list.html", {"form": form, "page": page,
                                                          "querystring": query.urlencode()})


def _visit_page(request, visit, *, conflict=None, **forms_):
    """The staff visit page; a form that failed comes back bound (the user's input kept) in ``forms_``."""
    samples = selectors.visit_samples(visit)
    can_plan = has_capability(request, "planning.manage")
    changeable = visit.state in selectors.CHANGEABLE_STATES
    initial = {"row_version": visit.row_version}
    context = {
        "visit": visit, "results": visit.checklist_results.select_related("item"),
        "findings": visit.findings.prefetch_related("actions"), "photos": visit.photos.filter(complete=True),
        "comments": visit.report_comments.select_related("author"), "samples": samples,
        "samples_supported": samples is not None,
        "assign_form": forms.AssignForm(inspectors=_inspector_choices(), initial=initial),
        "reschedule_form": forms.RescheduleForm(initial={**initial, "planned_for": visit.planned_for},
                                                prefix="reschedule"),
        "cancel_form": forms.CancelForm(initial=initial, prefix="cancel"),
        "can_plan": can_plan, "can_decide": has_capability(request, "decisions.take"),
        "decide_form": forms.DecideActionForm(), "history": selectors.visit_history(visit), "conflict": conflict,
    }
    context.update(forms_)
    # A bound form (refused input) stays on the page even if the visit can no longer change meanwhile.
    context["show_reschedule"] = can_plan and (changeable or context["reschedule_form"].is_bound)
    context["show_cancel"] = can_plan and (changeable or context["cancel_form"].is_bound)
    context["cancellation"] = next((e for e in context["history"] if e.action == "visit.cancel"), None)
    return render(request, "inspections/visit_detail.html", context)


@staff_required("registry.view")
def staff_visit(request, pk):
    return _visit_page(request, _staff_visit(pk))


@require_POST
@staff_required("planning.manage")
def staff_visit_assign(request, pk):
    visit = _staff_visit(pk)
    form = forms.AssignForm(request.POST, inspectors=_inspector_choices())
    if form.is_valid():
        try:
            services.do_assign(visit=visit, inspector=User.objects.get(pk=form.cleaned_data["inspector"]),
                               expected_version=form.cleaned_data["row_version"], reason=form.cleaned_data["reason"])
            messages.success(request, _("Visit assigned."))
        except services.StaleVersion:
            messages.error(request, _("Someone changed this visit meanwhile; reload and try again."))
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
    else:
        messages.error(request, _("Choose an inspector."))
    return redirect("staff:visit-detail", pk=visit.pk)


def _add_service_errors(form, exc):
    """A service's ValidationError onto the form: on the field it names, else above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _stale(request, pk, form, form_name, yours):
    """Nothing was saved: show the visit as it is now, the user's input kept in the form (carrying the current
    version, so that sending it again is a deliberate choice), and what the user asked for next to it."""
    current = _staff_visit(pk)
    edited = form.cleaned_data["row_version"]
    data = request.POST.copy()
    data[form.add_prefix("row_version")] = str(current.row_version)
    rebound = type(form)(data, prefix=form.prefix)
    rebound.is_valid()
    rebound.add_error(None, _("Your form was loaded at version %(yours)s; the visit is now at version %(current)s. "
                              "Nothing was saved.") % {"current": current.row_version, "yours": edited})
    conflict = {"your_version": edited, "yours": yours}
    return _visit_page(request, current, conflict=conflict, **{form_name: rebound})


@require_POST
@staff_required("planning.manage")
def staff_visit_reschedule(request, pk):
    visit = _staff_visit(pk)
    form = forms.RescheduleForm(request.POST, prefix="reschedule")
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = services.do_reschedule(visit=visit, planned_for=data["planned_for"], reason=data["reason"],
                                           expected_version=data["row_version"])
        except services.StaleVersion:
            return _stale(request, pk, form, "reschedule_form", [
                (_("New date"), data["planned_for"].isoformat()), (_("Reason"), data["reason"] or "—")])
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            if moved.row_version == data["row_version"]:  # same day: the service changed nothing
                form.add_error("planned_for", _("The visit is already planned on that day."))
            else:
                messages.success(request, _("Visit moved to %(day)s.") % {"day": moved.planned_for.isoformat()})
                return redirect("staff:visit-detail", pk=visit.pk)
    return _visit_page(request, _staff_visit(pk), reschedule_form=form)


@require_POST
@staff_required("planning.manage")
def staff_visit_cancel(request, pk):
    visit = _staff_visit(pk)
    form = forms.CancelForm(request.POST, prefix="cancel")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.do_cancel(visit=visit, reason=data["reason"], expected_version=data["row_version"])
        except services.StaleVersion:
            return _stale(request, pk, form, "cancel_form", [(_("Reason for cancelling"), data["reason"])])
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Visit cancelled."))
            return redirect("staff:visit-detail", pk=visit.pk)
    return _visit_page(request, _staff_visit(pk), cancel_form=form)


def _transition(request, pk, service, done_message, **extra):
    visit = _staff_visit(pk)
    try:
        service(visit=visit, expected_version=request.POST.get("row_version") or None, **extra)
        messages.success(request, done_message)
    except services.StaleVersion:
        messages.error(request, _("Someone changed this visit meanwhile; reload and try again."))
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    return redirect("staff:visit-detail", pk=visit.pk)


@require_POST
@staff_required("decisions.take")
def staff_visit_review(request, pk):
    return _transition(request, pk, services.do_review, _("Reviewed; the report was issued to the holder."),
                       reviewer=request.user, note=request.POST.get("note", ""))


@require_POST
@staff_required("decisions.take")
def staff_visit_close(request, pk):
    return _transition(request, pk, services.do_close, _("Visit closed."))


def _pdf_response(visit):
    if not visit.report_pdf:
        raise Http404
    return FileResponse(visit.report_pdf.open("rb"), content_type="application/pdf",
                        filename=f"{visit.report_number}.pdf")


@staff_required("registry.view")
def staff_visit_report(request, pk):
    return _pdf_response(_staff_visit(pk))


@staff_required("registry.view")
def staff_inspectors(request):
    if request.method == "POST":
        if not has_capability(request, "planning.manage"):
            raise Http404
        form = forms.ProfileForm(request.POST, inspectors=_inspector_choices())
        if form.is_valid():
            services.do_create_inspector_profile(body=request.tenant, user=User.objects.get(pk=form.cleaned_data["user"]),
                                                 capacity_per_year=form.cleaned_data["capacity_per_year"])
            return redirect("staff:inspectors")
    else:
        form = forms.ProfileForm(inspectors=_inspector_choices())
    profiles = InspectorProfile.objects.select_related("user").prefetch_related("qualifications__category",
                                                                                  "conflicts__holder")
    return render(request, "inspections/inspectors.html", {"profiles": profiles, "form": form,
                                                           "can_plan": has_capability(request, "planning.manage")})


@staff_required("registry.view")
def staff_inspector(request, pk):
    profile = get_object_or_404(InspectorProfile.objects.select_related("user"), pk=pk)
    qualification_form, conflict_form = forms.QualificationForm(), forms.ConflictForm()
    if request.method == "POST":
        if not has_capability(request, "planning.manage"):
            raise Http404
        try:
            if request.POST.get("kind") == "conflict":
                conflict_form = forms.ConflictForm(request.POST)
                if conflict_form.is_valid():
                    services.do_declare_conflict(profile=profile, **conflict_form.cleaned_data)
                    return redirect("staff:inspector-detail", pk=profile.pk)
            else:
                qualification_form = forms.QualificationForm(request.POST)
                if qualification_form.is_valid():
                    services.do_add_qualification(profile=profile, **qualification_form.cleaned_data)
                    return redirect("staff:inspector-detail", pk=profile.pk)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
    return render(request, "inspections/inspector_detail.html", {
        "profile": profile, "qualifications": profile.qualifications.select_related("category"),
        "conflicts": profile.conflicts.select_related("holder"), "qualification_form": qualification_form,
        "conflict_form": conflict_form, "can_plan": has_capability(request, "planning.manage")})


@require_POST
@staff_required("decisions.take")
def staff_action_decide(request, pk):
    action = get_object_or_404(CorrectiveAction.objects.select_related("finding__visit"), pk=pk)
    form = forms.DecideActionForm(request.POST)
    if form.is_valid():
        try:
            data = form.cleaned_data
            if data["decision"] == "verify":
                later = Visit.objects.filter(pk=data.get("visit") or 0).first()
                services.do_verify_action(action=action, verifier=request.user, visit=later, note=data["note"])
            else:
                services.do_decide_action(action=action, decider=request.user, accept=data["decision"] == "accept",
                                          note=data["note"], verification=data["verification"])
            messages.success(request, _("Corrective action updated."))
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
    else:
        messages.error(request, _("Invalid decision."))
    return redirect("staff:visit-detail", pk=action.finding.visit_id)


# --- portal face ---------------------------------------------------------------------------------


def _portal_visit(pk):
    visit = get_object_or_404(Visit.objects.select_related("licence__mark", "site", "inspector"), pk=pk,
                              report_issued_at__isnull=False)
    return visit


@portal_required
def portal_reports(request):
    visits = Visit.objects.filter(report_issued_at__isnull=False).select_related("licence", "site").order_by(
        "-report_issued_at")
    return render(request, "inspections/portal_reports.html", {"visits": visits})


@portal_required
def portal_report(request, pk):
    visit = _portal_visit(pk)
    form = forms.CommentForm()
    if request.method == "POST":
        form = forms.CommentForm(request.POST)
        if form.is_valid():
            try:
                services.do_comment_report(visit=visit, author=request.user, text=form.cleaned_data["text"])
                messages.success(request, _("Your comment was recorded."))
                return redirect("portal:inspection-report", pk=visit.pk)
            except ValidationError as exc:
                form.add_error("text", "; ".join(exc.messages))
    return render(request, "inspections/portal_report.html", {
        "visit": visit, "form": form, "comments": visit.report_comments.select_related("author"),
        "findings": visit.findings.prefetch_related("actions"),
        "window_open": visit.comment_deadline is not None and timezone.localdate() <= visit.comment_deadline,
        "action_form": forms.ActionForm(initial={"planned_by": timezone.localdate() + dt.timedelta(days=30)}),
    })


@portal_required
def portal_report_pdf(request, pk):
    return _pdf_response(_portal_visit(pk))


@require_POST
@portal_required
def portal_finding_action(request, pk):
    finding = get_object_or_404(Finding.objects.select_related("visit"), pk=pk,
                                visit__report_issued_at__isnull=False)
    form = forms.ActionForm(request.POST)
    if form.is_valid():
        try:
            services.do_propose_action(finding=finding, author=request.user, **form.cleaned_data)
            messages.success(request, _("Corrective action proposed."))
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
    else:
        messages.error(request, _("Describe the action and give a date."))
    return redirect("portal:inspection-report", pk=finding.visit_id)
