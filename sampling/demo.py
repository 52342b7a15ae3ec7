"""Demo data of sampling/: a recognised laboratory with a user, and one sample that goes from a visit
to a lab result to a conformity outcome (creating the regulation, product, licence and visit it needs
when the other apps' demo data does not provide them)."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from certification.audit import acting_as
from licences.models import Licence, Product, Site
from marks.models import Mark, ProductCategory, ReferenceDocument, Regulation, RegulationVersion, Requirement
from sampling import services
from sampling.services import do_add_lab_user, do_recognise_laboratory

LOGINS = [("lab@roadlab.demo", "Laboratory")]


def reference_data():
    mark, _ = Mark.objects.get_or_create(code="benor", defaults={
        "name": "BENOR", "kind": Mark.Kind.QUALITY_MARK, "owner_organisation": "BENOR asbl"})
    category, _ = ProductCategory.objects.get_or_create(code="bituminous-mixtures", defaults={
        "name_en": "Bituminous mixtures", "name_fr": "Mélanges bitumineux", "name_nl": "Bitumineuze mengsels"})
    binder_method, _ = ReferenceDocument.objects.get_or_create(
        code="EN 12697-1", defaults={"title": "Bituminous mixtures — Test methods — Part 1: Soluble binder content"})
    strength_method, _ = ReferenceDocument.objects.get_or_create(
        code="EN 12390-3", defaults={"title": "Testing hardened concrete — Part 3: Compressive strength"})
    return SimpleNamespace(mark=mark, category=category, binder_method=binder_method,
                           strength_method=strength_method)


def build_regulation(body, ref, code="TRA 11 (sampling demo)", escalate_at_c=False):
    regulation = Regulation.objects.create(body=body, code=code, title="Bituminous mixtures", mark=ref.mark)
    regulation.categories.set([ref.category])
    # Built as a draft, then published: a published version's requirements cannot change.
    version = RegulationVersion.objects.create(
        body=body, regulation=regulation, version=1, status=RegulationVersion.Status.DRAFT,
        effective_date=date(2024, 1, 1), samples_per_year=2)
    binder = Requirement.objects.create(
        body=body, version=version, property_code="binder-content", property_name="Soluble binder content",
        test_method=ref.binder_method, unit="%", lower_limit=Decimal("4.5"), upper_limit=Decimal("5.5"),
        declared_tolerance=Decimal("0.3"), conformity_rule=Requirement.ConformityRule.EN_13108_21,
        self_monitoring_every=Decimal("500"), self_monitoring_basis=Requirement.FrequencyBasis.TONNES,
        sampled_externally=True, order=1,
        # EN 13108-21 Annex A values as TRA 11 carries them (see docs/sampling.md: to be checked)
        ocl_limit_a=Decimal("0.25"), ocl_limit_b=Decimal("0.35"), ocl_tonnes_a="600/1000/2000",
        ocl_tonnes_b="300/500/1000", ocl_tonnes_c="150/250/500", ocl_start_level="C", ocl_escalate_at_c=escalate_at_c)
    strength = Requirement.objects.create(
        body=body, version=version, property_code="compressive-strength", property_name="Compressive strength",
        test_method=ref.strength_method, unit="MPa", lower_limit=Decimal("30"),
        conformity_rule=Requirement.ConformityRule.EN_206, self_monitoring_every=Decimal("1"),
        self_monitoring_basis=Requirement.FrequencyBasis.WEEKS, order=2)
    version.status = RegulationVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save()
    return SimpleNamespace(regulation=regulation, version=version, binder=binder, strength=strength)


def build_licence(body, holder, ref, version, *, number, quick_code, secret=""):
    site = Site.objects.create(body=body, holder=holder, name=f"Plant {number}")
    product = Product.objects.create(
        body=body, holder=holder, site=site, category=ref.category, commercial_name=f"AC 14 surf {number}",
        declared_characteristics={"binder-content": "5.0"}, quick_code=quick_code,
        technical_description=secret)
    licence = Licence.objects.create(
        body=body, holder=holder, site=site, mark=ref.mark, regulation_version=version, number=number,
        state=Licence.State.ACTIVE, inspection_regime=Licence.Regime.NORMAL, granted_on=date(2024, 3, 1))
    licence.products.set([product])
    return SimpleNamespace(site=site, product=product, licence=licence)


def build_sample_chain(body, *, holder, inspector, laboratory, lab_user, regulation, licensed, secret="",
                       lab_value=Decimal("5.62")):
    """Visit → sample → dispatched → received → tested → reported → conformity outcomes."""
    from inspections.models import Visit

    today = timezone.localdate()
    product = licensed.product
    # The holder's own results around the production date (all close to the declared 5.0 %).
    for offset, value in enumerate(["5.02", "4.96", "5.05", "4.98", "5.01", "5.03"]):
        services.do_record_self_monitoring(
            holder=holder, product=product, property_code="binder-content", tested_on=today - timedelta(days=offset),
            value=Decimal(value), unit="%", batch=f"B{offset:03d}-{secret}"[:60], tonnage=Decimal("480"), by=None)
    visit = Visit.objects.create(body=body, licence=licensed.licence, site=licensed.site,
                                 kind=Visit.Kind.PERIODIC, state=Visit.State.IN_PROGRESS, planned_for=today,
                                 inspector=inspector)
    with acting_as(inspector):
        sample = services.do_take_sample(
            visit=visit, product=product, by=inspector, seal_number=f"SEAL-{secret or '0001'}", quantity="2 × 10 kg",
            production_date=today, batch="B000", requirements=[regulation.binder],
            inspector_notes=f"Taken at the silo. {secret}".strip())
        sample = services.do_dispatch_sample(sample=sample, laboratory=laboratory, by=inspector)
    with acting_as(lab_user):
        sample = services.do_receive_sample(sample=sample, by=lab_user)
        result = services.do_record_lab_result(sample=sample, requirement=regulation.binder, value=lab_value,
                                               unit="%", uncertainty=Decimal("0.10"), tested_on=today, by=lab_user)
        sample, outcomes = services.do_report_sample(sample=sample, by=lab_user)
    return SimpleNamespace(visit=visit, sample=sample, result=result, outcomes=outcomes)


def build(body, ctx):
    ref = reference_data()
    lab = do_recognise_laboratory(body=body, name="Road Materials Lab (demo)",
                                  accreditation="BELAC 123-TEST (ISO/IEC 17025)",
                                  test_methods=[ref.binder_method, ref.strength_method])
    lab_user = do_add_lab_user(laboratory=lab, email="lab@roadlab.demo", password=ctx["password"]).user
    ctx["laboratory"] = lab
    holders = ctx.get("holders") or []
    if not holders:
        from licences.services import do_register_holder

        holders = [do_register_holder(body=body, name="Asfalt Demo NV", company_number="BE0403170701")]
    holder = holders[0]
    regulation = build_regulation(body, ref)
    licensed = build_licence(body, holder, ref, regulation.version, number="SAMPLING-DEMO-001", quick_code="90000001")
    inspector = (ctx.get("staff") or {}).get("inspector@copro.demo") or ctx["admin"]
    # A history of the holder's own binder-content results before the sample (EN 13108-21 needs 32):
    # deviations from the declared 5.0 % cycle through +0.30 −0.30 +0.35 −0.25 +0.30 −0.40.
    today = timezone.localdate()
    cycle = ["0.30", "-0.30", "0.35", "-0.25", "0.30", "-0.40"]
    for i in range(30):
        services.do_record_self_monitoring(
            holder=holder, product=licensed.product, property_code="binder-content",
            tested_on=today - timedelta(days=6 + i), value=Decimal("5.0") + Decimal(cycle[i % 6]), unit="%",
            batch=f"H{i:03d}", tonnage=Decimal("300"), by=None)
    chain = build_sample_chain(body, holder=holder, inspector=inspector, laboratory=lab, lab_user=lab_user,
                               regulation=regulation, licensed=licensed)
    # last 32 = the chain's 6 (|d| .02+.04+.05+.02+.01+.03 = .17) + 26 of the history (4 cycles × 1.9 = 7.6,
    # then .30 + .30 = .60): Σ|d| = 8.37, mean 0.2616 → OCL B (0.25 < 0.2616 ≤ 0.35): 1 test per 300 t (level X)
    ocl = services.do_evaluate_self_monitoring(product=licensed.product, requirement=regulation.binder)
    ctx["sampling"] = SimpleNamespace(regulation=regulation, licensed=licensed, chain=chain, ocl=ocl)
