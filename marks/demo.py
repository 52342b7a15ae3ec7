"""Demo data of marks/: COPRO's mandates (the seed's BENOR and COPRO-mark categories)."""

import json
from datetime import date
from pathlib import Path

from django.conf import settings

from marks.models import Mandate, Mark, ProductCategory

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def build(body, ctx):
    mandated = json.loads((FIXTURES / "copro_mandates.json").read_text())
    for mark_code, granted_by in (("benor", "BENOR asbl"), ("copro", "COPRO vzw"), ("atg", "UBAtc")):
        mandate = Mandate.objects.create(body=body, mark=Mark.objects.get(code=mark_code),
                                         granted_by=granted_by, valid_from=date(2020, 1, 1))
        mandate.categories.set(ProductCategory.objects.filter(code__in=mandated.get(mark_code, [])))
LOGINS = []
