"""Write paths of licences/: one audited transaction per business action.

Business rules live here: the application workflow, decisions (with the impartiality rule), sanctions,
appeals, certificate numbering and issue (rendering itself runs in a Celery task that calls
``do_render_certificate``).
"""

import datetime as dt
import secrets

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from certification import audit, events
from certification.access import CAPABILITIES
from certification.models import Membership
from certification.services import get_or_create_user, send_invitation_on_commit
from certification.validators import normalize_company_number
from licences.models import (
    Appeal,
    Application,
    Certificate,
    Decision,
    HolderMembership,
    Licence,
    LicenceExpiryNotice,
    LicenceHolder,
    LicenceStateChange,
    NumberSequence,
    Product,
    Sanction,
    Site,
)

APPEAL_DAYS = 30
SIGNED_COPY_MAX_BYTES = 5 * 1024 * 1024


class Refused(ValidationError):
    """A business rule refuses the action; the message is shown to the user."""


class ImpartialityViolation(Refused):
    """The decider inspected the file (ISO/IEC 17065: decisions by someone who did not inspect)."""


# --- holders, sites, products, portal users -------------------------------------------------------------

@transaction.atomic
def do_register_holder(*, body, name, company_number, **fields):
    holder = LicenceHolder(body=body, name=name, company_number=normalize_company_number(company_number), **fields)
    holder.full_clean()
    holder.save()
    audit.record("holder.register", holder, after=audit.snapshot(holder))
    return holder


@transaction.atomic
def do_update_holder(*, holder, changes, reason="", expected_version=None):
    """Change a holder's registry data; ``expected_version`` (the row_version the editor read) refuses a stale
    edit with StaleEdit instead of overwriting someone else's change. Every update bumps row_version."""
    holder = LicenceHolder.objects.select_for_update().get(pk=holder.pk)
    if expected_version is not None and int(expected_version) != holder.row_version:
        raise StaleEdit(_("This licence-holder was changed by someone else since you opened it."))
    before = audit.snapshot(holder)
    changes = {field: value for field, value in changes.items() if field != "row_version"}
    if "company_number" in changes:
        changes["company_number"] = normalize_company_number(changes["company_number"])
    for field, value in changes.items():
        setattr(holder, field, value)
    holder.row_version += 1
    holder.full_clean()
    holder.save()
    audit.record("holder.update", holder, before=before, after=audit.snapshot(holder), reason=reason)
    return holder


@transaction.atomic
def do_add_holder_user(*, holder, email, role=HolderMembership.Role.CONTRIBUTOR, full_name="", password=None):
    user = get_or_create_user(email, full_name, password)
    if HolderMembership._base_manager.filter(user=user).exists():
        raise Refused(_("This person already belongs to a licence-holder."))
    membership = HolderMembership.objects.create(body=holder.body, holder=holder, user=user, role=role)
    audit.record("holder.user_add", membership, after=audit.snapshot(membership))
    return membership


@transaction.atomic
def do_invite_holder_user(*, holder, email, role, invited_by):
    """A holder manager (or staff) invites a colleague; the invitee sets a password through the reset link."""
    manager = HolderMembership.objects.filter(holder=holder, user=invited_by, is_active=True).first()
    if manager is not None and manager.role != HolderMembership.Role.MANAGER:
        raise Refused(_("Only a manager of the licence-holder may invite colleagues."))
    if manager is None and not _has_capability(invited_by, holder.body, "registry.edit"):
        raise Refused(_("You may not invite users for this licence-holder."))
    membership = do_add_holder_user(holder=holder, email=email, role=role)
    audit.record("holder.user_invite", membership, after={"email": membership.user.email, "role": role})
    send_invitation_on_commit(membership.user, gettext_noop("Invitation to the %(holder)s portal"),
                              gettext_noop("%(inviter)s invited you to the certification portal of %(holder)s."),
                              holder=holder.name, inviter=invited_by.email)
    return membership


@transaction.atomic
def do_add_site(*, holder, name, address=""):
    site = Site(body=holder.body, holder=holder, name=name, address=address)
    site.full_clean()
    site.save()
    audit.record("site.add", site, after=audit.snapshot(site))
    return site


def _new_quick_code():
    while True:
        code = f"{secrets.randbelow(10**8):08d}"
        if not Product._base_manager.filter(quick_code=code).exists():
            return code


@transaction.atomic
def do_add_product(*, holder, site, category, commercial_name, technical_description="",
                   declared_characteristics=None, quick_code=None):
    if site.holder_id != holder.pk:
        raise Refused(_("The site belongs to another licence-holder."))
    product = Product(body=holder.body, holder=holder, site=site, category=category, commercial_name=commercial_name,
                      technical_description=technical_description,
                      declared_characteristics=declared_characteristics or {},
                      quick_code=quick_code or _new_quick_code())
    product.full_clean()
    product.save()
    audit.record("product.add", product, after=audit.snapshot(product))
    return product


class ProductEditConflict(Refused):
    """The product was edited by someone else since the form was shown; ``current`` is the stored version."""

    def __init__(self, current, your_version):
        super().__init__(_("This product was changed by someone else since you opened it (version %(current)s; you "
                           "edited version %(yours)s). Your change was not saved: compare both values below and save "
                           "again to apply yours over the current version.")
                         % {"current": current.row_version, "yours": your_version})
        self.current = current
        self.your_version = your_version


