"""Annual visit planning, in bulk with a constant number of queries (whatever the number of licences).

For each licence in force (admission, active, suspended), its regulation version gives the number of
visits a year for its inspection regime (admission / normal / reinforced). The plan for a year is a
set of slots ``(licence, plan_year, plan_seq)``, unique in the database: re-planning creates only the
slots that do not exist yet (a licence moved to the reinforced regime gets its extra visits, nothing is
duplicated). Slots are spread across the year (weekdays only), a share of them unannounced, and each is
given to the least-loaded inspector qualified for all the licence's product categories on that day and
without a declared conflict with the holder; an inspector gets the guardian object grants in the same
statement. Slots with no eligible inspector stay *planned* (unassigned) for the planner to handle.
"""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from certification.models import Role
from inspections.models import ConflictOfInterest, Qualification, Visit, VisitUserObjectPermission
from licences.models import Licence
from marks.models import Regulation, RegulationVersion
from marks.selectors import in_force_between, prorated, share_of_year

PLANNED_LICENCE_STATES = [Licence.State.ADMISSION, Licence.State.ACTIVE, Licence.State.SUSPENDED]
VISIT_PERMS = ("view_visit", "change_visit")


@dataclass
class PlanResult:
    year: int
    created: list = field(default_factory=list)  # (visit id, licence id, inspector id or None)
    skipped_existing: int = 0

    @property
    def unassigned(self):
        return sum(1 for _, _, inspector in self.created if inspector is None)


def visits_in_year(frequency: Decimal, year: int, licence_id: int) -> int:
    """Whole visits for this year; a fractional frequency (0.5 a year) alternates over the years."""
    whole = int(frequency)
    fraction = frequency - whole
    if fraction <= 0:
        return whole
    k = year + licence_id
    return whole + (1 if math.floor((k + 1) * fraction) - math.floor(k * fraction) >= 1 else 0)


def _weekday(day, start, end):
    if day.weekday() == 5:
        day += dt.timedelta(days=2)
    elif day.weekday() == 6:
        day += dt.timedelta(days=1)
    while day > end or day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return max(day, start) if start.weekday() < 5 else day


