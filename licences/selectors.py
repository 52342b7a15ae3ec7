"""Read paths of licences/: tenant-scoped querysets for staff and portal, public selectors for the public.

Public selectors run under ``public_reads()`` and return only publicly visible data: certified products
(products of licences that are, or were, granted), certificates and licence status history (states and
dates, never reasons, notes or contact details).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from licences.models import (
    Application,
    Certificate,
    HolderMembership,
    Licence,
    LicenceExpiryNotice,
    LicenceHolder,
    LicenceStateChange,
    Product,
)

PUBLIC_LICENCE_STATES = {Licence.State.ACTIVE, Licence.State.SUSPENDED}


def holders_for_staff():
    return LicenceHolder.objects.all()


def holder_users(holder):
    return HolderMembership.objects.filter(holder=holder).select_related("user").order_by("user__email")


def applications():
    return Application.objects.select_related("holder", "site", "mark", "regulation_version__regulation")


def licences():
    return Licence.objects.select_related("holder", "site", "mark", "regulation_version__regulation")


def certificates():
    return Certificate.objects.select_related("licence__holder", "licence__mark")


def expiry_notices(holder):
    """The latest expiry notice of each of the holder's licences that still runs towards that expiry date."""
    from django.db.models import F

    notices = (LicenceExpiryNotice.objects.filter(licence__holder=holder, expires_on=F("licence__expires_on"),
                                                  licence__state__in=PUBLIC_LICENCE_STATES)
               .select_related("licence__mark").order_by("licence__number", "threshold_days", "-pk"))
    latest = {}
    for notice in notices:
        latest.setdefault(notice.licence_id, notice)
    return list(latest.values())


def certificate_changes(licence):
    """What the current certificate states that is no longer true (certificates are frozen at issue): the
    top-level parts of its content (products, holder, site…) that differ from a certificate issued now."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    from licences.services import certificate_content, current_certificate

    certificate = current_certificate(licence)
    if certificate is None or licence.state not in PUBLIC_LICENCE_STATES:
        return []
    now = json.loads(json.dumps(certificate_content(licence), cls=DjangoJSONEncoder))
    return sorted(key for key in now.keys() | certificate.content.keys()
                  if now.get(key) != certificate.content.get(key))


def licence_visits(licence):
    from inspections.models import Visit

    return Visit.objects.filter(licence=licence).select_related("inspector").order_by("planned_for", "pk")


def end_of_day(day):
    """The last instant of ``day`` (local time); also for 9999-12-31, where "next midnight" does not exist."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def verification_url(full_number):
    return settings.SITE_URL + reverse("public:verify-certificate", kwargs={"number": full_number})


# --- public selectors (call under public_reads()) -------------------------------------------------------

def public_products():
    """Products covered by a licence that the public may see (active or suspended, with a certificate)."""
    return (Product.objects.filter(licences__state__in=PUBLIC_LICENCE_STATES,
                                   licences__certificates__isnull=False)
            .select_related("holder", "category", "site").distinct())


def search_public_products(*, q="", mark="", category="", holder=""):
    products = public_products()
    if mark:
        products = products.filter(licences__mark__code=mark)
    if category:
        products = products.filter(Q(category__code=category) | Q(category__parent__code=category))
    if holder:
        products = products.filter(holder__name__icontains=holder)
    q = (q or "").strip()
    if q:
        if q.isdigit() and len(q) == 8:
            products = products.filter(quick_code=q)
        elif connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchVector

            vector = (SearchVector("commercial_name", weight="A") + SearchVector("holder__name", weight="B")
                      + SearchVector("category__name_en", "category__name_fr", "category__name_nl", weight="C"))
            ids = (Product.objects.annotate(search=vector)
                   .filter(Q(search=SearchQuery(q, config="simple", search_type="websearch"))
                           | Q(licences__certificates__number__iexact=q.split("-v")[0])
                           | Q(licences__number__iexact=q)).values("pk"))
            products = products.filter(pk__in=ids)
        else:
            products = products.filter(
                Q(commercial_name__icontains=q) | Q(holder__name__icontains=q) | Q(category__name_en__icontains=q)
                | Q(category__name_fr__icontains=q) | Q(category__name_nl__icontains=q)
                | Q(licences__certificates__number__iexact=q.split("-v")[0]) | Q(licences__number__iexact=q))
    return products.order_by("commercial_name", "pk")


def public_product(quick_code):
    return public_products().filter(quick_code=quick_code).first()


def public_licences_of(product):
    return (product.licences.filter(state__in=PUBLIC_LICENCE_STATES).select_related("mark", "regulation_version__regulation")
            .order_by("number"))


def split_number(reference):
    """'COPRO-BENOR-000001-v2' → ('COPRO-BENOR-000001', 2); no suffix → version None."""
    reference = (reference or "").strip().upper()
    base, sep, suffix = reference.rpartition("-V")
    if sep and suffix.isdigit():
        return base, int(suffix)
    return reference, None


def public_certificate(full_number):
    number, version = split_number(full_number)
    certificates = Certificate.objects.filter(number=number).select_related("licence__mark", "licence__holder")
    if version is None:
        return certificates.filter(version=1).first()
    return certificates.filter(version=version).first()