@transaction.atomic
def do_update_product(*, product, changes, expected_version=None):
    """Edit a product. ``expected_version`` is the ``row_version`` the editor saw: a stale one is refused with
    ``ProductEditConflict`` (nothing is overwritten); every successful edit bumps the version."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    if expected_version is not None and int(expected_version) != product.row_version:
        raise ProductEditConflict(product, int(expected_version))
    before = audit.snapshot(product)
    changes = dict(changes)
    changes.pop("row_version", None)
    for field, value in changes.items():
        setattr(product, field, value)
    if product.site.holder_id != product.holder_id:
        raise Refused(_("The site belongs to another licence-holder."))
    product.full_clean()
    product.row_version += 1
    product.save()
    audit.record("product.update", product, before=before, after=audit.snapshot(product))
    return product


# --- numbering ---------------------------------------------------------------------------------------------

def next_number(body, key):
    """The next value of a per-body counter; the row lock serialises concurrent issuers; never reused."""
    NumberSequence.objects.get_or_create(body=body, key=key)
    sequence = NumberSequence.objects.select_for_update().get(body=body, key=key)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return sequence.last_value


def _licence_number(body, mark):
    return f"{body.code.upper()}-{mark.code.upper()}-L{next_number(body, f'licence:{mark.code}'):05d}"


def _certificate_number(body, mark):
    while True:
        number = f"{body.code.upper()}-{mark.code.upper()}-{next_number(body, f'certificate:{mark.code}'):06d}"
        # Belt and braces: the counter never goes back, but never hand out a number that exists anywhere.
        if not Certificate._base_manager.filter(body=body, number=number).exists():
            return number


# --- application workflow ----------------------------------------------------------------------------------

class StaleEdit(Refused):
    """The row changed since the user loaded it (row_version mismatch): nothing is silently overwritten."""


def _lock_application(application, allowed_states, expected_version=None):
    application = Application.objects.select_for_update().get(pk=application.pk)
    if expected_version is not None and int(expected_version) != application.row_version:
        raise StaleEdit(_("The application was changed by someone else since you opened it; reload and try again."))
    if application.state not in allowed_states:
        raise Refused(_("Not possible while the application is %(state)s.")
                      % {"state": application.get_state_display().lower()})
    return application


def _save_application(application, action, before, reason=""):
    application.row_version += 1
    application.save()
    audit.record(action, application, before=before, after=audit.snapshot(application), reason=reason)
    return application


@transaction.atomic
def do_create_application(*, holder, site, mark, regulation_version, products, remarks="", by=None):
    if site.holder_id != holder.pk:
        raise Refused(_("The site belongs to another licence-holder."))
    products = list(products)
    if not products:
        raise Refused(_("Choose at least one product."))
    if any(p.holder_id != holder.pk or p.site_id != site.pk for p in products):
        raise Refused(_("Every product must be one of this holder's products made at this site."))
    if regulation_version.regulation.mark_id != mark.pk:
        raise Refused(_("The regulation does not belong to this mark."))
    if regulation_version.status != "published":
        raise Refused(_("Applications are made under a published regulation version."))
    application = Application(body=holder.body, holder=holder, site=site, mark=mark,
                              regulation_version=regulation_version, applicant_remarks=remarks, created_by=by)
    application.save()
    application.products.set(products)
    audit.record("application.create", application, after=audit.snapshot(application))
    return application


@transaction.atomic
def do_submit_application(*, application, expected_version=None):
    application = _lock_application(application, {Application.State.DRAFT}, expected_version)
    before = audit.snapshot(application)
    application.state = Application.State.SUBMITTED
    application.submitted_at = timezone.now()
    return _save_application(application, "application.submit", before)


def information_pack_context(application):
    version = application.regulation_version
    return {
        "application": application,
        "holder": application.holder,
        "site": application.site,
        "products": list(application.products.select_related("category")),
        "mark": application.mark,
        "body": application.body,
        "version": version,
        "regulation": version.regulation,
        "requirements": list(version.requirements.select_related("test_method")),
        "reference_documents": list(version.reference_documents.all()),
        "copies": ["Copy to keep", "Copy to sign and return"],
        "today": timezone.localdate(),
    }


@transaction.atomic
def do_send_information_pack(*, application, expected_version=None):
    """Generate the information pack (letter, regulation, reference documents, form in duplicate)."""
    from certification.documents import render_pdf, sha256

    application = _lock_application(application, {Application.State.SUBMITTED}, expected_version)
    before = audit.snapshot(application)
    data = render_pdf("licences/pdf/information_pack.html", information_pack_context(application),
                      title=f"Information pack {application.reference}")
    if application.pack:
        application.pack.delete(save=False)
    application.pack.save(f"{application.body.code}/{application.reference}.pdf", ContentFile(data), save=False)
    application.pack_sha256 = sha256(data)
    application.pack_sent_at = timezone.now()
    application.state = Application.State.PACK_SENT
    return _save_application(application, "application.pack_sent", before)


def check_signed_copy(upload):
    """A signed copy must be a PDF of reasonable size; returns the bytes."""
    if upload.size > SIGNED_COPY_MAX_BYTES:
        raise Refused(_("The signed copy is larger than 5 MB."))
    if not upload.name.lower().endswith(".pdf"):
        raise Refused(_("The signed copy must be a PDF file."))
    head = upload.read(5)
    upload.seek(0)
    if head != b"%PDF-":
        raise Refused(_("The signed copy is not a PDF document."))
    return upload


@transaction.atomic
def do_confirm_application(*, application, by, signed_copy=None, electronic=False, expected_version=None):
    """The applicant returns the signed form (uploaded PDF) or confirms electronically."""
    if not signed_copy and not electronic:
        raise Refused(_("Upload the signed copy or confirm electronically."))
    application = _lock_application(application, {Application.State.PACK_SENT}, expected_version)
    before = audit.snapshot(application)
    if signed_copy:
        check_signed_copy(signed_copy)
        application.signed_copy.save(f"{application.body.code}/{application.reference}-signed.pdf", signed_copy,
                                     save=False)
        application.confirmation = Application.Confirmation.SIGNED_COPY
    else:
        application.confirmation = Application.Confirmation.ELECTRONIC
    application.confirmed_at = timezone.now()
    application.confirmed_by = by
    return _save_application(application, "application.confirm", before)


@transaction.atomic
def do_start_review(*, application, expected_version=None):
    application = _lock_application(application, {Application.State.PACK_SENT}, expected_version)
    if not application.confirmation:
        raise Refused(_("The applicant has not returned the signed form nor confirmed electronically yet."))
    before = audit.snapshot(application)
    application.state = Application.State.UNDER_REVIEW
    return _save_application(application, "application.review", before)


@transaction.atomic
def do_admit(*, application, by, reason="", effective_from=None, expected_version=None):
    """Open the admission period: creates the licence (state admission, admission inspection regime)."""
    application = _lock_application(application, {Application.State.UNDER_REVIEW}, expected_version)
    before = audit.snapshot(application)
    licence = Licence.objects.create(
        body=application.body, holder=application.holder, site=application.site, mark=application.mark,
        regulation_version=application.regulation_version, number=_licence_number(application.body, application.mark),
        state=Licence.State.ADMISSION, inspection_regime=Licence.Regime.ADMISSION,
    )
    licence.products.set(application.products.all())
    _record_state(licence, Licence.State.ADMISSION, effective_from or timezone.now(), by,
                  reason or "Admission period opened")
    audit.record("licence.create", licence, after=audit.snapshot(licence), reason=reason)
    application.licence = licence
    application.state = Application.State.ADMISSION
    return _save_application(application, "application.admit", before, reason)


@transaction.atomic
def do_withdraw_application(*, application, by, reason="", expected_version=None):
    application = _lock_application(application, Application.OPEN_STATES, expected_version)
    before = audit.snapshot(application)
    if application.licence_id and application.licence.state == Licence.State.ADMISSION:
        licence = Licence.objects.select_for_update().get(pk=application.licence_id)
        _record_state(licence, Licence.State.WITHDRAWN, timezone.now(), by, reason or "Application withdrawn")
    application.state = Application.State.WITHDRAWN
    application.closed_at = timezone.now()
    return _save_application(application, "application.withdraw", before, reason)


# --- decisions -------------------------------------------------------------------------------------------

def _has_capability(user, body, capability):
    membership = Membership.objects.filter(body=body, user=user, is_active=True).first()
    return membership is not None and capability in CAPABILITIES.get(membership.role, set())


def inspected_by(user, licence):
    """Did ``user`` inspect this licence or any licence of the same holder?"""
    from inspections.models import Visit

    return Visit.objects.filter(licence__holder_id=licence.holder_id, inspector=user).exists()


def check_decider(user, licence):
    if user is None or not _has_capability(user, licence.body, "decisions.take"):
        raise Refused(_("Only a certification officer may take certification decisions."))
    if inspected_by(user, licence):
        raise ImpartialityViolation(
            _("You inspected this licence-holder: the decision must be taken by someone who did not inspect."))


def _record_state(licence, state, effective_from, by, reason):
    LicenceStateChange.objects.create(body=licence.body, licence=licence, state=state, effective_from=effective_from,
                                      recorded_by=by if getattr(by, "is_authenticated", False) else None,
                                      reason=reason)
    licence.state = licence.state_on(timezone.now()) or state
    licence.save(update_fields=["state"])


def current_certificate(licence):
    return Certificate.objects.filter(licence=licence, superseded_at__isnull=True).order_by("-version").first()


def _publish_certificate_status(licence, status, effective_from=None):
    certificate = current_certificate(licence)
    if certificate is None:
        return
    events.publish("certificate.status_changed", body=licence.body, subject=certificate.full_number,
                   payload={"status": status, "licence": licence.number,
                            "effective_from": (effective_from or timezone.now()).isoformat()})


TRANSITIONS = {
    Decision.Kind.GRANT: ({Licence.State.ADMISSION}, Licence.State.ACTIVE),
    Decision.Kind.REFUSE: ({Licence.State.ADMISSION}, Licence.State.WITHDRAWN),
    Decision.Kind.EXTEND_SCOPE: ({Licence.State.ACTIVE}, None),
    Decision.Kind.REDUCE_SCOPE: ({Licence.State.ACTIVE, Licence.State.SUSPENDED}, None),
    Decision.Kind.SUSPEND: ({Licence.State.ACTIVE}, Licence.State.SUSPENDED),
    Decision.Kind.REINSTATE: ({Licence.State.SUSPENDED}, Licence.State.ACTIVE),
    Decision.Kind.WITHDRAW: ({Licence.State.ACTIVE, Licence.State.SUSPENDED, Licence.State.ADMISSION},
                             Licence.State.WITHDRAWN),
    Decision.Kind.RENEW: ({Licence.State.ACTIVE, Licence.State.SUSPENDED}, None),
}
MAX_VALID_YEARS = 10


def add_years(day, years):
    """The same calendar day ``years`` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