def slot_date(start, end, n, seq, licence_id):
    window = (end - start).days + 1
    width = max(1, window // n)
    offset = (licence_id * 7919) % width
    return _weekday(start + dt.timedelta(days=(seq - 1) * width + offset), start, end)


def _frequency(version, regime):
    return {
        Licence.Regime.ADMISSION: version["visits_per_year_admission"],
        Licence.Regime.REINFORCED: version["visits_per_year_reinforced"],
    }.get(regime, version["visits_per_year_normal"])


def plan(body, year, today=None):
    today = today or timezone.localdate()
    start = max(dt.date(year, 1, 1), today)
    end = dt.date(year, 12, 31)
    result = PlanResult(year=year)
    if start > end:
        return result

    licences_qs = Licence.objects.filter(body=body, state__in=PLANNED_LICENCE_STATES)
    licences = list(licences_qs.values_list("id", "holder_id", "site_id", "inspection_regime",
                                            "regulation_version_id", "created_at", "granted_on", "expires_on"))
    if not licences:
        return result
    versions = {
        v["id"]: v for v in RegulationVersion.objects.filter(
            pk__in=licences_qs.values("regulation_version_id")).values(
            "id", "regulation_id", "visits_per_year_admission", "visits_per_year_normal",
            "visits_per_year_reinforced", "unannounced_share")
    }
    product_categories = defaultdict(set)
    for licence_id, category_id in Licence.products.through.objects.filter(
            licence__body=body, licence__state__in=PLANNED_LICENCE_STATES).values_list(
            "licence_id", "product__category_id"):
        product_categories[licence_id].add(category_id)
    regulation_categories = defaultdict(set)
    for regulation_id, category_id in Regulation.categories.through.objects.filter(
            regulation__body=body).values_list("regulation_id", "productcategory_id"):
        regulation_categories[regulation_id].add(category_id)

    qualifications = defaultdict(list)  # user id -> [(category, from, until)]
    for user_id, category_id, valid_from, valid_until in Qualification.objects.filter(
            body=body, profile__is_active=True, valid_from__lte=end,
            profile__user__memberships__body=body, profile__user__memberships__role=Role.INSPECTOR,
            profile__user__memberships__is_active=True,
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=start)).values_list(
            "profile__user_id", "category_id", "valid_from", "valid_until"):
        qualifications[user_id].append((category_id, valid_from, valid_until))
    conflicts = defaultdict(list)  # (user, holder) -> [(from, until)]
    for user_id, holder_id, declared_on, ended_on in ConflictOfInterest.objects.filter(
            body=body, declared_on__lte=end).filter(Q(ended_on__isnull=True) | Q(ended_on__gte=start)).values_list(
            "profile__user_id", "holder_id", "declared_on", "ended_on"):
        conflicts[(user_id, holder_id)].append((declared_on, ended_on))

    existing = defaultdict(set)
    for licence_id, seq in Visit.objects.filter(body=body, plan_year=year).values_list("licence_id", "plan_seq"):
        existing[licence_id].add(seq)
    load = {user_id: 0 for user_id in qualifications}
    for row in Visit.objects.filter(body=body, planned_for__year=year, inspector__isnull=False).exclude(
            state=Visit.State.CANCELLED).values(
            "inspector_id").annotate(n=Count("id")):
        if row["inspector_id"] in load:
            load[row["inspector_id"]] = row["n"]

    # Inspectors qualified for a category over the whole window, without conflict in it, are eligible on
    # every day of it: computed once per (categories, holder); only the others are checked day by day.
    whole_window = {u: {c for c, since, until in quals if since <= start and (until is None or until >= end)}
                    for u, quals in qualifications.items()}
    any_time = {u: {c for c, _, _ in quals} for u, quals in qualifications.items()}
    conflicted = defaultdict(set)
    for user_id, holder_id in conflicts:
        conflicted[user_id].add(holder_id)
    groups = {}

    def candidates(needed, holder_id, day):
        key = (needed, holder_id)
        if key not in groups:
            sure = [u for u in qualifications if needed <= whole_window[u] and holder_id not in conflicted[u]]
            maybe = [u for u in qualifications if u not in sure and needed <= any_time[u]]
            groups[key] = (sure, maybe)
        sure, maybe = groups[key]
        return sure + [u for u in maybe if eligible(u, needed, holder_id, day)]

    def eligible(user_id, needed, holder_id, day):
        for since, until in conflicts.get((user_id, holder_id), ()):
            if since <= day and (until is None or day <= until):
                return False
        valid = {c for c, since, until in qualifications[user_id] if since <= day and (until is None or day <= until)}
        return needed <= valid

    rows = []
    for licence_id, holder_id, site_id, regime, version_id, created_at, granted_on, expires_on in licences:
        version = versions[version_id]
        since, until = in_force_between(created_at, granted_on, expires_on)
        share = share_of_year(year, since, until)
        frequency = Decimal(_frequency(version, regime))
        # A part-year licence gets its prorated visits, placed within the days it is in force.
        n = prorated(frequency, share) if share < 1 else visits_in_year(frequency, year, licence_id)
        window_start = max(start, since) if since else start
        window_end = min(end, until) if until else end
        if n <= 0 or window_end < window_start:
            continue
        unannounced = int((Decimal(n) * Decimal(version["unannounced_share"])).quantize(
            Decimal(1), rounding=ROUND_HALF_UP))
        needed = frozenset(product_categories.get(licence_id) or regulation_categories.get(version["regulation_id"], ()))
        for seq in range(1, n + 1):
            if seq in existing.get(licence_id, ()):
                result.skipped_existing += 1
                continue
            day = slot_date(window_start, window_end, n, seq, licence_id)
            if regime == Licence.Regime.ADMISSION and seq == 1:
                kind, announced = Visit.Kind.INITIAL, True
            elif (licence_id + seq) % n < unannounced:
                kind, announced = Visit.Kind.UNANNOUNCED, False
            elif regime == Licence.Regime.REINFORCED:
                kind, announced = Visit.Kind.REINFORCED, True
            else:
                kind, announced = Visit.Kind.PERIODIC, True
            inspector = None
            if needed:
                eligible_now = candidates(needed, holder_id, day)
                if eligible_now:
                    inspector = min(eligible_now, key=lambda u: (load[u], u))
                    load[inspector] += 1
            rows.append((licence_id, site_id, kind, announced, day, inspector, seq))
    if rows:
        result.created = _insert(body, year, rows)
    return result


