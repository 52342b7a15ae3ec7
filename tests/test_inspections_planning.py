"""Annual planning: regimes, qualifications, conflicts, workload balance, idempotency, constant queries."""

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification.access import has_object_grant
from certification.tenancy import tenant_scope
from inspections import services
from inspections.models import Visit
from licences.models import Licence

YEAR = 2031  # a full future year: every slot of the year is planned
TODAY = dt.date(2030, 12, 1)


@pytest.fixture
def a(world):
    with tenant_scope(world.a.body):
        yield world.a


def add_licences(a, n, regime=Licence.Regime.NORMAL, holder=None, prefix="L"):
    holder = holder or a.holder
    site = a.insp_site if holder == a.holder else holder.sites.first()
    return Licence.objects.bulk_create([
        Licence(body=a.body, holder=holder, site=site, mark=a.insp_licence.mark, regulation_version=a.insp_version,
                number=f"{prefix}-{i:05d}", state=Licence.State.ACTIVE, inspection_regime=regime)
        for i in range(n)
    ])


def plan(a, year=YEAR):
    return services.do_plan_year(body=a.body, year=year, today=TODAY)


# The other apps' worlds add licences of their own to the body (the licences world's granted licence, whose
# product category no inspector here is qualified for, and the sampling world's, whose regulation version
# plans no visits). The tests below are about the licences under the inspections world's regulation version:
# its licence and those added by add_licences.
def ours(a, year=YEAR):
    """This year's visits of the licences under the inspections world's regulation version."""
    return Visit.objects.filter(plan_year=year, licence__regulation_version=a.insp_version)


def created_for_ours(a, result):
    """The (visit, licence, inspector) rows of a plan result that belong to those licences."""
    ids = set(Licence.objects.filter(regulation_version=a.insp_version).values_list("pk", flat=True))
    return [row for row in result.created if row[1] in ids]


def test_visits_per_regime_kinds_and_unannounced_share(a):
    admission, = add_licences(a, 1, Licence.Regime.ADMISSION, prefix="ADM")
    reinforced, = add_licences(a, 1, Licence.Regime.REINFORCED, prefix="REI")
    result = plan(a)
    by_licence = Counter(Visit.objects.filter(plan_year=YEAR).values_list("licence_id", flat=True))
    assert by_licence[a.insp_licence.pk] == 2  # normal: 2 a year
    assert by_licence[admission.pk] == 4
    assert by_licence[reinforced.pk] == 6
    assert len(created_for_ours(a, result)) == 12
    assert len(result.created) == Visit.objects.filter(plan_year=YEAR).count()  # nothing was planned before
    kinds = Counter(Visit.objects.filter(licence=reinforced).values_list("kind", flat=True))
    assert kinds == {"reinforced": 3, "unannounced": 3}  # unannounced share 0.5
    assert Visit.objects.filter(licence=admission, plan_seq=1).get().kind == Visit.Kind.INITIAL
    assert not Visit.objects.filter(kind=Visit.Kind.UNANNOUNCED, announced=True).exists()
    days = sorted(Visit.objects.filter(licence=reinforced).values_list("planned_for", flat=True))
    assert all(d.year == YEAR and d.weekday() < 5 for d in days)
    assert days[-1] - days[0] > dt.timedelta(days=240)  # spread across the year


def test_part_year_licences_get_prorated_visits_within_their_days(a):
    new, expiring = add_licences(a, 2, prefix="PART")
    # Created 1 October: 2 visits × 92/365 = 0.50 → 1, in the last quarter.
    Licence.objects.filter(pk=new.pk).update(created_at=dt.datetime(YEAR, 10, 1, tzinfo=dt.UTC))
    # Expires 31 March: 2 × 90/365 = 0.49 → 1, in the first quarter.
    Licence.objects.filter(pk=expiring.pk).update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                                                  granted_on=dt.date(2020, 1, 1), expires_on=dt.date(YEAR, 3, 31))
    plan(a)
    new_days = list(Visit.objects.filter(licence=new).values_list("planned_for", flat=True))
    expiring_days = list(Visit.objects.filter(licence=expiring).values_list("planned_for", flat=True))
    assert len(new_days) == 1 and dt.date(YEAR, 10, 1) <= new_days[0] <= dt.date(YEAR, 12, 31)
    assert len(expiring_days) == 1 and dt.date(YEAR, 1, 1) <= expiring_days[0] <= dt.date(YEAR, 3, 31)
    assert ours(a).filter(licence=a.insp_licence).count() == 2  # the whole-year licence keeps its 2