CERTIFICATE_STATUS = {Decision.Kind.SUSPEND: "suspended", Decision.Kind.REINSTATE: "reinstated",
                      Decision.Kind.WITHDRAW: "withdrawn"}


@transaction.atomic
def do_take_decision(*, licence, kind, by, reason, effective_from=None, products=None, language="en",
                     valid_years=None):
    """Grant, extend/reduce scope, suspend, reinstate, withdraw, refuse or renew; writes the state history and audit.

    ``valid_years``: for a grant, the validity from the grant date (sets ``expires_on``, the last valid day); for
    a renewal (required), how far the current expiry date moves. A renewal of an active licence re-issues the
    certificate (its validity changes)."""
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    check_decider(by, licence)
    if not (reason or "").strip():
        raise Refused(_("A decision needs a reason."))
    allowed, new_state = TRANSITIONS[kind]
    if licence.state not in allowed:
        raise Refused(_("Cannot %(action)s a licence that is %(state)s.")
                      % {"action": Decision.Kind(kind).label.lower(), "state": licence.get_state_display().lower()})
    effective_from = effective_from or timezone.now()
    last = licence.history.order_by("-effective_from", "-id").first()
    if last is not None and effective_from < last.effective_from:
        raise Refused(_("A decision cannot take effect before the licence's last recorded change."))
    if valid_years is not None and not 1 <= int(valid_years) <= MAX_VALID_YEARS:
        raise Refused(_("The validity is between 1 and %(max)s years.") % {"max": MAX_VALID_YEARS})
    if kind == Decision.Kind.RENEW and not valid_years:
        raise Refused(_("Give the renewal period in years."))
    if kind == Decision.Kind.RENEW and licence.expires_on is None:
        raise Refused(_("This licence has no expiry date: there is nothing to renew."))
    before = audit.snapshot(licence)
    products = list(products or [])
    added, removed = [], []
    if kind in (Decision.Kind.EXTEND_SCOPE, Decision.Kind.REDUCE_SCOPE):
        if not products:
            raise Refused(_("Choose the products whose certification is extended or withdrawn."))
        if any(p.holder_id != licence.holder_id for p in products):
            raise Refused(_("Every product must belong to the licence-holder."))
        current = set(licence.products.values_list("pk", flat=True))
        if kind == Decision.Kind.EXTEND_SCOPE:
            added = [p.pk for p in products if p.pk not in current]
            licence.products.add(*products)
        else:
            removed = [p.pk for p in products if p.pk in current]
            if set(current) - set(removed) == set():
                raise Refused(_("A scope reduction cannot remove every product; withdraw the licence instead."))
            licence.products.remove(*products)
    application = getattr(licence, "application", None) if kind in (Decision.Kind.GRANT, Decision.Kind.REFUSE) else None
    decision = Decision.objects.create(
        body=licence.body, licence=licence, application=application, kind=kind, decided_by=by,
        effective_from=effective_from, reason=reason, products_added=added, products_removed=removed,
        resulting_state=new_state or licence.state,
    )
    if new_state:
        _record_state(licence, new_state, effective_from, by, f"{decision.get_kind_display()}: {reason}")
    if kind == Decision.Kind.GRANT:
        licence.granted_on = timezone.localdate(effective_from)
        licence.inspection_regime = Licence.Regime.NORMAL
        if valid_years:
            licence.expires_on = add_years(licence.granted_on, int(valid_years))
        licence.save(update_fields=["granted_on", "inspection_regime", "expires_on"])
    if kind == Decision.Kind.RENEW:
        # extends the current validity; expiry notices start again for the new date
        licence.expires_on = add_years(licence.expires_on, int(valid_years))
        licence.save(update_fields=["expires_on"])
    if application is not None and application.state == Application.State.ADMISSION:
        app_before = audit.snapshot(application)
        application.state = Application.State.GRANTED if kind == Decision.Kind.GRANT else Application.State.REFUSED
        application.closed_at = timezone.now()
        _save_application(application, f"application.{application.state}", app_before, reason)
    audit.record(f"decision.{kind}", decision, after=audit.snapshot(decision), reason=reason)
    audit.record("licence.update", licence, before=before, after=audit.snapshot(licence), reason=reason)
    if kind in CERTIFICATE_STATUS:
        _publish_certificate_status(licence, CERTIFICATE_STATUS[kind], effective_from)
    if kind in (Decision.Kind.GRANT, Decision.Kind.EXTEND_SCOPE, Decision.Kind.REDUCE_SCOPE) or (
            kind == Decision.Kind.RENEW and licence.state == Licence.State.ACTIVE):
        do_issue_certificate(licence=licence, by=by, language=language)
    return decision


