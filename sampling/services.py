"""Write paths of sampling/: one audited transaction per business action."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from guardian.shortcuts import assign_perm

from certification import audit
from certification.access import has_object_grant
from certification.models import CertificationBody, Membership
from certification.services import get_or_create_user, send_invitation_on_commit
from licences.models import HolderMembership, Licence, Product
from marks.models import Requirement
from sampling import statistics
from sampling.models import (
    ConformityOutcome,
    CustodyEvent,
    Laboratory,
    LaboratoryMembership,
    LabResult,
    Sample,
    SampleRequest,
    SampleUserObjectPermission,
    SelfMonitoringImport,
    SelfMonitoringResult,
    SelfMonitoringReview,
)

Rule = Requirement.ConformityRule
LAB_PERMS = ("sampling.view_sample", "sampling.test_sample")


# ---------------------------------------------------------------- laboratories

@transaction.atomic
def do_recognise_laboratory(*, body, name, test_methods=(), **fields):
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the laboratory's name.")})
    if Laboratory.objects.filter(body=body, name__iexact=name).exists():
        raise ValidationError({"name": _("A laboratory with this name is already recognised.")})
    laboratory = Laboratory(body=body, name=name, **fields)
    laboratory.full_clean()
    laboratory.save()
    if test_methods:
        laboratory.test_methods.set(test_methods)
    audit.record("laboratory.recognise", laboratory, after=audit.snapshot(laboratory))
    return laboratory


@transaction.atomic
def do_set_laboratory_scope(*, laboratory, accreditation, accreditation_valid_until=None, test_methods=()):
    laboratory = Laboratory.objects.select_for_update().get(pk=laboratory.pk)
    before = audit.snapshot(laboratory)
    laboratory.accreditation = accreditation
    laboratory.accreditation_valid_until = accreditation_valid_until
    laboratory.save()
    laboratory.test_methods.set(test_methods)
    audit.record("laboratory.scope", laboratory, before=before, after=audit.snapshot(laboratory))
    return laboratory


@transaction.atomic
def do_add_lab_user(*, laboratory, email, full_name="", password=None):
    """Give a person access to the lab portal of ``laboratory`` (creating their account if needed).

    A person belongs to one laboratory; a membership removed earlier in the same body is reactivated.
    """
    user = get_or_create_user(email, full_name, password)
    existing = LaboratoryMembership._base_manager.filter(user=user).first()
    if existing is not None and (existing.is_active or existing.body_id != laboratory.body_id):
        raise ValidationError({"email": _("This person already belongs to a laboratory.")})
    if (HolderMembership._base_manager.filter(user=user, is_active=True).exists()
            or Membership._base_manager.filter(user=user).exists()):
        raise ValidationError({"email": _("This person already uses the application as staff or licence-holder.")})
    if existing is not None:
        before = audit.snapshot(existing)
        existing.laboratory, existing.is_active = laboratory, True
        existing.save()
        membership = existing
    else:
        before = None
        membership = LaboratoryMembership.objects.create(body=laboratory.body, laboratory=laboratory, user=user)
    for sample in Sample.objects.filter(laboratory=laboratory):
        _grant_lab_user(user, sample)
    audit.record("laboratory.user_add", membership, before=before, after=audit.snapshot(membership))
    return membership


@transaction.atomic
def do_invite_lab_user(*, laboratory, email, full_name="", invited_by):
    """Staff add a lab user; the invitee chooses a password through the reset link sent by e-mail."""
    membership = do_add_lab_user(laboratory=laboratory, email=email, full_name=full_name)
    audit.record("laboratory.user_invite", membership, after={"email": membership.user.email})
    send_invitation_on_commit(
        membership.user, gettext_noop("Invitation to the %(laboratory)s laboratory portal"),
        gettext_noop("%(inviter)s gave you access to the laboratory portal of %(body)s for %(laboratory)s."),
        laboratory=laboratory.name, body=laboratory.body.name, inviter=invited_by.email)
    return membership


@transaction.atomic
def do_remove_lab_user(*, membership, reason=""):
    """The person loses the lab portal and every object grant on the laboratory's samples."""
    membership = LaboratoryMembership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if not membership.is_active:
        return membership
    before = audit.snapshot(membership)
    membership.is_active = False
    membership.save()
    SampleUserObjectPermission.objects.filter(
        user=membership.user, content_object__laboratory=membership.laboratory_id).delete()
    audit.record("laboratory.user_remove", membership, before=before, after=audit.snapshot(membership), reason=reason)
    return membership


