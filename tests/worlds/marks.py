"""Adds marks objects to the test world (body A's with secret markers), see tests/world.py.

Per body: ``mandate`` (COPRO mark, asphalt mixtures), ``regulation`` with a published ``regulation_version``
(v1) and a ``regulation_draft`` (v2). Body A's secret sits in the version's changes summary, a requirement
name and a checklist item: only A's staff may ever see them.
"""

from datetime import date

from marks import services
from marks.catalogue import ensure_reference_data
from marks.models import Mandate, Mark, ProductCategory, ReferenceDocument


def extend(world, body_ns, secret):
    """Called for each body inside its tenant scope; add objects to body_ns."""
    ensure_reference_data()
    mark = Mark.objects.get(code="copro")
    category = ProductCategory.objects.get(code="asphalt-mixtures")
    body_ns.mandate = Mandate.objects.create(body=body_ns.body, mark=mark, granted_by="COPRO vzw",
                                             valid_from=date(2020, 1, 1))
    body_ns.mandate.categories.set([category])
    body_ns.regulation = services.do_create_regulation(
        body=body_ns.body, code="TRA 11", title="Asphalt mixtures", mark=mark, categories=[category],
        sector_committee="Bituminous mixtures")
    draft = body_ns.regulation.versions.get()
    method = ReferenceDocument.objects.get(code="EN 12697-1:2020")
    draft = services.do_edit_draft(
        version=draft, expected_row_version=draft.row_version,
        header={"visits_per_year_admission": 6, "visits_per_year_normal": 4, "visits_per_year_reinforced": 8,
                "unannounced_share": "0.25", "samples_per_year": 4, "changes_summary": f"first {secret}"},
        reference_documents=[method],
        requirements=services.RowChanges(create=[
            {"property_code": "binder-content", "property_name": f"Binder content {secret}", "test_method": method,
             "unit": "%", "lower_limit": "5.2", "upper_limit": "6.2", "conformity_rule": "en13108_21",
             "self_monitoring_every": 500, "self_monitoring_basis": "tonnes", "sampled_externally": True},
        ]),
        checklist=services.RowChanges(create=[{"code": "FPC-1", "text": f"FPC manual {secret}"}]),
    )
    body_ns.regulation_version = services.do_publish_version(
        version=draft, expected_row_version=draft.row_version, effective_date=date(2024, 1, 1))
    body_ns.regulation_draft = services.do_draft_version(regulation=body_ns.regulation,
                                                         changes_summary=f"next {secret}")
