"""Loads the shipped reference documents and demo regulations (fixtures/reference_documents.json,
fixtures/regulations.json) through the services, so the demo data obeys the same rules as staff edits."""

import json
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from marks import exchange, selectors, services
from marks.models import Mark, ProductCategory, ReferenceDocument

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def ensure_reference_data():
    """Marks and categories (fixtures/reference.json) and reference documents; idempotent."""
    if not Mark.objects.exists():
        call_command("loaddata", str(FIXTURES / "reference.json"), verbosity=0)
    for row in json.loads((FIXTURES / "reference_documents.json").read_text()):
        fields = dict(row["fields"])
        ReferenceDocument.objects.update_or_create(code=fields.pop("code"), defaults=fields)


def _date(value):
    return date.fromisoformat(value) if value else None


def build_regulations(body, user=None, only=None):
    """Create the demo regulations for ``body`` (inside its tenant scope); returns {code: [versions]}."""
    data = json.loads((FIXTURES / "regulations.json").read_text())["regulations"]
    built = {}
    for spec in data:
        if only is not None and spec["code"] not in only:
            continue
        regulation = services.do_create_regulation(
            body=body, code=spec["code"], title=spec["title"], mark=Mark.objects.get(code=spec["mark"]),
            categories=ProductCategory.objects.filter(code__in=spec["categories"]),
            sector_committee=spec["sector_committee"],
        )
        built[spec["code"]] = []
        for version_spec in spec["versions"]:
            draft = selectors.draft_of(regulation) or services.do_draft_version(regulation=regulation)
            draft = services.do_edit_draft(
                version=draft, expected_row_version=draft.row_version,
                header={name: version_spec[name] for name in (
                    "visits_per_year_admission", "visits_per_year_normal", "visits_per_year_reinforced",
                    "unannounced_share", "samples_per_year", "changes_summary")},
                reference_documents=ReferenceDocument.objects.filter(code__in=version_spec["reference_documents"]),
                checklist=services.RowChanges(delete=list(draft.checklist.values_list("pk", flat=True)),
                                              create=version_spec["checklist"]),
            )
            rows = exchange.parse_requirements(json.dumps(version_spec["requirements"]).encode(), "json")
            draft = services.do_replace_requirements(version=draft, expected_row_version=draft.row_version, rows=rows,
                                                     reason="demo data")
            if version_spec.get("publish"):
                draft = services.do_publish_version(
                    version=draft, expected_row_version=draft.row_version, user=user,
                    effective_date=_date(version_spec["effective_date"]),
                    transition_end=_date(version_spec["transition_end"]),
                )
            built[spec["code"]].append(draft)
    return built