def _grant_lab_user(user, sample):
    for perm in LAB_PERMS:
        assign_perm(perm, user, sample)


def lab_may_handle(user, sample):
    """Object grant given on dispatch (django-guardian, accept_global_perms=False); a lab's API key may
    handle the samples dispatched to its own laboratory."""
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return api_key.laboratory_id is not None and sample.laboratory_id == api_key.laboratory_id
    return has_object_grant(user, "sampling.test_sample", sample)


# ---------------------------------------------------------------- samples and custody

class CustodyOrderError(ValidationError):
    pass


def _next_code(body, today):
    prefix = f"{body.code.upper()}-S{today:%Y}-"
    last = (Sample.objects.filter(body=body, code__startswith=prefix).order_by("-code")
            .values_list("code", flat=True).first())
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:05d}"


def requirements_of(licence):
    return Requirement.objects.filter(version=licence.regulation_version_id)


@transaction.atomic
def do_take_sample(*, visit, product, by, seal_number, quantity, production_date=None, batch="",
                   requirements=(), inspector_notes=""):
    from inspections.models import Visit

    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.inspector_id != by.pk:
        raise ValidationError(_("Only the inspector assigned to the visit may take samples."))
    if visit.state in (Visit.State.SUBMITTED, Visit.State.REVIEWED, Visit.State.CLOSED):
        raise ValidationError(_("The visit is already submitted; no more samples can be taken."))
    if visit.state == Visit.State.CANCELLED:
        raise ValidationError(_("The visit was cancelled; no samples can be taken on it."))
    licence = visit.licence
    if product.holder_id != licence.holder_id:
        raise ValidationError({"product": _("This product is not the licence-holder's.")})
    allowed = set(requirements_of(licence).values_list("pk", flat=True))
    if any(r.pk not in allowed for r in requirements):
        raise ValidationError({"requirements": _("A property is not in the licence's regulation.")})
    now = timezone.now()
    # one sample number at a time per body: the codes are sequential and never reused
    CertificationBody.objects.select_for_update().get(pk=visit.body_id)
    sample = Sample(body=visit.body, code=_next_code(visit.body, now.date()), visit=visit, licence=licence,
                    product=product, seal_number=seal_number, quantity=quantity, production_date=production_date,
                    batch=batch, inspector_notes=inspector_notes, taken_at=now, taken_by=by)
    sample.full_clean(exclude=["requirements"])
    sample.save()
    sample.requirements.set(requirements)
    CustodyEvent.objects.create(body=sample.body, sample=sample, step=Sample.State.TAKEN, at=now, by=by)
    audit.record("sample.take", sample, after=audit.snapshot(sample))
    for request in SampleRequest.objects.select_for_update().filter(licence=licence, product=product,
                                                                     state=SampleRequest.State.OPEN):
        before = audit.snapshot(request)
        request.state, request.fulfilled_by, request.fulfilled_at = SampleRequest.State.FULFILLED, sample, now
        request.save()
        audit.record("sample_request.fulfil", request, before=before, after=audit.snapshot(request))
    return sample


def _advance(sample, step, by, note="", laboratory=None):
    sample = Sample.objects.select_for_update().get(pk=sample.pk)
    expected = sample.next_state()
    if step != expected:
        raise CustodyOrderError(
            _("Sample %(code)s is '%(state)s'; the next custody step is '%(expected)s', not '%(step)s'.")
            % {"code": sample.code, "state": sample.state, "expected": expected, "step": step})
    before = audit.snapshot(sample)
    sample.state = step
    sample.row_version += 1
    if laboratory is not None:
        sample.laboratory = laboratory
    sample.save()
    CustodyEvent.objects.create(body=sample.body, sample=sample, step=step, at=timezone.now(), by=by,
                                laboratory=sample.laboratory, note=note)
    audit.record(f"sample.{step}", sample, before=before, after=audit.snapshot(sample), reason=note)
    return sample


@transaction.atomic
def do_dispatch_sample(*, sample, laboratory, by, note=""):
    if laboratory.body_id != sample.body_id:
        raise ValidationError({"laboratory": _("Unknown laboratory.")})
    scope = set(laboratory.test_methods.values_list("pk", flat=True))
    if scope:
        outside = [r.property_code for r in sample.requirements.all()
                   if r.test_method_id and r.test_method_id not in scope]
        if outside:
            raise ValidationError({"laboratory": _("Outside the laboratory's scope: %(properties)s.")
                                   % {"properties": ", ".join(outside)}})
    sample = _advance(sample, Sample.State.DISPATCHED, by, note, laboratory=laboratory)
    for membership in LaboratoryMembership.objects.filter(laboratory=laboratory, is_active=True).select_related("user"):
        _grant_lab_user(membership.user, sample)
    return sample


