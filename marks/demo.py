"""Demo data of marks/: COPRO's mandates (the seed's BENOR and COPRO-mark categories), the reference
documents and two regulations (COPRO-mark asphalt mixtures in two versions, BENOR recycled aggregates).

Leaves in ``ctx``: ``ctx["regulations"]``, the list of published versions in force today (one per
regulation, asphalt first), and ``ctx["regulation_versions"]``, {regulation code: [every version, oldest first]}.
"""

import json
from datetime import date
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from marks import catalogue, selectors
from marks.models import Mandate, Mark, ProductCategory

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def build(body, ctx):
    catalogue.ensure_reference_data()
    mandated = json.loads((FIXTURES / "copro_mandates.json").read_text())
    for mark_code, granted_by in (("benor", "BENOR asbl"), ("copro", "COPRO vzw"), ("atg", "UBAtc")):
        mandate = Mandate.objects.create(body=body, mark=Mark.objects.get(code=mark_code),
                                         granted_by=granted_by, valid_from=date(2020, 1, 1))
        mandate.categories.set(ProductCategory.objects.filter(code__in=mandated.get(mark_code, [])))
    built = catalogue.build_regulations(body, user=ctx.get("admin"))
    ctx["regulation_versions"] = built
    today = timezone.localdate()
    ctx["regulations"] = [selectors.applicable_version(versions[0].regulation, today) for versions in built.values()]


LOGINS = []