# --- sanctions and appeals ---------------------------------------------------------------------------------

def _start_of_day(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@transaction.atomic
def do_impose_sanction(*, licence, kind, starts_on, reason, by, ends_on=None):
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    check_decider(by, licence)
    if ends_on and ends_on < starts_on:
        raise Refused(_("The sanction cannot end before it starts."))
    if ends_on and kind == Sanction.Kind.WITHDRAWAL:
        raise Refused(_("A withdrawal is final: it has no end date."))
    sanction = Sanction(body=licence.body, licence=licence, kind=kind, starts_on=starts_on, ends_on=ends_on,
                        reason=reason, imposed_by=by, previous_regime=licence.inspection_regime)
    if kind == Sanction.Kind.SUSPENSION:
        sanction.decision = do_take_decision(licence=licence, kind=Decision.Kind.SUSPEND, by=by, reason=reason,
                                             effective_from=_start_of_day(starts_on))
    elif kind == Sanction.Kind.WITHDRAWAL:
        sanction.decision = do_take_decision(licence=licence, kind=Decision.Kind.WITHDRAW, by=by, reason=reason,
                                             effective_from=_start_of_day(starts_on))
    elif kind == Sanction.Kind.REINFORCED:
        licence.inspection_regime = Licence.Regime.REINFORCED
        licence.save(update_fields=["inspection_regime"])
    sanction.save()
    audit.record("sanction.impose", sanction, after=audit.snapshot(sanction), reason=reason)
    return sanction


@transaction.atomic
def do_lift_sanction(*, sanction, by, reason, on=None):
    sanction = Sanction.objects.select_for_update().get(pk=sanction.pk)
    if sanction.lifted_at:
        raise Refused(_("This sanction was already lifted."))
    licence = Licence.objects.select_for_update().get(pk=sanction.licence_id)
    check_decider(by, licence)
    before = audit.snapshot(sanction)
    on = on or timezone.localdate()
    if sanction.kind == Sanction.Kind.REINFORCED:
        licence.inspection_regime = sanction.previous_regime or Licence.Regime.NORMAL
        licence.save(update_fields=["inspection_regime"])
    elif sanction.kind == Sanction.Kind.SUSPENSION and licence.state == Licence.State.SUSPENDED:
        do_take_decision(licence=licence, kind=Decision.Kind.REINSTATE, by=by, reason=reason,
                         effective_from=_start_of_day(on))
    elif sanction.kind == Sanction.Kind.WITHDRAWAL:
        raise Refused(_("A withdrawal is final; the holder applies again."))
    sanction.lifted_at = timezone.now()
    sanction.lifted_by = by
    sanction.ends_on = sanction.ends_on or on
    sanction.save()
    audit.record("sanction.lift", sanction, before=before, after=audit.snapshot(sanction), reason=reason)
    return sanction


@transaction.atomic
def do_lodge_appeal(*, decision, lodged_on, grounds):
    deadline = timezone.localdate(decision.decided_at) + dt.timedelta(days=APPEAL_DAYS)
    if lodged_on > deadline:
        raise Refused(_("The appeal deadline was %(deadline)s.") % {"deadline": f"{deadline:%Y-%m-%d}"})
    appeal = Appeal.objects.create(body=decision.body, decision=decision, lodged_on=lodged_on, deadline=deadline,
                                   grounds=grounds)
    audit.record("appeal.lodge", appeal, after=audit.snapshot(appeal))
    return appeal


@transaction.atomic
def do_set_appeal_committee(*, appeal, members):
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    members = list(members)
    if not members:
        raise Refused(_("The committee needs at least one member."))
    if any(m.pk == appeal.decision.decided_by_id for m in members):
        raise ImpartialityViolation(_("The committee may not include the person who took the decision."))
    if any(not Membership.objects.filter(body=appeal.body, user=m, is_active=True).exists() for m in members):
        raise Refused(_("Committee members must be staff of the certification body."))
    before = audit.snapshot(appeal)
    appeal.committee.set(members)
    audit.record("appeal.committee", appeal, before=before, after=audit.snapshot(appeal))
    return appeal


@transaction.atomic
def do_record_appeal_outcome(*, appeal, outcome, reason, by, on=None):
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if appeal.outcome != Appeal.Outcome.PENDING:
        raise Refused(_("The outcome of this appeal is already recorded."))
    if by.pk == appeal.decision.decided_by_id:
        raise ImpartialityViolation(_("The person who took the decision may not record the appeal outcome."))
    if outcome != Appeal.Outcome.WITHDRAWN and not appeal.committee.exists():
        raise Refused(_("Appoint the committee first."))
    before = audit.snapshot(appeal)
    appeal.outcome = outcome
    appeal.outcome_reason = reason
    appeal.decided_on = on or timezone.localdate()
    appeal.save()
    audit.record("appeal.outcome", appeal, before=before, after=audit.snapshot(appeal), reason=reason)
    return appeal


# --- certificates ----------------------------------------------------------------------------------------

def certificate_content(licence):
    version = licence.regulation_version
    holder, site = licence.holder, licence.site
    return {
        "holder": {"name": holder.name, "company_number": holder.company_number, "address": holder.address},
        "site": {"name": site.name, "address": site.address},
        "mark": {"code": licence.mark.code, "name": licence.mark.name, "owner": licence.mark.owner_organisation},
        "regulation": {"code": version.regulation.code, "title": version.regulation.title,
                       "version": version.version},
        "licence": {"number": licence.number,
                    "granted_on": licence.granted_on.isoformat() if licence.granted_on else None,
                    "expires_on": licence.expires_on.isoformat() if licence.expires_on else None},
        "body": {"name": licence.body.name, "accreditation": licence.body.accreditation,
                 "address": licence.body.address},
        "products": [
            {"name": p.commercial_name, "quick_code": p.quick_code, "category": p.category.name_en,
             "category_code": p.category.code, "characteristics": p.declared_characteristics}
            for p in licence.products.select_related("category").order_by("commercial_name", "pk")
        ],
    }


@transaction.atomic
def do_issue_certificate(*, licence, by=None, language="en"):
    """Issue (or re-issue) the certificate of an active licence; the previous version is superseded."""
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    if licence.state != Licence.State.ACTIVE:
        raise Refused(_("Certificates are issued for active licences only."))
    if language not in Certificate.Language.values:
        raise Refused(_("Certificates are issued in English, French or Dutch."))
    previous = current_certificate(licence)
    now = timezone.now()
    if previous is not None:
        number, version = previous.number, previous.version + 1
    else:
        number, version = _certificate_number(licence.body, licence.mark), 1
    certificate = Certificate.objects.create(
        body=licence.body, licence=licence, number=number, version=version, language=language,
        content=certificate_content(licence), issued_at=now, issued_by=by if getattr(by, "is_authenticated", False)
        else None, valid_until=licence.expires_on, render_requested_at=now,
    )
    audit.record("certificate.issue", certificate, after=audit.snapshot(certificate, exclude=("password", "content")))
    if previous is not None:
        Certificate.objects.filter(pk=previous.pk).update(superseded_at=now, superseded_by=certificate)
        audit.record("certificate.supersede", previous, after={"superseded_by": certificate.full_number})
        events.publish("certificate.status_changed", body=licence.body, subject=previous.full_number,
                       payload={"status": "superseded", "superseded_by": certificate.full_number,
                                "licence": licence.number})
    events.publish("certificate.status_changed", body=licence.body, subject=certificate.full_number,
                   payload={"status": "issued", "licence": licence.number, "version": version})
    enqueue_render(certificate)
    return certificate


def enqueue_render(certificate):
    from licences.tasks import render_certificate

    render_certificate.delay_on_commit(certificate.body_id, certificate.pk)


def certificate_render_context(certificate):
    import segno

    from licences.labels import labels_for
    from licences.selectors import verification_url

    url = verification_url(certificate.full_number)
    qr = segno.make(url, error="m")
    return {"certificate": certificate, "c": certificate.content, "qr_svg": qr.svg_data_uri(scale=3, border=2),
            "verify_url": url, "L": labels_for(certificate.language)}


def render_certificate_pdf(certificate):
    from certification.documents import render_pdf

    return render_pdf("licences/pdf/certificate.html", certificate_render_context(certificate),
                      title=certificate.full_number, lang=certificate.language)


@transaction.atomic
def do_render_certificate(*, certificate_id):
    """Render the PDF of one certificate version; idempotent (a rendered certificate is left alone)."""
    from certification.documents import sha256

    certificate = Certificate.objects.select_for_update().get(pk=certificate_id)
    if certificate.render_status == Certificate.RenderStatus.RENDERED and certificate.pdf \
            and certificate.pdf.storage.exists(certificate.pdf.name):
        return certificate
    certificate.render_attempts += 1
    data = render_certificate_pdf(certificate)
    name = f"certificates/{certificate.body.code}/{certificate.full_number}.pdf"
    storage = certificate.pdf.storage
    if storage.exists(name):
        storage.delete(name)
    certificate.pdf.name = storage.save(name, ContentFile(data))
    certificate.sha256 = sha256(data)
    certificate.render_status = Certificate.RenderStatus.RENDERED
    certificate.render_error = ""
    certificate.save(update_fields=["pdf", "sha256", "render_status", "render_error", "render_attempts"])
    return certificate


@transaction.atomic
def do_mark_render_failed(*, certificate_id, error):
    from django.db.models import F

    Certificate.objects.filter(pk=certificate_id).exclude(render_status=Certificate.RenderStatus.RENDERED).update(
        render_status=Certificate.RenderStatus.FAILED, render_error=str(error)[:2000],
        render_attempts=F("render_attempts") + 1)


# --- time-driven lifecycle (run by the beat job and `manage.py run_licence_lifecycle`) ----------------------
#
# Each action below is one audited transaction, idempotent (a second run finds nothing due and changes
# nothing) and dated from the calendar, not from when the job happens to run: a suspension ends at the start
# of its end date, a licence expires at the start of the day after its expiry date (``expires_on`` is the last
# valid day). ``today`` is a parameter so that the dates can be fixed in tests and catch-up runs.

AUTOMATIC_END_KINDS = {Sanction.Kind.SUSPENSION, Sanction.Kind.REINFORCED, Sanction.Kind.WARNING}
LAPSING_STATES = {Licence.State.ACTIVE, Licence.State.SUSPENDED}


def _last_change(licence):
    return licence.history.order_by("-effective_from", "-id").first()


def _not_before_last_change(licence, moment):
    """The history stays ordered: a change found late (the job did not run for days, or an officer recorded a
    later change meanwhile) takes effect at the last recorded change rather than before it."""
    last = _last_change(licence)
    return max(moment, last.effective_from) if last is not None else moment


@transaction.atomic
def do_apply_scheduled_state(*, licence, now=None):
    """A change recorded with a later effective date (a suspension starting next week) takes effect: the
    licence's current ``state`` follows its history. The status event was published when the change was
    recorded (with its ``effective_from``), so none is published again."""
    now = now or timezone.now()
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    state = licence.state_on(now)
    if state is None or state == licence.state:
        return None
    before = audit.snapshot(licence)
    licence.state = state
    licence.save(update_fields=["state"])
    audit.record("licence.state_effective", licence, before=before, after=audit.snapshot(licence),
                 reason="A change recorded earlier took effect.")
    return licence


def _suspension_in_force_is(sanction, licence):
    """Is the licence suspended by this sanction's decision (and not reinstated and suspended again since)?"""
    last = _last_change(licence)
    return (licence.state == Licence.State.SUSPENDED and sanction.decision_id is not None and last is not None
            and last.state == Licence.State.SUSPENDED and last.effective_from == sanction.decision.effective_from)


@transaction.atomic
def do_end_sanction(*, sanction, today=None):
    """A sanction whose end date has come ends by itself (no decision: the one that imposed it set the end date).

    Suspension: the licence goes back to active from the start of ``ends_on`` (unless it was reinstated by hand
    or its validity ran out meanwhile: then it only closes), and ``certificate.status_changed`` (reinstated) is
    published. Reinforced inspection: the previous inspection regime comes back. Warning: it closes.
    A withdrawal is final and never ends. Returns the sanction, or None when nothing was due."""
    today = today or timezone.localdate()
    sanction = Sanction.objects.select_for_update().get(pk=sanction.pk)
    if (sanction.lifted_at is not None or sanction.ends_on is None or sanction.ends_on > today
            or sanction.kind not in AUTOMATIC_END_KINDS):
        return None
    licence = Licence.objects.select_for_update().get(pk=sanction.licence_id)
    before, licence_before = audit.snapshot(sanction), audit.snapshot(licence)
    reason = f"{sanction.get_kind_display()} ended on its end date {sanction.ends_on:%Y-%m-%d}."
    if sanction.kind == Sanction.Kind.REINFORCED and licence.inspection_regime == Licence.Regime.REINFORCED:
        still_reinforced = Sanction.objects.filter(licence=licence, kind=Sanction.Kind.REINFORCED,
                                                   lifted_at__isnull=True).exclude(pk=sanction.pk).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gt=today)).exists()
        if not still_reinforced:
            licence.inspection_regime = sanction.previous_regime or Licence.Regime.NORMAL
            licence.save(update_fields=["inspection_regime"])
            audit.record("licence.update", licence, before=licence_before, after=audit.snapshot(licence),
                         reason=reason)
    elif sanction.kind == Sanction.Kind.SUSPENSION and _suspension_in_force_is(sanction, licence):
        lapsed = licence.expires_on is not None and licence.expires_on < sanction.ends_on
        if not lapsed:
            moment = _not_before_last_change(licence, _start_of_day(sanction.ends_on))
            _record_state(licence, Licence.State.ACTIVE, moment, None, reason)
            audit.record("licence.update", licence, before=licence_before, after=audit.snapshot(licence),
                         reason=reason)
            _publish_certificate_status(licence, "reinstated", moment)
    sanction.lifted_at = timezone.now()
    sanction.lifted_by = None
    sanction.save(update_fields=["lifted_at", "lifted_by"])
    audit.record("sanction.end", sanction, before=before, after=audit.snapshot(sanction), reason=reason)
    return sanction