def _require_lab(sample, by):
    if not lab_may_handle(by, sample):
        raise ValidationError(_("This sample was not sent to your laboratory."))


@transaction.atomic
def do_receive_sample(*, sample, by, note=""):
    _require_lab(sample, by)
    return _advance(sample, Sample.State.RECEIVED, by, note)


def validate_value(requirement, value, unit, uncertainty=None):
    """Unit must be the requirement's; the value inside a plausible range (see statistics.plausible_range)."""
    errors = {}
    if requirement.unit and (unit or "").strip() != requirement.unit:
        errors["unit"] = _("The unit must be '%(unit)s'.") % {"unit": requirement.unit}
    low, high = statistics.plausible_range(requirement.lower_limit, requirement.upper_limit)
    if value is not None and low is not None and not (low <= value <= high):
        errors["value"] = (_("Implausible value %(value)s: expected between %(low)s and %(high)s %(unit)s.")
                           % {"value": value, "low": low, "high": high, "unit": requirement.unit})
    if uncertainty is not None and uncertainty < 0:
        errors["uncertainty"] = _("The uncertainty cannot be negative.")
    if errors:
        raise ValidationError(errors)


def current_results(sample):
    return sample.results.filter(superseded_by__isnull=True).select_related("requirement")


@transaction.atomic
def do_record_lab_result(*, sample, requirement, value, unit, by, uncertainty=None, method=None,
                         tested_on=None, source=LabResult.Source.PORTAL):
    _require_lab(sample, by)
    sample = Sample.objects.select_for_update().get(pk=sample.pk)
    if sample.state not in (Sample.State.RECEIVED, Sample.State.TESTED):
        raise CustodyOrderError(_("Results can be entered once the sample is received (it is '%(state)s').")
                                % {"state": sample.state})
    if requirement.version_id != sample.licence.regulation_version_id:
        raise ValidationError({"requirement": _("Not a property of this sample's regulation.")})
    if current_results(sample).filter(requirement=requirement).exists():
        raise ValidationError({"requirement": _("A result exists for this property; correct it with a reason.")})
    validate_value(requirement, value, unit, uncertainty)
    result = LabResult.objects.create(
        body=sample.body, sample=sample, requirement=requirement, property_code=requirement.property_code,
        method=method or requirement.test_method, value=value, unit=unit, uncertainty=uncertainty,
        tested_on=tested_on or timezone.localdate(), entered_by=by, source=source)
    audit.record("lab_result.record", result, after=audit.snapshot(result))
    if sample.state == Sample.State.RECEIVED:
        _advance(sample, Sample.State.TESTED, by, "first result entered")
    return result


