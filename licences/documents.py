"""The certification-results document of a licence (rendered on request).

Other apps add sections (samples, laboratory and self-monitoring summaries) by appending a callable to
``RESULT_SECTIONS``: ``section(licence) -> {"title": str, "html": SafeString} | None``.
"""

from django.utils import timezone

from certification.documents import render_pdf
from licences import selectors

RESULT_SECTIONS = []


def results_context(licence):
    extra = [section for section in (build(licence) for build in RESULT_SECTIONS) if section]
    return {
        "licence": licence,
        "products": licence.products.select_related("category"),
        "history": licence.history.all(),
        "decisions": licence.decisions.all().order_by("effective_from", "pk"),
        "visits": selectors.licence_visits(licence),
        "sanctions": licence.sanctions.all().order_by("starts_on", "pk"),
        "certificates": licence.certificates.all().order_by("version"),
        "extra_sections": extra,
        "today": timezone.localdate(),
    }


def results_pdf(licence):
    return render_pdf("licences/pdf/results.html", results_context(licence),
                      title=f"Certification results {licence.number}")
