"""Regulation versioning rules, mandates, the version a licence follows, and inspection plans."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from certification import services as body_services
from certification.models import AuditEvent
from certification.tenancy import scopes_disabled, tenant_scope
from licences.models import Licence, LicenceHolder, Site
from licences.services import do_register_holder
from marks import catalogue, selectors, services
from marks.models import (
    ChecklistItem,
    Mandate,
    Mark,
    ProductCategory,
    PublishedVersionImmutable,
    ReferenceDocument,
    RegulationVersion,
    Requirement,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def body():
    with scopes_disabled("test"):
        catalogue.ensure_reference_data()
    body = body_services.do_create_body(code="copro", name="COPRO")
    with tenant_scope(body):
        for code in ("copro", "benor"):
            mandate = Mandate.objects.create(body=body, mark=Mark.objects.get(code=code), granted_by="owner",
                                             valid_from=date(2020, 1, 1))
            mandate.categories.set(ProductCategory.objects.filter(code__in=["asphalt-mixtures", "recycled-aggregate"]))
        yield body


@pytest.fixture
def built(body):
    return catalogue.build_regulations(body)


def make_licence(body, version, regime="normal", number="L-1"):
    holder = LicenceHolder.objects.filter(company_number="BE0403170701").first() or do_register_holder(
        body=body, name="Asfalt NV", company_number="BE0403170701")
    site = Site.objects.filter(holder=holder).first() or Site.objects.create(body=body, holder=holder, name="Gent plant")
    return Licence.objects.create(body=body, holder=holder, site=site, mark=version.regulation.mark,
                                  regulation_version=version, number=number, inspection_regime=regime,
                                  granted_on=date(2020, 1, 1))  # in force for every year the tests plan


def publish(version, effective, transition=None):
    version.refresh_from_db()
    return services.do_publish_version(version=version, expected_row_version=version.row_version,
                                       effective_date=effective, transition_end=transition)


# --- fixtures loaded through the services --------------------------------------------------------------

def test_demo_regulations_are_published_with_history(built):
    asphalt_v1, asphalt_v2 = built["TRA 11"]
    asphalt_v1.refresh_from_db()
    assert asphalt_v1.status == RegulationVersion.Status.SUPERSEDED
    assert asphalt_v2.status == RegulationVersion.Status.PUBLISHED
    assert asphalt_v2.previous == asphalt_v1
    assert asphalt_v2.requirements.count() == 7 and asphalt_v1.requirements.count() == 6
    binder = asphalt_v2.requirements.get(property_code="binder-content")
    assert binder.conformity_rule == "en13108_21" and binder.lower_limit == Decimal("5.2")
    assert binder.test_method.code == "EN 12697-1:2020"
    (recycled,) = built["TRA 406"]
    la = recycled.requirements.get(property_code="la-coefficient")
    assert la.upper_limit == 40 and la.conformity_rule == "individual"
    assert recycled.checklist.count() == 6
    actions = set(AuditEvent.objects.filter(body=asphalt_v2.body).values_list("action", flat=True))
    assert {"regulation.created", "regulation.draft_edited", "regulation.requirements_imported",
            "regulation.version_published", "regulation.version_superseded", "regulation.version_drafted"} <= actions


# --- drafting, one draft, publishing, superseding -------------------------------------------------------

def test_new_draft_copies_everything_from_the_latest_published(built):
    current = built["TRA 11"][-1]
    draft = services.do_draft_version(regulation=current.regulation, changes_summary="v3")
    assert draft.version == 3 and draft.status == "draft" and draft.previous == current
    assert draft.visits_per_year_normal == current.visits_per_year_normal == Decimal("5")
    assert draft.samples_per_year == current.samples_per_year
    assert draft.unannounced_share == current.unannounced_share
    assert set(draft.reference_documents.all()) == set(current.reference_documents.all())
    fields = ["property_code", "property_name", "test_method_id", "lower_limit", "upper_limit", "conformity_rule",
              "self_monitoring_every", "self_monitoring_basis", "sampled_externally"]
    assert list(draft.requirements.values_list(*fields)) == list(current.requirements.values_list(*fields))
    assert list(draft.checklist.values_list("code", "text")) == list(current.checklist.values_list("code", "text"))
    # copies, not shared rows
    assert not set(draft.requirements.values_list("pk", flat=True)) & set(current.requirements.values_list("pk", flat=True))


def test_only_one_draft_per_regulation(built):
    regulation = built["TRA 11"][-1].regulation
    services.do_draft_version(regulation=regulation)
    with pytest.raises(services.VersioningError):
        services.do_draft_version(regulation=regulation)
    # and the database refuses it too
    with pytest.raises(IntegrityError), transaction.atomic():
        RegulationVersion.objects.create(body=regulation.body, regulation=regulation, version=99)


def test_publish_supersedes_the_previous_and_records_who_and_when(built, body):
    current = built["TRA 11"][-1]
    draft = services.do_draft_version(regulation=current.regulation)
    published = publish(draft, date(2027, 1, 1), date(2027, 6, 30))
    current.refresh_from_db()
    assert published.status == "published" and published.published_at is not None
    assert published.effective_date == date(2027, 1, 1) and published.transition_end == date(2027, 6, 30)
    assert current.status == "superseded"
    assert RegulationVersion.objects.filter(regulation=current.regulation, status="published").count() == 1
    event = AuditEvent.objects.filter(action="regulation.version_published", object_id=str(published.pk)).get()
    assert event.before["status"] == "draft" and event.after["status"] == "published"


def test_publish_refuses_bad_dates_and_empty_versions(built):
    current = built["TRA 11"][-1]
    draft = services.do_draft_version(regulation=current.regulation)
    with pytest.raises(ValidationError) as exc:
        publish(draft, date(2027, 1, 1), date(2026, 12, 31))
    assert "transition_end" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        publish(draft, current.effective_date)  # not after the version in force
    assert "effective_date" in exc.value.error_dict
    services.do_replace_requirements(version=draft, expected_row_version=draft.row_version, rows=[])
    with pytest.raises(services.VersioningError):
        publish(draft, date(2027, 1, 1))
    draft.refresh_from_db()
    assert draft.status == "draft"


# --- immutability ---------------------------------------------------------------------------------------

def test_published_version_is_immutable_in_the_service_layer(built):
    published = built["TRA 406"][0]
    with pytest.raises(PublishedVersionImmutable):
        services.do_edit_draft(version=published, expected_row_version=published.row_version,
                               header={"samples_per_year": 12})
    with pytest.raises(PublishedVersionImmutable):
        services.do_replace_requirements(version=published, expected_row_version=published.row_version, rows=[])
    with pytest.raises(PublishedVersionImmutable):
        publish(published, date(2030, 1, 1))
    published.refresh_from_db()
    assert published.samples_per_year == 2 and published.requirements.count() == 6


def test_published_version_is_immutable_in_the_database(built):
    """Writes that bypass the models (queryset update/delete, bulk create, raw SQL) are refused by triggers."""
    published = built["TRA 406"][0]
    draft = services.do_draft_version(regulation=published.regulation)
    refused = [
        lambda: RegulationVersion.objects.filter(pk=published.pk).update(samples_per_year=12),
        lambda: RegulationVersion.objects.filter(pk=published.pk).update(status=RegulationVersion.Status.DRAFT),
        lambda: Requirement.objects.filter(version=published).update(upper_limit=99),
        lambda: Requirement.objects.filter(version=published).delete(),
        lambda: Requirement.objects.bulk_create([Requirement(body=published.body, version=published,
                                                             property_code="x", property_name="x")]),
        lambda: ChecklistItem.objects.filter(version=published).update(text="changed"),
        lambda: RegulationVersion.reference_documents.through.objects.filter(regulationversion=published).delete(),
    ]
    for write in refused:
        with pytest.raises(DatabaseError, match="regulation version"), transaction.atomic():
            write()
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM marks_regulationversion WHERE id = %s", [published.pk])
    published.refresh_from_db()
    assert published.samples_per_year == 2 and published.requirements.count() == 6
    # The draft stays editable by the same means, and publishing supersedes the old version.
    assert Requirement.objects.filter(version=draft).update(upper_limit=99) == draft.requirements.count()
    assert RegulationVersion.objects.filter(pk=draft.pk).update(samples_per_year=3) == 1
    draft.refresh_from_db()
    publish(draft, date(2030, 1, 1))
    assert RegulationVersion.objects.get(pk=published.pk).status == RegulationVersion.Status.SUPERSEDED


def test_published_version_is_immutable_in_the_model_layer(built):
    published = built["TRA 406"][0]
    published.samples_per_year = 12
    with pytest.raises(PublishedVersionImmutable):
        published.save()
    published.refresh_from_db()
    published.status = RegulationVersion.Status.DRAFT
    with pytest.raises(PublishedVersionImmutable):
        published.save()
    published.refresh_from_db()
    requirement = published.requirements.first()
    requirement.upper_limit = 99
    with pytest.raises(PublishedVersionImmutable):
        requirement.save()
    with pytest.raises(PublishedVersionImmutable):
        requirement.delete()
    with pytest.raises(PublishedVersionImmutable):
        Requirement.objects.create(body=published.body, version=published, property_code="x", property_name="x")
    item = published.checklist.first()
    item.text = "changed"
    with pytest.raises(PublishedVersionImmutable):
        item.save()
    with pytest.raises(PublishedVersionImmutable):
        ChecklistItem.objects.create(body=published.body, version=published, code="NEW", text="new")
    with pytest.raises(PublishedVersionImmutable), transaction.atomic():
        published.reference_documents.clear()
    with pytest.raises(PublishedVersionImmutable), transaction.atomic():
        published.reference_documents.add(ReferenceDocument.objects.get(code="SB 250 v4.1"))
    with pytest.raises(PublishedVersionImmutable):
        published.delete()
    # moving a draft's requirement into a published version is refused too
    draft = services.do_draft_version(regulation=published.regulation)
    moved = draft.requirements.first()
    moved.version = published
    with pytest.raises(PublishedVersionImmutable):
        moved.save()
    published.refresh_from_db()
    assert published.samples_per_year == 2 and published.requirements.count() == 6
    assert published.reference_documents.count() == 6


# --- editing a draft: optimistic concurrency ------------------------------------------------------------

def test_edit_draft_crud_and_stale_edit_refused(built):
    regulation = built["TRA 406"][0].regulation
    draft = services.do_draft_version(regulation=regulation)
    loaded_by_alice = draft.row_version
    loaded_by_bob = draft.row_version
    fines = draft.requirements.get(property_code="fines-content")
    la = draft.requirements.get(property_code="la-coefficient")
    services.do_edit_draft(
        version=draft, expected_row_version=loaded_by_alice, header={"visits_per_year_normal": Decimal("3")},
        requirements=services.RowChanges(
            create=[{"property_code": "water-absorption", "property_name": "Water absorption", "unit": "%",
                     "upper_limit": Decimal("10"), "order": 70}],
            update={fines.pk: {"upper_limit": Decimal("5")}}, delete=[la.pk]),
        checklist=services.RowChanges(create=[{"code": "ENV-1", "text": "Dust control in place."}]),
    )
    draft.refresh_from_db()
    assert draft.row_version == loaded_by_alice + 1 and draft.visits_per_year_normal == 3
    codes = set(draft.requirements.values_list("property_code", flat=True))
    assert "water-absorption" in codes and "la-coefficient" not in codes
    assert draft.requirements.get(property_code="fines-content").upper_limit == 5
    assert draft.checklist.filter(code="ENV-1").exists()
    # Bob loaded the same draft before Alice saved: his edit is refused and changes nothing.
    with pytest.raises(services.StaleEdit):
        services.do_edit_draft(version=draft, expected_row_version=loaded_by_bob,
                               requirements=services.RowChanges(update={fines.pk: {"upper_limit": Decimal("9")}}))
    assert draft.requirements.get(property_code="fines-content").upper_limit == 5
    with pytest.raises(services.StaleEdit):
        services.do_replace_requirements(version=draft, expected_row_version=loaded_by_bob, rows=[])
    assert draft.requirements.count() == 6


def test_edit_draft_refuses_rows_of_another_version(built):
    regulation = built["TRA 406"][0].regulation
    draft = services.do_draft_version(regulation=regulation)
    foreign = built["TRA 11"][-1].requirements.first()
    with pytest.raises(ValidationError):
        services.do_edit_draft(version=draft, expected_row_version=draft.row_version,
                               requirements=services.RowChanges(update={foreign.pk: {"upper_limit": 1}}))
    with pytest.raises(ValidationError):
        services.do_edit_draft(version=draft, expected_row_version=draft.row_version,
                               requirements=services.RowChanges(delete=[foreign.pk]))


# --- mandates -------------------------------------------------------------------------------------------

def test_mandate_rule(body):
    copro = Mark.objects.get(code="copro")
    atg = Mark.objects.get(code="atg")
    asphalt = ProductCategory.objects.get(code="asphalt-mixtures")
    geotextiles = ProductCategory.objects.get(code="geotextiles")
    services.ensure_mandate(body, copro, asphalt)
    with pytest.raises(services.MandateError):
        services.ensure_mandate(body, copro, geotextiles)
    with pytest.raises(services.MandateError):
        services.ensure_mandate(body, atg, asphalt)  # no ATG mandate at all
    with pytest.raises(services.MandateError):
        services.ensure_mandate(body, copro, asphalt, on_date=date(2019, 12, 31))  # before the mandate
    with pytest.raises(services.MandateError):
        services.do_create_regulation(body=body, code="TRA X", title="Geotextiles", mark=copro,
                                      categories=[geotextiles])
    assert not selectors.regulations_for_staff().filter(code="TRA X").exists()
    regulation = services.do_create_regulation(body=body, code="TRA Y", title="Asphalt", mark=copro,
                                               categories=[asphalt])
    assert regulation.versions.get().status == "draft"


# --- which version applies ------------------------------------------------------------------------------

def test_applicable_version_follows_effective_dates(built):
    v1, v2 = built["TRA 11"]
    regulation = v1.regulation
    assert selectors.applicable_version(regulation, date(2022, 12, 31)) is None
    assert selectors.applicable_version(regulation, date(2023, 1, 1)) == v1
    assert selectors.applicable_version(regulation, date(2025, 6, 30)) == v1
    assert selectors.applicable_version(regulation, date(2025, 7, 1)) == v2
    services.do_draft_version(regulation=regulation)  # a draft never applies
    assert selectors.applicable_version(regulation, date(2030, 1, 1)) == v2


def test_licence_keeps_its_version_until_the_transition_ends(built, body):
    v1, v2 = built["TRA 11"]  # v2: effective 2025-07-01, transition ends 2025-12-31
    licence = make_licence(body, v1)
    assert selectors.version_for_licence(licence, date(2025, 6, 30)) == v1
    assert selectors.version_for_licence(licence, date(2025, 7, 1)) == v1  # in transition
    assert selectors.version_for_licence(licence, date(2025, 12, 31)) == v1  # last day of transition
    assert selectors.version_for_licence(licence, date(2026, 1, 1)) == v2
    # a licence granted under v2 stays on v2 before and after
    licence2 = make_licence(body, v2, number="L-2")
    assert selectors.version_for_licence(licence2, date(2026, 1, 1)) == v2
    # a v3 without transition applies from its effective date on
    v3 = publish(services.do_draft_version(regulation=v1.regulation), date(2027, 1, 1))
    assert selectors.version_for_licence(licence, date(2026, 12, 31)) == v2
    assert selectors.version_for_licence(licence, date(2027, 1, 1)) == v3


# --- inspection plan ------------------------------------------------------------------------------------

def test_inspection_plan_prorates_a_licence_in_force_for_part_of_the_year(built, body):
    v2 = built["TRA 11"][-1]  # normal regime: 5 visits and 4 samples a year
    licence = make_licence(body, v2, regime="normal")
    # Granted 1 October 2026 (a new licence): 92 of 365 days → 5 × 92/365 = 1.26 → 2 visits; 4 × 92/365 = 1.01 → 2.
    Licence.objects.filter(pk=licence.pk).update(granted_on=date(2026, 10, 1), created_at=datetime(2026, 10, 1,
                                                                                                     tzinfo=UTC))
    licence.refresh_from_db()
    plan = selectors.inspection_plan(licence, 2026)
    assert plan.share == Decimal(92) / Decimal(365)
    assert (plan.visits, plan.samples) == (2, 2)
    assert selectors.inspection_plan(licence, 2027).visits == 5  # the next year is a whole one
    assert selectors.inspection_plan(licence, 2025).visits == 0  # not in force yet
    # Expiring on 31 January 2027: 31 days → 5 × 31/365 = 0.42 → 1 visit, 4 × 31/365 = 0.34 → 1 sample.
    Licence.objects.filter(pk=licence.pk).update(expires_on=date(2027, 1, 31))
    licence.refresh_from_db()
    plan = selectors.inspection_plan(licence, 2027)
    assert (plan.visits, plan.samples) == (1, 1)
    assert selectors.inspection_plan(licence, 2028).visits == 0


@pytest.mark.parametrize("regime, visits, unannounced", [
    ("admission", 6, 2),  # 6 × 0.25 = 1.5 → 2
    ("normal", 5, 1),  # 5 × 0.25 = 1.25 → 1
    ("reinforced", 8, 2),
])
def test_inspection_plan_per_regime(built, body, regime, visits, unannounced):
    v2 = built["TRA 11"][-1]
    licence = make_licence(body, v2, regime=regime)
    plan = selectors.inspection_plan(licence, 2026)
    assert plan.version == v2 and plan.regime == regime
    assert (plan.visits, plan.unannounced, plan.announced) == (visits, unannounced, visits - unannounced)
    assert plan.samples == 4
    assert [r.property_code for r in plan.sampled_properties] == [
        "binder-content", "passing-14mm", "passing-2mm", "passing-0063mm", "void-content"]
    assert [c.code for c in plan.checklist] == ["FPC-1", "FPC-2", "PLANT-1", "PLANT-2", "SM-1", "SM-2", "DEL-1",
                                                "DEL-2", "LAB-1"]
    assert plan.as_dict()["visits"] == visits


def test_inspection_plan_follows_the_transition_and_rounds_fractions_up(built, body):
    v1, v2 = built["TRA 11"]
    licence = make_licence(body, v1, regime="normal")
    plan_2025 = selectors.inspection_plan(licence, 2025)  # 1 January 2025: v1, 4 visits
    assert plan_2025.version == v1 and plan_2025.visits == 4 and plan_2025.unannounced == 1
    assert "DEL-2" not in [c.code for c in plan_2025.checklist]
    plan_2026 = selectors.inspection_plan(licence, 2026, on_date=date(2026, 1, 1))
    assert plan_2026.version == v2 and plan_2026.visits == 5
    recycled = built["TRA 406"][0]
    draft = services.do_draft_version(regulation=recycled.regulation)
    services.do_edit_draft(version=draft, expected_row_version=draft.row_version,
                           header={"visits_per_year_normal": Decimal("1.5"), "unannounced_share": Decimal("0")})
    v2r = publish(draft, date(2026, 3, 1))
    plan = selectors.inspection_plan(make_licence(body, v2r, number="L-9"), 2026)
    assert plan.visits_per_year == Decimal("1.5") and plan.visits == 2 and plan.unannounced == 0
    assert plan.samples == 2
    assert {r.property_code for r in plan.sampled_properties} == {
        "passing-315mm", "passing-2mm", "fines-content", "la-coefficient", "acid-soluble-sulphate"}