@transaction.atomic
def do_correct_lab_result(*, result, value, unit, reason, by, uncertainty=None):
    """A correction is a new row that supersedes the original; the original is never changed."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("A correction needs a reason.")})
    original = LabResult.objects.select_for_update().select_related("sample", "requirement").get(pk=result.pk)
    _require_lab(original.sample, by)
    if LabResult.objects.filter(supersedes=original).exists():
        raise ValidationError(_("This result was already corrected; correct the latest one."))
    validate_value(original.requirement, value, unit, uncertainty)
    corrected = LabResult.objects.create(
        body=original.body, sample=original.sample, requirement=original.requirement,
        property_code=original.property_code, method=original.method, value=value, unit=unit,
        uncertainty=uncertainty, tested_on=original.tested_on, supersedes=original, correction_reason=reason,
        entered_by=by, source=original.source)
    audit.record("lab_result.correct", corrected, before=audit.snapshot(original), after=audit.snapshot(corrected),
                 reason=reason)
    if original.sample.state == Sample.State.REPORTED:
        evaluate_lab_result(corrected)
    return corrected


@transaction.atomic
def do_report_sample(*, sample, by, note=""):
    _require_lab(sample, by)
    sample = Sample.objects.select_for_update().get(pk=sample.pk)
    if sample.state != Sample.State.TESTED:
        raise CustodyOrderError(_("Sample %(code)s is '%(state)s'; it can be reported once tested.")
                                % {"code": sample.code, "state": sample.state})
    tested = set(current_results(sample).values_list("requirement_id", flat=True))
    missing = [r.property_code for r in sample.requirements.all() if r.pk not in tested]
    if missing:
        raise ValidationError(_("Results missing for: %(properties)s.") % {"properties": ", ".join(missing)})
    sample = _advance(sample, Sample.State.REPORTED, by, note)
    outcomes = []
    for result in current_results(sample):
        outcomes += evaluate_lab_result(result)
    return sample, outcomes


# ---------------------------------------------------------------- self-monitoring

class ImportRejected(ValidationError):
    """The upload was refused as a whole; ``rows`` lists every bad row: (line, field, message)."""

    def __init__(self, rows):
        self.rows = rows
        count = len({line for line, _field, _message in rows})
        super().__init__(ngettext("%(n)d bad row; nothing was imported.", "%(n)d bad rows; nothing was imported.",
                                  count) % {"n": count})


def requirement_for(product, property_code, cache=None):
    """The requirement of the product's current licence regulation for this property."""
    key = (product.pk, property_code)
    if cache is not None and key in cache:
        return cache[key]
    licence = (Licence.objects.filter(products=product).exclude(state__in=[Licence.State.WITHDRAWN,
                                                                          Licence.State.RENOUNCED,
                                                                          Licence.State.EXPIRED])
               .order_by("-created_at", "-pk").first())
    requirement = None
    if licence is not None:
        requirement = Requirement.objects.filter(version=licence.regulation_version_id,
                                                 property_code=property_code).first()
    if cache is not None:
        cache[key] = requirement
    return requirement


def _limits(requirement, product):
    """Individual limits of a result: declared value ± tolerance, or the requirement's limits."""
    if requirement.conformity_rule == Rule.DECLARED_VALUE:
        target = declared_target(requirement, product)
        if target is not None and requirement.declared_tolerance is not None:
            return target - requirement.declared_tolerance, target + requirement.declared_tolerance
    return requirement.lower_limit, requirement.upper_limit


def declared_target(requirement, product):
    raw = (product.declared_characteristics or {}).get(requirement.property_code)
    if isinstance(raw, dict):
        raw = raw.get("value")
    if raw not in (None, ""):
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            return None
    if requirement.lower_limit is not None and requirement.upper_limit is not None:
        return (requirement.lower_limit + requirement.upper_limit) / 2
    return None


def _build_result(*, holder, product, requirement, tested_on, value, unit, batch, tonnage, by, source,
                  imported_from=None):
    lower, upper = _limits(requirement, product)
    # ids rather than instances: this runs once per imported row (see benchmarks/self_monitoring_import.py)
    return SelfMonitoringResult(
        body_id=holder.body_id, holder_id=holder.pk, product_id=product.pk, requirement_id=requirement.pk,
        property_code=requirement.property_code, tested_on=tested_on, batch=batch or "", tonnage=tonnage,
        value=value, unit=unit, within_limits=statistics.within_limits(value, lower, upper), source=source,
        imported_from=imported_from, entered_by_id=by.pk if getattr(by, "is_authenticated", False) else None)


@transaction.atomic
def do_record_self_monitoring(*, holder, product, property_code, tested_on, value, unit, by, batch="",
                              tonnage=None, source=SelfMonitoringResult.Source.PORTAL):
    if product.holder_id != holder.pk:
        raise ValidationError({"product": _("Unknown product.")})
    requirement = requirement_for(product, property_code)
    if requirement is None:
        raise ValidationError({"property_code": _("This property is not in the product's regulation.")})
    if tested_on > timezone.localdate():
        raise ValidationError({"tested_on": _("The test date is in the future.")})
    validate_value(requirement, value, unit)
    result = _build_result(holder=holder, product=product, requirement=requirement, tested_on=tested_on,
                           value=value, unit=unit, batch=batch, tonnage=tonnage, by=by, source=source)
    result.save()
    audit.record("self_monitoring.record", result, after=audit.snapshot(result))
    return result


CSV_COLUMNS = ["product", "property", "date", "batch", "tonnage", "value", "unit"]
IMPORT_BATCH = 5000


@dataclass
class ParsedImport:
    results: list
    errors: list