@transaction.atomic
def do_expire_licence(*, licence, today=None):
    """An active or suspended licence past its expiry date becomes expired from the start of the day after
    ``expires_on``; ``certificate.status_changed`` (expired) is published. None when nothing was due."""
    today = today or timezone.localdate()
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    if licence.expires_on is None or licence.expires_on >= today or licence.state not in LAPSING_STATES:
        return None
    before = audit.snapshot(licence)
    reason = f"Expired: valid until {licence.expires_on:%Y-%m-%d}."
    moment = _not_before_last_change(licence, _start_of_day(licence.expires_on + dt.timedelta(days=1)))
    _record_state(licence, Licence.State.EXPIRED, moment, None, reason)
    audit.record("licence.expire", licence, before=before, after=audit.snapshot(licence), reason=reason)
    _publish_certificate_status(licence, "expired", moment)
    return licence


def expiry_notice_thresholds():
    from django.conf import settings

    return sorted({int(days) for days in settings.LICENCE_EXPIRY_NOTICE_DAYS}, reverse=True)


def expiry_notice_recipients(licence):
    emails = [licence.holder.email] if licence.holder.email else []
    emails += list(HolderMembership.objects.filter(holder=licence.holder, is_active=True,
                                                   role=HolderMembership.Role.MANAGER)
                   .order_by("user__email").values_list("user__email", flat=True))
    return list(dict.fromkeys(e.lower() for e in emails))