def certificate_in_force(licence, moment):
    return (Certificate.objects.filter(licence=licence, issued_at__lte=moment)
            .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=moment)).order_by("-version").first())


def public_history(licence):
    """State changes without reasons or who recorded them."""
    return list(LicenceStateChange.objects.filter(licence=licence).order_by("effective_from", "pk")
                .values("state", "effective_from"))


def state_within_validity(licence, state, day):
    """A licence is not valid after its expiry date even before the lifecycle job has recorded the expiry
    (it runs hourly) and for dates still to come: an active or suspended state past ``expires_on`` reads as
    expired."""
    if state in (Licence.State.ACTIVE, Licence.State.SUSPENDED) and licence.expires_on and day > licence.expires_on:
        return Licence.State.EXPIRED
    return state


@dataclass
class Verification:
    reference: str
    on_date: dt.date | None
    found: bool = False
    licence: Licence | None = None
    product: Product | None = None
    certificate: Certificate | None = None  # the version the reference names (or the current one)
    certificate_on_date: Certificate | None = None
    current_state: str | None = None
    state_on_date: str | None = None
    valid_now: bool = False
    valid_on_date: bool | None = None
    history: list = field(default_factory=list)

    def as_dict(self):
        def cert(c):
            return None if c is None else {"number": c.full_number, "version": c.version,
                                           "issued_at": c.issued_at, "superseded_at": c.superseded_at}

        return {
            "reference": self.reference, "found": self.found,
            "on_date": self.on_date,
            "licence": self.licence.number if self.licence else None,
            "holder": self.licence.holder.name if self.licence else None,
            "mark": self.licence.mark.code if self.licence else None,
            "product": ({"name": self.product.commercial_name, "quick_code": self.product.quick_code}
                        if self.product else None),
            "certificate": cert(self.certificate),
            "certificate_on_date": cert(self.certificate_on_date),
            "current_state": self.current_state, "valid_now": self.valid_now,
            "state_on_date": self.state_on_date, "valid_on_date": self.valid_on_date,
            "history": [{"state": h["state"], "effective_from": h["effective_from"]} for h in self.history],
        }


def verify_delivery(reference, on_date=None):
    """Was the product/certificate named by ``reference`` (certificate number, with or without version
    suffix, or 8-digit product quick code) certified on ``on_date``? Answered from the state history.

    A date means the whole day: the state in force at the end of that day (a suspension taking effect
    that day makes the delivery not covered). Call under ``public_reads()`` (public) or a tenant scope.
    """
    reference = (reference or "").strip()
    result = Verification(reference=reference, on_date=on_date)
    licence = product = certificate = None
    if reference.isdigit() and len(reference) == 8:
        product = Product.objects.filter(quick_code=reference).select_related("holder").first()
        if product is not None:
            licences = list(product.licences.filter(certificates__isnull=False).distinct()
                            .select_related("mark", "holder"))
            # the product's licence valid on the date, else the current one, else any
            if on_date is not None:
                licence = next((lic for lic in licences if lic.state_on(end_of_day(on_date)) in Licence.VALID_STATES),
                               None)
            licence = licence or next((lic for lic in licences if lic.state in Licence.VALID_STATES), None)
            licence = licence or (licences[0] if licences else None)
            if licence is not None:
                certificate = Certificate.objects.filter(licence=licence).order_by("superseded_at", "-version").first()
    else:
        certificate = public_certificate(reference)
        licence = certificate.licence if certificate else None
    if licence is None:
        return result
    result.found = True
    result.licence, result.product, result.certificate = licence, product, certificate
    result.current_state = state_within_validity(licence, licence.state, timezone.localdate())
    result.valid_now = result.current_state in Licence.VALID_STATES and certificate is not None
    result.history = public_history(licence)
    if on_date is not None:
        moment = end_of_day(on_date)
        result.state_on_date = state_within_validity(licence, licence.state_on(moment), on_date)
        # The licence confers the right to the mark; the certificate version shown is the one in force then
        # (or the first one, when the decision was recorded with an earlier effective date than the issue).
        result.certificate_on_date = certificate_in_force(licence, moment) or (
            Certificate.objects.filter(licence=licence).order_by("version").first())
        result.valid_on_date = (result.state_on_date in Licence.VALID_STATES
                                and result.certificate_on_date is not None)
    return result


def recipient_languages(emails, holder=None):
    """Group e-mail addresses to holders by the language to write to them in, as ``{language: [emails]}``
    (order kept). An address that belongs to a user gets that user's ``User.language``; any other address (the
    holder's own contact address) gets the holder's language of correspondence when it has one, else the active
    language."""
    from django.utils.translation import get_language

    from certification.models import User

    supported = {code for code, _name in settings.LANGUAGES}
    active = (get_language() or settings.LANGUAGE_CODE)[:2]
    active = active if active in supported else settings.LANGUAGE_CODE
    if holder is not None and holder.language in supported:
        active = holder.language
    emails = list(dict.fromkeys(e.strip() for e in emails if e and e.strip()))
    known = dict(User.objects.filter(email__in=[e.lower() for e in emails]).values_list("email", "language"))
    grouped = {}
    for email in emails:  # user e-mails are stored in lower case
        language = known.get(email.lower())
        grouped.setdefault(language if language in supported else active, []).append(email)
    return grouped