def parse_self_monitoring_csv(*, holder, text, by, today=None):
    """Validate every row; never stops at the first error. ``product`` is the product's quick code."""
    today = today or timezone.localdate()
    reader = csv.DictReader(io.StringIO(text))
    missing_columns = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing_columns:
        message = _("Missing columns: %(columns)s.") % {"columns": ", ".join(missing_columns)}
        return ParsedImport([], [(1, "header", message)])
    products = {p.quick_code: p for p in Product.objects.filter(holder=holder)}
    cache, results, errors = {}, [], []
    for line, row in enumerate(reader, start=2):
        row_errors = []
        product = products.get((row.get("product") or "").strip())
        if product is None:
            row_errors.append(("product", _("Unknown product code '%(code)s'.") % {"code": row.get("product")}))
        requirement = None
        code = (row.get("property") or "").strip()
        if product is not None:
            requirement = requirement_for(product, code, cache)
            if requirement is None:
                row_errors.append(("property", _("Property '%(code)s' is not in the product's regulation.")
                                   % {"code": code}))
        try:
            tested_on = date.fromisoformat((row.get("date") or "").strip())
            if tested_on > today:
                row_errors.append(("date", _("The test date is in the future.")))
        except ValueError:
            tested_on = None
            row_errors.append(("date", _("Not a date (YYYY-MM-DD): '%(value)s'.") % {"value": row.get("date")}))
        value = _decimal(row.get("value"), "value", row_errors, required=True)
        tonnage = _decimal(row.get("tonnage"), "tonnage", row_errors)
        if tonnage is not None and tonnage < 0:
            row_errors.append(("tonnage", _("Tonnage cannot be negative.")))
        unit = (row.get("unit") or "").strip()
        if requirement is not None and value is not None:
            try:
                validate_value(requirement, value, unit)
            except ValidationError as exc:
                row_errors += [(f, m) for f, messages in exc.message_dict.items() for m in messages]
        if row_errors:
            errors += [(line, f, m) for f, m in row_errors]
            continue
        results.append(_build_result(holder=holder, product=product, requirement=requirement, tested_on=tested_on,
                                     value=value, unit=unit, batch=(row.get("batch") or "").strip()[:60],
                                     tonnage=tonnage, by=by, source=SelfMonitoringResult.Source.CSV))
    if not results and not errors:
        errors.append((1, "file", _("The file has no data rows.")))
    return ParsedImport(results, errors)


def _decimal(raw, name, errors, required=False):
    raw = (raw or "").strip().replace(",", ".") if raw is not None else ""
    if raw == "":
        if required:
            errors.append((name, _("Required.")))
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors.append((name, _("Not a number: '%(value)s'.") % {"value": raw}))
        return None
    if not value.is_finite() or abs(value) >= Decimal("1e10"):
        errors.append((name, _("Not a usable number: '%(value)s'.") % {"value": raw}))
        return None
    return value


@transaction.atomic
def do_import_self_monitoring(*, holder, text, filename, by):
    """All-or-nothing: any bad row rejects the whole file (ImportRejected lists every bad row)."""
    parsed = parse_self_monitoring_csv(holder=holder, text=text, by=by)
    if parsed.errors:
        raise ImportRejected(parsed.errors)
    upload = SelfMonitoringImport.objects.create(body=holder.body, holder=holder, filename=filename[:200],
                                                 rows=len(parsed.results),
                                                 uploaded_by=by if getattr(by, "is_authenticated", False) else None)
    for result in parsed.results:
        result.imported_from = upload
    SelfMonitoringResult.objects.bulk_create(parsed.results, batch_size=IMPORT_BATCH)
    audit.record("self_monitoring.import", upload, after=audit.snapshot(upload))
    # the regulation's rule over each product and property the file touched (outcomes for staff)
    touched = {(r.product_id, r.requirement_id) for r in parsed.results}
    products = {p.pk: p for p in Product.objects.filter(pk__in={p for p, _requirement in touched})}
    requirements = {r.pk: r for r in Requirement.objects.filter(pk__in={r for _product, r in touched})}
    for product_id, requirement_id in sorted(touched):
        do_evaluate_self_monitoring(product=products[product_id], requirement=requirements[requirement_id])
    return upload


# ---------------------------------------------------------------- conformity evaluation

REINFORCE_AFTER_FAILURES = 2  # earlier failures in 12 months for the same product and property