@transaction.atomic
def do_send_expiry_notice(*, licence, today=None):
    """Tell the holder that a licence expires soon: at most one notice per threshold (settings
    ``LICENCE_EXPIRY_NOTICE_DAYS``, e.g. 90 and 30 days) and expiry date, never twice. When the job finds a
    licence already inside several thresholds (short validity, a run missed), only the tightest one is sent.
    The notice row is the record (shown on the portal); the e-mail leaves after commit. None when none was due."""
    today = today or timezone.localdate()
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    if licence.expires_on is None or licence.state not in LAPSING_STATES:
        return None
    days_left = (licence.expires_on - today).days
    due = [t for t in expiry_notice_thresholds() if 0 <= days_left <= t]
    if not due:
        return None
    threshold = min(due)
    if LicenceExpiryNotice.objects.filter(licence=licence, expires_on=licence.expires_on,
                                          threshold_days__lte=threshold).exists():
        return None
    recipients = expiry_notice_recipients(licence)
    notice = LicenceExpiryNotice.objects.create(body=licence.body, licence=licence, expires_on=licence.expires_on,
                                                threshold_days=threshold, days_left=days_left, recipients=recipients)
    audit.record("licence.expiry_notice", notice, after=audit.snapshot(notice))
    if recipients:
        mail_in_recipient_languages(
            recipients, licence.holder,
            lambda: (expiry_notice_subject(licence), expiry_notice_message(licence, days_left, today)))
    return notice


