"""Certificate render time against a minimal WeasyPrint document, on this machine.

    DJANGO_DEBUG=1 .venv/bin/python benchmarks/certificate_render.py [rounds]

Builds an in-memory certificate (no database: the content is what a real certificate freezes at issue),
renders it through the same template, QR code and restricted URL fetcher as the Celery task, and compares
with a one-line HTML document rendered by WeasyPrint directly. Prints the median and min of each.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certification.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402
from weasyprint import HTML  # noqa: E402

from licences.models import Certificate  # noqa: E402
from licences.services import render_certificate_pdf  # noqa: E402

CONTENT = {
    "holder": {"name": "Asfalt Vlaanderen NV", "company_number": "BE0403170701", "address": "Industrieweg 12, 9000 Gent"},
    "site": {"name": "Gent asphalt plant", "address": "Haven 4000, 9000 Gent"},
    "mark": {"code": "benor", "name": "BENOR", "owner": "BENOR asbl"},
    "regulation": {"code": "TRA 11", "title": "Bituminous mixtures", "version": 3},
    "licence": {"number": "COPRO-BENOR-L00001", "granted_on": "2026-01-10", "expires_on": "2029-01-10"},
    "body": {"name": "COPRO", "accreditation": "BELAC 046-PROD (ISO/IEC 17065)", "address": "Z.1 Researchpark 110"},
    "products": [{"name": f"AV-Surf AC {n}", "quick_code": f"1010{n:04d}", "category": "Bituminous mixtures",
                  "category_code": "bituminous-mixtures", "characteristics": {"Void content": "3–6 %", "Binder": "50/70"}}
                 for n in range(1, 9)],
}


def timed(render, rounds):
    render()  # warm-up: fonts, template cache
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        render()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    certificate = Certificate(number="COPRO-BENOR-000123", version=2, language="en", content=CONTENT,
                              issued_at=timezone.now())
    minimal = "<!doctype html><html><body><p>Hello, WeasyPrint.</p></body></html>"
    cert_median, cert_min = timed(lambda: render_certificate_pdf(certificate), rounds)
    mini_median, mini_min = timed(lambda: HTML(string=minimal).write_pdf(), rounds)
    size = len(render_certificate_pdf(certificate))
    print(f"rounds: {rounds}")
    print(f"certificate (8 products, QR, DejaVu): median {cert_median * 1000:.0f} ms, min {cert_min * 1000:.0f} ms, "
          f"{size} bytes")
    print(f"minimal WeasyPrint document:           median {mini_median * 1000:.0f} ms, min {mini_min * 1000:.0f} ms")
    print(f"ratio (median): {cert_median / mini_median:.1f}x")


if __name__ == "__main__":
    main()