def _propose(outcome, default):
    """Escalation: repeated failures → reinforced inspection; otherwise the kind's default."""
    if outcome.verdict != ConformityOutcome.Verdict.FAIL:
        return ConformityOutcome.Escalation.NONE
    since = timezone.now() - timedelta(days=365)
    failed = ConformityOutcome.objects.filter(
        product=outcome.product, requirement__property_code=outcome.requirement.property_code,
        verdict=ConformityOutcome.Verdict.FAIL, evaluated_at__gte=since).exclude(pk=outcome.pk)
    if outcome.sample_id:
        failed = failed.exclude(sample_id=outcome.sample_id)
    # occasions: each earlier sample counts once, each self-monitoring evaluation once
    earlier = (failed.filter(sample__isnull=False).values("sample").distinct().count()
               + failed.filter(sample__isnull=True).count())
    if earlier >= REINFORCE_AFTER_FAILURES:
        return ConformityOutcome.Escalation.REINFORCED_INSPECTION
    return default


def _store(*, product, requirement, kind, evaluation, default_escalation, sample=None, lab_result=None):
    outcome = ConformityOutcome(
        body=product.body, holder_id=product.holder_id, product=product, requirement=requirement, kind=kind,
        rule=requirement.conformity_rule, sample=sample, lab_result=lab_result, verdict=evaluation.verdict,
        level=evaluation.level, details=evaluation.details, summary=evaluation.summary)
    outcome.proposed_escalation = _propose(outcome, default_escalation)
    outcome.status = (ConformityOutcome.Status.PROPOSED if outcome.proposed_escalation
                      else ConformityOutcome.Status.NO_ACTION)
    outcome.save()
    audit.record("conformity.evaluate", outcome, after=audit.snapshot(outcome))
    if outcome.verdict == ConformityOutcome.Verdict.FAIL:
        _raise_finding(outcome)
    return outcome


def licence_of(outcome):
    """The licence the outcome concerns: the sample's, else the product's live licence."""
    if outcome.sample_id:
        return outcome.sample.licence
    return (Licence.objects.filter(products=outcome.product)
            .exclude(state__in=[Licence.State.WITHDRAWN, Licence.State.RENOUNCED, Licence.State.EXPIRED])
            .order_by("-created_at", "-pk").first())


def finding_severity(outcome):
    """The regulation's severity for the property; a disagreement between the lab and the holder's own
    results (comparison) is minor: it questions the self-monitoring, not yet the product."""
    if outcome.kind == ConformityOutcome.Kind.COMPARISON:
        return Requirement.Severity.MINOR
    return outcome.requirement.finding_severity or Requirement.Severity.MAJOR


def _raise_finding(outcome):
    """A failed outcome raises an inspections finding (through the inspections service, audited there)."""
    from inspections.services import do_raise_conformity_finding

    licence = licence_of(outcome)
    if licence is None:  # no live licence: nothing to attach the finding to; the outcome still goes to staff
        return None
    where = f" (sample {outcome.sample.code})" if outcome.sample_id else ""
    description = (f"{outcome.get_kind_display()} — {outcome.requirement.property_name}, "
                   f"{outcome.product.commercial_name}{where}: {outcome.summary}")
    outcome.finding = do_raise_conformity_finding(
        licence=licence, visit=outcome.sample.visit if outcome.sample_id else None,
        severity=finding_severity(outcome), description=description,
        reason=f"conformity outcome {outcome.pk}", follow_up_within_days=settings.SAMPLING_FOLLOW_UP_WITHIN_DAYS)
    outcome.save(update_fields=["finding"])
    return outcome.finding


def holder_values_around(product, requirement, day, window=statistics.COMPARISON_WINDOW_DAYS):
    return list(SelfMonitoringResult.objects.filter(
        product=product, property_code=requirement.property_code,
        tested_on__range=(day - timedelta(days=window), day + timedelta(days=window)),
    ).values_list("value", flat=True))


@transaction.atomic
def evaluate_lab_result(result):
    """An external result: against the limits, then against the holder's own results of the period."""
    sample, requirement, product = result.sample, result.requirement, result.sample.product
    lower, upper = _limits(requirement, product)
    individual = statistics.individual([result.value], lower, upper)
    individual.summary = f"External result {result.value} {result.unit}: " + (
        "within limits." if individual.verdict == "pass" else f"outside [{lower}, {upper}].")
    outcomes = [_store(product=product, requirement=requirement, kind=ConformityOutcome.Kind.LAB_INDIVIDUAL,
                       evaluation=individual, default_escalation=ConformityOutcome.Escalation.COUNTER_TEST,
                       sample=sample, lab_result=result)]
    day = sample.production_date or sample.taken_at.date()
    comparison = statistics.compare(result.value, holder_values_around(product, requirement, day),
                                    requirement.declared_tolerance, result.uncertainty)
    outcomes.append(_store(product=product, requirement=requirement, kind=ConformityOutcome.Kind.COMPARISON,
                           evaluation=comparison, default_escalation=ConformityOutcome.Escalation.EXTRA_SAMPLE,
                           sample=sample, lab_result=result))
    return outcomes


