"""Import 100,000 self-monitoring results through the import service, next to a raw PostgreSQL COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cert_sampling \
        .venv/bin/python benchmarks/self_monitoring_import.py [rows]

Needs a migrated PostgreSQL database. Everything it writes is rolled back at the end.
The service path includes what a real upload does: CSV parsing, per-row validation (product, property,
date, number, unit, plausible range), the limit check, then bulk inserts of 5,000 rows. The COPY path
writes the same rows (already built) with psycopg's ``cursor.copy`` and no validation at all.
"""

import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certification.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from certification import services as body_services  # noqa: E402
from certification.tenancy import tenant_scope  # noqa: E402
from licences.services import do_register_holder  # noqa: E402
from sampling import demo, services  # noqa: E402
from sampling.models import SelfMonitoringResult  # noqa: E402


class Rollback(Exception):
    pass


def make_csv(rows, quick_code):
    start = date(2020, 1, 1)
    lines = ["product,property,date,batch,tonnage,value,unit"]
    for i in range(rows):
        day = start + timedelta(days=i % 2000)
        if i % 2:
            lines.append(f"{quick_code},binder-content,{day},B{i},{400 + i % 200},{4.6 + (i % 90) / 100:.2f},%")
        else:
            lines.append(f"{quick_code},compressive-strength,{day},B{i},,{32 + i % 15}.5,MPa")
    return "\n".join(lines) + "\n"


COLUMNS = ["body_id", "holder_id", "product_id", "requirement_id", "property_code", "tested_on", "batch", "tonnage",
           "value", "unit", "within_limits", "source", "entered_at"]


def main(rows):
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL (set DATABASE_URL).")
    try:
        with transaction.atomic():
            body = body_services.do_create_body(code=f"bench{int(time.time())}", name="Benchmark body")
            with tenant_scope(body):
                holder = do_register_holder(body=body, name="Bench holder", company_number="BE0403170701")
                ref = demo.reference_data()
                reg = demo.build_regulation(body, ref, code="TRA-BENCH")
                quick_code = f"{int(time.time()) % 100000000:08d}"
                product = demo.build_licence(body, holder, ref, reg.version, number="BENCH-1",
                                             quick_code=quick_code).product
                text = make_csv(rows, quick_code)
                print(f"{rows:,} rows, {len(text) / 1e6:.1f} MB of CSV")

                started = time.perf_counter()
                upload = services.do_import_self_monitoring(holder=holder, text=text, filename="bench.csv", by=None)
                service_s = time.perf_counter() - started
                assert upload.rows == rows

                parsed = services.parse_self_monitoring_csv(holder=holder, text=text, by=None)
                now = timezone.now()
                records = [(r.body_id, r.holder_id, r.product_id, r.requirement_id, r.property_code, r.tested_on,
                            r.batch, r.tonnage, r.value, r.unit, r.within_limits, "csv", now) for r in parsed.results]
                started = time.perf_counter()
                with connection.cursor() as cursor:
                    raw = cursor.cursor
                    with raw.copy(f"COPY sampling_selfmonitoringresult ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                        for record in records:
                            copy.write_row(record)
                copy_s = time.perf_counter() - started
                stored = SelfMonitoringResult.objects.filter(product=product).count()
                assert stored == 2 * rows, stored
                label = "import service (parse + validate + bulk insert)"
                print(f"{label}: {service_s:7.2f} s  {rows / service_s:10,.0f} rows/s")
                print(f"raw PostgreSQL COPY (psycopg, same rows)       : {copy_s:7.2f} s  {rows / copy_s:10,.0f} rows/s")
                print(f"service / COPY: {service_s / copy_s:.1f}× slower (it validates every row)")
            raise Rollback
    except Rollback:
        print("(rolled back)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
