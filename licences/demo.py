"""Demo data of licences/: two licence-holders with a portal manager each; the first one is walked from
application to a granted licence with a rendered certificate (and a second application left in review)."""

import datetime as dt

from django.utils import timezone

from licences import services
from licences.models import Decision, HolderMembership
from marks.models import Mandate, Mark, ProductCategory, Regulation, RegulationVersion, Requirement

HOLDERS = [
    ("Asfalt Vlaanderen NV", "BE0403170701", "Industrieweg 12, 9000 Gent", "manager@asfalt-vlaanderen.demo"),
    ("Granulats Wallons SA", "BE0202239951", "Rue de la Carrière 5, 5000 Namur", "manager@granulats-wallons.demo"),
]
LOGINS = [(manager, "Licence-holder portal (manager)") for *_, manager in HOLDERS]


def _published_versions(ctx):
    """Published regulation versions offered by the marks demo (any shape), if any."""
    found = ctx.get("regulations") or []
    if isinstance(found, dict):
        found = list(found.values())
    versions = []
    for item in found:
        if isinstance(item, RegulationVersion):
            versions.append(item)
        elif isinstance(item, Regulation):
            versions.extend(item.versions.filter(status=RegulationVersion.Status.PUBLISHED).order_by("-version")[:1])
    return [v for v in versions if v.status == RegulationVersion.Status.PUBLISHED]


def _benor_version(body, ctx, category):
    for version in _published_versions(ctx):
        if version.regulation.mark.code == "benor":
            return version
    mark = Mark.objects.get(code="benor")
    regulation = Regulation.objects.create(body=body, code="TRA 11", title="Bituminous mixtures (demo)", mark=mark,
                                           sector_committee="Sector committee for bituminous mixtures")
    regulation.categories.add(category)
    version = RegulationVersion.objects.create(
        body=body, regulation=regulation, version=1, status=RegulationVersion.Status.DRAFT,
        effective_date=dt.date(2025, 1, 1), visits_per_year_admission=4, visits_per_year_normal=2,
        visits_per_year_reinforced=6, samples_per_year=2)
    for order, (code, name, unit, low, high) in enumerate([
            ("void-content", "Void content", "%", 3, 6), ("binder-content", "Soluble binder content", "%", 4.4, 5.6)]):
        Requirement.objects.create(body=body, version=version, property_code=code, property_name=name, unit=unit,
                                   lower_limit=low, upper_limit=high, self_monitoring_every=500,
                                   self_monitoring_basis=Requirement.FrequencyBasis.TONNES, order=order)
    version.status = RegulationVersion.Status.PUBLISHED  # published once its requirements are in
    version.published_at = timezone.now()
    version.save()
    return version


def _category(body):
    mandate = Mandate.objects.filter(body=body, mark__code="benor").first()
    category = mandate.categories.order_by("code").first() if mandate else None
    return category or ProductCategory.objects.order_by("code").first()


def build(body, ctx):
    ctx["holders"] = []
    for name, number, address, manager in HOLDERS:
        holder = services.do_register_holder(body=body, name=name, company_number=number, address=address,
                                             email=manager)
        services.do_add_holder_user(holder=holder, email=manager, role=HolderMembership.Role.MANAGER,
                                    password=ctx["password"])
        ctx["holders"].append(holder)

    staff = ctx.get("staff", {})
    officer = staff.get("officer@copro.demo") or ctx["admin"]
    applicant = ctx["holders"][0]
    manager = applicant.memberships.get().user
    category = _category(body)
    if category is None or not Mark.objects.filter(code="benor").exists():
        return  # reference data not loaded: nothing to certify
    version = _benor_version(body, ctx, category)
    site = services.do_add_site(holder=applicant, name="Gent asphalt plant", address="Haven 4000, 9000 Gent")
    surf = services.do_add_product(holder=applicant, site=site, category=category, commercial_name="AV-Surf AC 10",
                                   technical_description="Asphalt concrete for surface courses, 10 mm.",
                                   declared_characteristics={"Void content": "3–6 %", "Binder": "50/70"},
                                   quick_code="10100010")
    base = services.do_add_product(holder=applicant, site=site, category=category, commercial_name="AV-Base AC 20",
                                   technical_description="Asphalt concrete for base courses, 20 mm.",
                                   declared_characteristics={"Void content": "4–8 %"}, quick_code="10100020")
    now = timezone.now()
    application = services.do_create_application(holder=applicant, site=site, mark=version.regulation.mark,
                                                  regulation_version=version, products=[surf], by=manager)
    services.do_submit_application(application=application)
    services.do_send_information_pack(application=application)
    services.do_confirm_application(application=application, by=manager, electronic=True)
    services.do_start_review(application=application)
    application = services.do_admit(application=application, by=officer, effective_from=now - dt.timedelta(days=120),
                                    reason="Application complete; admission period with initial inspection")
    services.do_take_decision(licence=application.licence, kind=Decision.Kind.GRANT, by=officer,
                              reason="Initial inspection and type testing conclusive", valid_years=3,
                              effective_from=now - dt.timedelta(days=30))
    certificate = services.current_certificate(application.licence)
    services.do_render_certificate(certificate_id=certificate.pk)
    ctx["licences"] = [application.licence]
    ctx["certificates"] = [certificate]

    # a second application, waiting for the applicant's signed form
    second = services.do_create_application(holder=applicant, site=site, mark=version.regulation.mark,
                                            regulation_version=version, products=[base], by=manager)
    services.do_submit_application(application=second)
    ctx["applications"] = [application, second]