def evaluate_series(product, requirement, values):
    rule = requirement.conformity_rule
    if rule == Rule.EN_13108_21:
        return statistics.en13108_21(values, declared_target(requirement, product), requirement.ocl_limit_a,
                                     requirement.ocl_limit_b, start_level=requirement.ocl_start_level,
                                     escalate_at_c=requirement.ocl_escalate_at_c)
    if rule == Rule.EN_206:
        return statistics.en206(values, requirement.lower_limit)
    lower, upper = _limits(requirement, product)
    return statistics.individual(values, lower, upper)


@transaction.atomic
def do_evaluate_self_monitoring(*, product, requirement, until=None):
    """The regulation's rule over the holder's results (latest 32 / 35 as the rule needs)."""
    results = SelfMonitoringResult.objects.filter(product=product, property_code=requirement.property_code)
    if until is not None:
        results = results.filter(tested_on__lte=until)
    values = list(results.order_by("-tested_on", "-id").values_list("value", flat=True)[:100])[::-1]
    evaluation = evaluate_series(product, requirement, values)
    return _store(product=product, requirement=requirement, kind=ConformityOutcome.Kind.SELF_MONITORING,
                  evaluation=evaluation, default_escalation=ConformityOutcome.Escalation.WARNING)


@transaction.atomic
def do_request_sample(*, licence, product, kind, reason, by, requirements=(), origin_sample=None):
    """Ask for a counter-test or an extra sample of a licensed product; fulfilled by the next sample taken."""
    if kind not in SampleRequest.Kind.values:
        raise ValidationError({"kind": _("Counter-test or extra sample.")})
    if not licence.products.filter(pk=product.pk).exists():
        raise ValidationError({"product": _("The product is not under this licence.")})
    request = SampleRequest.objects.create(body=licence.body, licence=licence, product=product, kind=kind,
                                           origin_sample=origin_sample, reason=reason, requested_by=by)
    request.requirements.set(requirements)
    audit.record("sample_request.create", request, after=audit.snapshot(request), reason=reason)
    return request


def _run_escalation(outcome, by, reason):
    """The accepted escalation, carried out by the service of the app that owns it."""
    Escalation = ConformityOutcome.Escalation
    licence = licence_of(outcome)
    if licence is None:
        raise ValidationError(_("The product has no live licence: there is nothing to escalate on."))
    why = (reason or "").strip() or outcome.summary
    if outcome.proposed_escalation in (Escalation.COUNTER_TEST, Escalation.EXTRA_SAMPLE):
        outcome.sample_request = do_request_sample(
            licence=licence, product=outcome.product, kind=outcome.proposed_escalation, reason=why, by=by,
            requirements=[outcome.requirement], origin_sample=outcome.sample)
    elif outcome.proposed_escalation == Escalation.REINFORCED_INSPECTION:
        from inspections.models import Visit
        from inspections.services import do_create_visit

        outcome.planned_visit = do_create_visit(
            licence=licence, kind=Visit.Kind.UNANNOUNCED, announced=False, reason=why,
            planned_for=timezone.localdate() + timedelta(days=settings.SAMPLING_EXTRA_VISIT_WITHIN_DAYS))
    elif outcome.proposed_escalation == Escalation.WARNING:
        from licences.models import Sanction
        from licences.services import do_impose_sanction

        outcome.sanction = do_impose_sanction(licence=licence, kind=Sanction.Kind.WARNING,
                                              starts_on=timezone.localdate(), reason=why, by=by)