def _insert(body, year, rows):
    """One INSERT for all visits and their inspectors' object grants (PostgreSQL); bulk_create elsewhere."""
    now = timezone.now()
    perm_ids = list(Permission.objects.filter(content_type__app_label="inspections", content_type__model="visit",
                                              codename__in=VISIT_PERMS).values_list("id", flat=True))
    if connection.vendor != "postgresql":
        return _insert_portable(body, year, rows, now, perm_ids)
    arrays = {
        "licence_id": ("bigint", [r[0] for r in rows]),
        "site_id": ("bigint", [r[1] for r in rows]),
        "kind": ("text", [r[2] for r in rows]),
        "state": ("text", [Visit.State.ASSIGNED if r[5] else Visit.State.PLANNED for r in rows]),
        "announced": ("boolean", [r[3] for r in rows]),
        "planned_for": ("date", [r[4] for r in rows]),
        "inspector_id": ("bigint", [r[5] for r in rows]),
        "plan_seq": ("integer", [r[6] for r in rows]),
    }
    constants = {"body_id": body.pk, "plan_year": year, "row_version": 1, "created_at": now, "overdue": False}
    columns, selects, params = [], [], []
    for name, (_sqltype, _values) in arrays.items():
        columns.append(name)
        selects.append(f"t.{name}")
    for model_field in Visit._meta.concrete_fields:
        if model_field.primary_key or model_field.column in columns:
            continue
        if model_field.column in constants:
            value = constants[model_field.column]
        elif model_field.null:
            continue
        else:
            value = model_field.get_default()
        columns.append(model_field.column)
        selects.append("%s")
        params.append(value)
    unnest = ", ".join(f"%s::{sqltype}[]" for sqltype, _ in arrays.values())
    perm_table = VisitUserObjectPermission._meta.db_table
    sql = (
        f"WITH ins AS (INSERT INTO {Visit._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} FROM unnest({unnest}) AS t({', '.join(arrays)}) "
        f"ON CONFLICT DO NOTHING RETURNING id, licence_id, inspector_id), "
        f"grants AS (INSERT INTO {perm_table} (permission_id, user_id, content_object_id) "
        f"SELECT p.id, ins.inspector_id, ins.id FROM ins CROSS JOIN unnest(%s::integer[]) AS p(id) "
        f"WHERE ins.inspector_id IS NOT NULL ON CONFLICT DO NOTHING) "
        f"SELECT id, licence_id, inspector_id FROM ins ORDER BY id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, _ordered_params(selects, params, arrays, perm_ids))
        return [tuple(row) for row in cursor.fetchall()]


def _ordered_params(selects, params, arrays, perm_ids):
    """Placeholders appear in SQL order: constants in the SELECT list, then the unnest arrays, then perms."""
    return [*params, *[values for _, values in arrays.values()], perm_ids]


def _insert_portable(body, year, rows, now, perm_ids):
    visits = [
        Visit(body=body, licence_id=r[0], site_id=r[1], kind=r[2], announced=r[3], planned_for=r[4],
              inspector_id=r[5], plan_seq=r[6], plan_year=year,
              state=Visit.State.ASSIGNED if r[5] else Visit.State.PLANNED)
        for r in rows
    ]
    Visit.objects.bulk_create(visits, batch_size=500, ignore_conflicts=False)
    grants = [VisitUserObjectPermission(permission_id=p, user_id=v.inspector_id, content_object_id=v.pk)
              for v in visits if v.inspector_id for p in perm_ids]
    VisitUserObjectPermission.objects.bulk_create(grants, batch_size=500)
    return [(v.pk, v.licence_id, v.inspector_id) for v in visits]
