"""Benchmark: plan a year of visits for 10,000 licences, and print the time and the number of queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/certification .venv/bin/python benchmarks/planning.py [N]

Runs in a throwaway test database (``test_<name>``, created with the migrations and dropped at the end),
so it never touches real data. PostgreSQL plans in one INSERT; SQLite falls back to bulk_create.
"""

import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certification.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def build(n):
    from certification import services as core
    from certification.models import Role
    from certification.tenancy import tenant_scope
    from inspections import services
    from licences.models import Licence, LicenceHolder, Site
    from marks.models import Mark, ProductCategory, Regulation, RegulationVersion

    body = core.do_create_body(code="bench", name="Benchmark body")
    with tenant_scope(body):
        mark = Mark.objects.create(code="bench", name="Bench mark", kind="quality_mark", owner_organisation="x")
        categories = [ProductCategory.objects.create(code=f"bench-{i}", name_en=f"C{i}", name_fr=f"C{i}",
                                                     name_nl=f"C{i}") for i in range(4)]
        versions = []
        for i, category in enumerate(categories):
            regulation = Regulation.objects.create(body=body, code=f"TRA {i}", title="t", mark=mark)
            regulation.categories.add(category)
            versions.append(RegulationVersion.objects.create(
                body=body, regulation=regulation, version=1, status="published", visits_per_year_admission=4,
                visits_per_year_normal=2, visits_per_year_reinforced="6", unannounced_share="0.25"))
        for i in range(30):
            user = core.do_add_member(body=body, email=f"inspector{i}@bench.test", role=Role.INSPECTOR).user
            profile = services.do_create_inspector_profile(body=body, user=user)
            for category in categories[i % 4: i % 4 + 2]:
                services.do_add_qualification(profile=profile, category=category, valid_from=dt.date(2020, 1, 1))
        holders = LicenceHolder.objects.bulk_create([
            LicenceHolder(body=body, name=f"Holder {i}", company_number=f"BE0{i:09d}") for i in range(n // 10)])
        sites = Site.objects.bulk_create([Site(body=body, holder=h, name="Plant") for h in holders])
        regimes = ["normal"] * 7 + ["admission", "reinforced", "normal"]
        Licence.objects.bulk_create([
            Licence(body=body, holder=holders[i // 10], site=sites[i // 10], mark=mark,
                    regulation_version=versions[i % 4], number=f"B-{i:06d}", state="active",
                    inspection_regime=regimes[i % 10]) for i in range(n)])
    return body


def main():
    from certification.tenancy import tenant_scope
    from inspections import services

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        body = build(n)
        with tenant_scope(body), CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = services.do_plan_year(body=body, year=dt.date.today().year + 1, today=dt.date.today())
            elapsed = time.perf_counter() - started
        print(f"planned {len(result.created)} visits for {n} licences in {elapsed:.2f} s "
              f"({len(queries.captured_queries)} queries, {result.unassigned} without an eligible inspector)")
        with tenant_scope(body):
            again = time.perf_counter()
            services.do_plan_year(body=body, year=dt.date.today().year + 1, today=dt.date.today())
            print(f"re-planning (nothing to add): {time.perf_counter() - again:.2f} s")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