def mail_in_recipient_languages(recipients, holder, compose, fail_silently=False):
    """E-mail a licence-holder's ``recipients`` after commit, one message per language they are written to in
    (``selectors.recipient_languages``). ``compose()`` returns ``(subject, message)`` in the active language;
    it runs now, inside each language, so the texts are those of the transaction that sends them."""
    from django.core.mail import send_mail

    from licences.selectors import recipient_languages

    mails = []
    for language, emails in recipient_languages(recipients, holder=holder).items():
        with translation.override(language):
            mails.append((*compose(), emails))

    def send():
        for subject, message, emails in mails:
            send_mail(subject, message, None, emails, fail_silently=fail_silently)

    transaction.on_commit(send)


def expiry_notice_subject(licence):
    """In the active language (``do_send_expiry_notice`` activates each recipient's)."""
    return _("Licence %(number)s expires on %(date)s") % {"number": licence.number,
                                                          "date": f"{licence.expires_on:%Y-%m-%d}"}


def expiry_notice_message(licence, days_left, today):
    values = {"name": licence.holder.name, "number": licence.number, "mark": licence.mark.name,
              "site": licence.site.name, "date": f"{licence.expires_on:%Y-%m-%d}", "days": days_left,
              "today": f"{today:%Y-%m-%d}", "body": licence.body.name}
    return "\n".join([
        _("Dear %(name)s,") % values,
        "",
        ngettext("Licence %(number)s (%(mark)s) for %(site)s is valid until %(date)s (%(days)s day from %(today)s).",
                 "Licence %(number)s (%(mark)s) for %(site)s is valid until %(date)s (%(days)s days from "
                 "%(today)s).", days_left) % values,
        _("After that date products delivered under it are no longer certified. Please contact %(body)s to renew "
          "it in time.") % values,
        "",
    ])


