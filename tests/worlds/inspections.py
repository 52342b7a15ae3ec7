"""Adds inspections objects to the test world (body A's with secret markers), see tests/world.py.

Each body gets: a mark/regulation/version with a checklist (created here, namespaced ``insp_*`` so the
marks and licences worlds may add their own), a site and a licence of ``holder``, inspector profiles for
``inspector`` and ``inspector2`` (both qualified), and a visit assigned to ``inspector`` (guardian grant),
already reviewed with a report, a finding and a corrective action, so every face has something to show.
"""

import datetime as dt

from django.core.files.base import ContentFile
from django.utils import timezone

from inspections import services
from inspections.models import CorrectiveAction, Finding, Visit
from licences.models import Licence, Site
from marks.models import ChecklistItem, Mark, ProductCategory, Regulation, RegulationVersion


def extend(world, body_ns, secret):
    """Called for each body inside its tenant scope; add objects to body_ns."""
    ns, body = body_ns, body_ns.body
    mark, _ = Mark.objects.get_or_create(code="insp-benor", defaults={
        "name": "BENOR (inspections test)", "kind": Mark.Kind.QUALITY_MARK, "owner_organisation": "BENOR asbl"})
    category, _ = ProductCategory.objects.get_or_create(code="insp-asphalt", defaults={
        "name_en": "Asphalt mixtures", "name_fr": "Enrobés", "name_nl": "Asfaltmengsels"})
    regulation = Regulation.objects.create(body=body, code="INSP-TRA-11", title="Asphalt mixtures", mark=mark)
    regulation.categories.add(category)
    version = RegulationVersion.objects.create(
        body=body, regulation=regulation, version=1, status=RegulationVersion.Status.DRAFT,
        effective_date=dt.date(2024, 1, 1), visits_per_year_admission=4, visits_per_year_normal=2,
        visits_per_year_reinforced=6, unannounced_share="0.50")
    items = [ChecklistItem.objects.create(body=body, version=version, code=f"C{i}", text=text, order=i)
             for i, text in enumerate(["Factory production control manual up to date",
                                       "Calibration of the mixing plant", "Marking of deliveries"], start=1)]
    version.status = RegulationVersion.Status.PUBLISHED  # published once its checklist is complete
    version.published_at = timezone.now()
    version.save()
    site = Site.objects.create(body=body, holder=ns.holder, name="Plant Nord", address="Rue du Port 1")
    licence = Licence.objects.create(body=body, holder=ns.holder, site=site, mark=mark, regulation_version=version,
                                     number=f"{body.code.upper()}-INSP-001", state=Licence.State.ACTIVE,
                                     inspection_regime=Licence.Regime.NORMAL)
    profiles = []
    for user in (ns.inspector, ns.inspector2):
        profile = services.do_create_inspector_profile(body=body, user=user)
        services.do_add_qualification(profile=profile, category=category, valid_from=dt.date(2020, 1, 1))
        profiles.append(profile)
    visit = Visit.objects.create(body=body, licence=licence, site=site, kind=Visit.Kind.PERIODIC,
                                 planned_for=timezone.localdate(), state=Visit.State.PLANNED)
    visit = services.do_assign(visit=visit, inspector=ns.inspector)
    now = timezone.now()
    Visit.objects.filter(pk=visit.pk).update(
        state=Visit.State.REVIEWED, started_at=now, submitted_at=now, reviewed_at=now, report_issued_at=now,
        general_remarks=f"remarks {secret}", signed_by_name="J. Peeters", report_number=f"{body.code.upper()}-IR-1",
        comment_deadline=services.add_working_days(timezone.localdate(), 5))
    visit.refresh_from_db()
    visit.report_pdf.save(f"world-{body.code}.pdf", ContentFile(b"%PDF-1.4\n% world fixture\n"), save=True)
    finding = Finding.objects.create(body=body, visit=visit, checklist_item=items[1], severity=Finding.Severity.MAJOR,
                                     description=f"Calibration certificate expired {secret}",
                                     action_due=timezone.localdate() + dt.timedelta(days=30))
    action = CorrectiveAction.objects.create(body=body, finding=finding, description=f"Recalibrate {secret}",
                                             planned_by=timezone.localdate() + dt.timedelta(days=20),
                                             proposed_by=ns.holder_user)
    ns.insp_category, ns.insp_version, ns.insp_items, ns.insp_site = category, version, items, site
    ns.insp_licence, ns.insp_profiles, ns.insp_visit = licence, profiles, visit
    ns.insp_finding, ns.insp_action = finding, action