@transaction.atomic
def do_decide_outcome(*, outcome, accept, reason, by):
    """Staff accept (the escalation is carried out) or dismiss (with a reason) a proposal.

    Idempotent: the same decision again (a double-click) changes nothing and runs nothing twice.
    """
    outcome = ConformityOutcome.objects.select_for_update().get(pk=outcome.pk)
    wanted = ConformityOutcome.Status.ACCEPTED if accept else ConformityOutcome.Status.DISMISSED
    if outcome.status == wanted:
        return outcome
    if outcome.status != ConformityOutcome.Status.PROPOSED:
        raise ValidationError(_("This proposal was already decided."))
    if not accept and not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the proposal is dismissed.")})
    before = audit.snapshot(outcome)
    if accept:
        _run_escalation(outcome, by, reason)
    outcome.status = wanted
    outcome.decided_by, outcome.decided_at, outcome.decision_reason = by, timezone.now(), reason
    outcome.save()
    audit.record(f"conformity.{outcome.status}", outcome, before=before, after=audit.snapshot(outcome), reason=reason)
    return outcome


# --- monthly self-monitoring review --------------------------------------------------------------------------

REVIEWED_LICENCE_STATES = (Licence.State.ADMISSION, Licence.State.ACTIVE, Licence.State.SUSPENDED)


def previous_month(today):
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


@transaction.atomic
def do_review_self_monitoring(*, product, licence, period_start, period_end):
    """Check one product's self-monitoring of a period against the regulation's frequencies. Missing tests
    raise one minor finding for the licence (on its next open visit, or a follow-up) and the holder is told.
    Reviewing a period twice returns the first review."""
    from inspections.models import Finding
    from inspections.services import do_raise_conformity_finding
    from sampling import selectors

    product = Product.objects.select_for_update().get(pk=product.pk)
    existing = SelfMonitoringReview.objects.filter(product=product, period_start=period_start,
                                                   period_end=period_end).first()
    if existing is not None:
        return existing
    missing = [{"property_code": line.requirement.property_code, "property_name": line.requirement.property_name,
                "expected": line.expected, "recorded": line.recorded, "level": line.level}
               for line in selectors.frequency_check(product, period_start, period_end) if line.missing]
    finding = None
    if missing:
        gaps = "; ".join(f"{m['property_name']}: {m['recorded']} of {m['expected']} required tests recorded"
                         for m in missing)
        finding = do_raise_conformity_finding(
            licence=licence, severity=Finding.Severity.MINOR,
            description=f"Self-monitoring of {product} from {period_start} to {period_end} is incomplete — {gaps}.",
            reason=f"self-monitoring review {period_start:%Y-%m}",
            follow_up_within_days=settings.SAMPLING_FOLLOW_UP_WITHIN_DAYS)
    review = SelfMonitoringReview.objects.create(
        body=product.body, holder_id=product.holder_id, product=product, licence=licence, period_start=period_start,
        period_end=period_end, missing=missing, finding=finding)
    audit.record("self_monitoring.review", review, after=audit.snapshot(review))
    holder = licence.holder
    if missing and holder.email:
        from licences.services import mail_in_recipient_languages

        mail_in_recipient_languages([holder.email], holder, lambda: review_mail(review))
    return review


def review_mail(review):
    """(subject, message) of the missing-tests e-mail, in the active language."""
    values = {"month": f"{review.period_start:%Y-%m}", "product": str(review.product),
              "start": review.period_start, "end": review.period_end}
    lines = [_("- %(property)s: %(recorded)s of %(expected)s tests") % {
        "property": m["property_name"], "recorded": m["recorded"], "expected": m["expected"]} for m in review.missing]
    return (_("Self-monitoring %(month)s: missing tests for %(product)s") % values,
            _("The self-monitoring recorded for %(product)s from %(start)s to %(end)s does not reach the frequency "
              "your regulation requires:") % values + "\n" + "\n".join(lines) + "\n\n"
            + _("A finding was opened; record the missing tests or explain them in the portal.") + "\n")


def run_self_monitoring_reviews(today=None):
    """Review last month for every product of every live licence of the current body; each product in its
    own transaction. Returns how many reviews were made and how many found missing tests."""
    today = today or timezone.localdate()
    period_start, period_end = previous_month(today)
    made = incomplete = 0
    reviewed = set(SelfMonitoringReview.objects.filter(period_start=period_start, period_end=period_end)
                   .values_list("product_id", flat=True))
    licences = (Licence.objects.filter(state__in=REVIEWED_LICENCE_STATES)
                .select_related("holder").prefetch_related("products").order_by("pk"))
    for licence in licences:
        for product in licence.products.all():
            if product.pk in reviewed:
                continue
            review = do_review_self_monitoring(product=product, licence=licence, period_start=period_start,
                                               period_end=period_end)
            reviewed.add(product.pk)
            made += 1
            incomplete += bool(review.missing)
    return {"reviewed": made, "incomplete": incomplete}