def run_due_lifecycle(*, today=None, now=None):
    """Everything time-driven that is due in the active body scope, each item in its own transaction (one
    failing licence does not hold up the others). Order: scheduled changes take effect, sanctions whose end
    date came end, licences past their expiry date expire, then expiry notices. Returns counts."""
    import logging

    from django.db.models import F, OuterRef, Subquery

    log = logging.getLogger(__name__)
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    counts = {"took_effect": 0, "sanctions_ended": 0, "expired": 0, "notices": 0, "errors": 0}

    def each(rows, key, action):
        for row in rows:
            try:
                if action(row) is not None:
                    counts[key] += 1
            except Exception:
                log.exception("licence lifecycle: %s failed for %r", key, row)
                counts["errors"] += 1

    in_force = (LicenceStateChange.objects.filter(licence=OuterRef("pk"), effective_from__lte=now)
                .order_by("-effective_from", "-id").values("state")[:1])
    scheduled = (Licence.objects.annotate(state_now=Subquery(in_force)).filter(state_now__isnull=False)
                 .exclude(state_now=F("state")).order_by("pk"))
    each(list(scheduled), "took_effect", lambda lic: do_apply_scheduled_state(licence=lic, now=now))
    sanctions = (Sanction.objects.filter(lifted_at__isnull=True, ends_on__lte=today, kind__in=AUTOMATIC_END_KINDS)
                 .order_by("ends_on", "pk"))
    each(list(sanctions), "sanctions_ended", lambda s: do_end_sanction(sanction=s, today=today))
    lapsed = Licence.objects.filter(state__in=LAPSING_STATES, expires_on__lt=today).order_by("expires_on", "pk")
    each(list(lapsed), "expired", lambda lic: do_expire_licence(licence=lic, today=today))
    thresholds = expiry_notice_thresholds()
    if thresholds:
        expiring = Licence.objects.filter(state__in=LAPSING_STATES, expires_on__gte=today,
                                          expires_on__lte=today + dt.timedelta(days=thresholds[0])).order_by("pk")
        each(list(expiring), "notices", lambda lic: do_send_expiry_notice(licence=lic, today=today))
    return counts
