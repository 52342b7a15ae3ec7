"""Adds licences objects to the test world (body A's with secret markers), see tests/world.py.

Each body gets: a published regulation version (made here, not depending on the marks world), a site and
two products of ``holder``, an application granted into an active licence with a certificate (not rendered:
rendering runs on commit), a decision and a sanction. A's secrets sit in private fields only (staff notes,
decision and state-change reasons, holder contact details), never in what the public pages show.
"""

import datetime as dt

from django.utils import timezone

from licences import services
from licences.models import Decision, Sanction
from marks.models import Mark, ProductCategory, Regulation, RegulationVersion, Requirement


def reference_data():
    mark, _ = Mark.objects.get_or_create(code="benor", defaults={
        "name": "BENOR", "kind": Mark.Kind.QUALITY_MARK, "owner_organisation": "BENOR asbl"})
    category, _ = ProductCategory.objects.get_or_create(code="bituminous-mixtures", defaults={
        "name_en": "Bituminous mixtures", "name_fr": "Mélanges bitumineux", "name_nl": "Bitumineuze mengsels"})
    return mark, category


def published_version(body, mark, category, code="TRA-LIC-14"):
    regulation = Regulation.objects.create(body=body, code=code, title="Bituminous mixtures for road works",
                                           mark=mark, sector_committee="Sector committee asphalt")
    regulation.categories.add(category)
    version = RegulationVersion.objects.create(
        body=body, regulation=regulation, version=1, status=RegulationVersion.Status.DRAFT,
        effective_date=dt.date(2025, 1, 1), visits_per_year_admission=4, visits_per_year_normal=2,
        visits_per_year_reinforced=6)
    Requirement.objects.create(body=body, version=version, property_code="void-content", property_name="Void content",
                               unit="%", lower_limit=3, upper_limit=6, self_monitoring_every=1000,
                               self_monitoring_basis=Requirement.FrequencyBasis.TONNES)
    version.status = RegulationVersion.Status.PUBLISHED  # published once its requirements are in
    version.published_at = timezone.now()
    version.save()
    return version


def granted_licence(ns, holder, site, products, version, officer, reason="Granted after admission"):
    application = services.do_create_application(holder=holder, site=site, mark=version.regulation.mark,
                                                  regulation_version=version, products=products)
    services.do_submit_application(application=application)
    application.state = application.State.PACK_SENT  # skip rendering the pack in the shared world
    application.confirmation = application.Confirmation.ELECTRONIC
    application.save()
    services.do_start_review(application=application)
    application = services.do_admit(application=application, by=officer,
                                   effective_from=timezone.now() - dt.timedelta(days=60))
    decision = services.do_take_decision(licence=application.licence, kind=Decision.Kind.GRANT, by=officer,
                                         reason=reason, effective_from=timezone.now() - dt.timedelta(days=30))
    application.refresh_from_db()
    return application, decision


def extend(world, body_ns, secret):
    """Called for each body inside its tenant scope; add objects to body_ns."""
    ns = body_ns
    mark, category = reference_data()
    ns.mark, ns.category = mark, category
    ns.lic_version = published_version(ns.body, mark, category)
    ns.site = services.do_add_site(holder=ns.holder, name="Main plant", address="Havenlaan 1, Gent")
    ns.product = services.do_add_product(holder=ns.holder, site=ns.site, category=category,
                                         commercial_name=f"{ns.body.code.title()} AC 14 surf",
                                         technical_description="Asphalt concrete for surface courses",
                                         declared_characteristics={"void content": "3-6 %"})
    ns.product2 = services.do_add_product(holder=ns.holder, site=ns.site, category=category,
                                          commercial_name=f"{ns.body.code.title()} AC 20 base")
    ns.application, ns.decision = granted_licence(ns, ns.holder, ns.site, [ns.product], ns.lic_version,
                                                  ns.officer, reason=f"Granted {secret}")
    ns.application.staff_notes = f"staff notes {secret}"
    ns.application.save()
    ns.licence = ns.application.licence
    ns.certificate = services.current_certificate(ns.licence)
    ns.sanction = services.do_impose_sanction(licence=ns.licence, kind=Sanction.Kind.WARNING,
                                              starts_on=timezone.localdate(), reason=f"Warning {secret}",
                                              by=ns.officer)
    ns.appeal = services.do_lodge_appeal(decision=ns.decision, lodged_on=timezone.localdate(),
                                         grounds=f"Grounds {secret}")