def test_replanning_is_idempotent_and_tops_up_after_regime_change(a):
    first = plan(a)
    assert [licence for _, licence, _ in created_for_ours(a, first)] == [a.insp_licence.pk] * 2
    second = plan(a)
    assert second.created == [] and second.skipped_existing == len(first.created)  # every licence's slots
    Licence.objects.filter(pk=a.insp_licence.pk).update(inspection_regime=Licence.Regime.REINFORCED)
    third = plan(a)
    assert [licence for _, licence, _ in third.created] == [a.insp_licence.pk] * 4  # only its extra visits
    assert Visit.objects.filter(licence=a.insp_licence, plan_year=YEAR).count() == 6
    assert plan(a).created == []


def test_only_qualified_inspectors_without_conflict_are_given_visits(a):
    # inspector2's qualification has expired before the planned year: all visits go to inspector.
    q = a.insp_profiles[1].qualifications.get()
    q.valid_until = dt.date(2030, 6, 30)
    q.save()
    add_licences(a, 5)
    plan(a)
    inspectors = set(ours(a).values_list("inspector_id", flat=True))
    assert inspectors == {a.inspector.pk}
    # A conflict with holder2 excludes inspector: holder2's visits find no eligible inspector, stay planned.
    site2 = a.holder2.sites.create(body=a.body, name="Site two")
    assert site2.pk
    services.do_declare_conflict(profile=a.insp_profiles[0], holder=a.holder2, reason="Former employer",
                                 declared_on=dt.date(2020, 1, 1))
    add_licences(a, 2, holder=a.holder2, prefix="H2")
    result = plan(a)
    assert len(result.created) == 4 and result.unassigned == 4
    assert set(Visit.objects.filter(licence__holder=a.holder2).values_list("state", "inspector")) == {
        (Visit.State.PLANNED, None)}


def test_workload_is_balanced_and_grants_follow(a):
    add_licences(a, 19)
    plan(a)
    load = Counter(ours(a).values_list("inspector_id", flat=True))
    assert set(load) == {a.inspector.pk, a.inspector2.pk}
    assert abs(load[a.inspector.pk] - load[a.inspector2.pk]) <= 1
    visit = Visit.objects.filter(plan_year=YEAR, inspector=a.inspector2).first()
    assert visit.state == Visit.State.ASSIGNED
    assert has_object_grant(a.inspector2, "inspections.change_visit", visit)
    assert not has_object_grant(a.inspector, "inspections.change_visit", visit)


def _count_queries(a, year):
    with CaptureQueriesContext(connection) as ctx:
        result = plan(a, year)
    return len(ctx.captured_queries), len(created_for_ours(a, result))


def test_query_count_does_not_depend_on_the_number_of_licences(a):
    add_licences(a, 5, prefix="S")
    small_queries, small_created = _count_queries(a, YEAR)
    add_licences(a, 300, prefix="B")
    big_queries, big_created = _count_queries(a, YEAR + 1)
    assert small_created == 12 and big_created == 612
    assert small_queries == big_queries


def test_overdue_visits_are_flagged(a):
    plan(a)
    late = Visit.objects.filter(plan_year=YEAR).order_by("planned_for").first()
    flagged = services.do_flag_overdue_visits(body=a.body, today=late.planned_for + dt.timedelta(days=1))
    assert late.pk in flagged
    late.refresh_from_db()
    assert late.overdue
    assert a.insp_visit.pk not in flagged  # reviewed visits are never overdue


def test_qualification_and_conflict_dates_are_checked_on_the_visit_day(a):
    q = a.insp_profiles[1].qualifications.get()
    q.valid_until = dt.date(YEAR, 6, 30)  # inspector2 qualified only in the first half of the year
    q.save()
    services.do_declare_conflict(profile=a.insp_profiles[0], holder=a.holder, reason="Joins the holder's board",
                                 declared_on=dt.date(YEAR, 9, 1))  # inspector conflicted from September
    add_licences(a, 30)
    plan(a)
    visits = ours(a)
    assert not visits.filter(inspector=a.inspector2, planned_for__gt=dt.date(YEAR, 6, 30)).exists()
    assert not visits.filter(inspector=a.inspector, planned_for__gte=dt.date(YEAR, 9, 1)).exists()
    assert visits.filter(inspector=a.inspector2).exists() and visits.filter(inspector=a.inspector).exists()
    # From July to August only inspector is eligible; from September nobody: those stay unassigned.
    assert set(visits.filter(planned_for__gte=dt.date(YEAR, 9, 1)).values_list("inspector", flat=True)) == {None}
    summer = visits.filter(planned_for__range=(dt.date(YEAR, 7, 1), dt.date(YEAR, 8, 31)))
    assert summer.exists() and set(summer.values_list("inspector", flat=True)) == {a.inspector.pk}
