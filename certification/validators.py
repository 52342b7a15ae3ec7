from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import be
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError


def normalize_company_number(value: str) -> str:
    """Compact form of a Belgian enterprise number (BE0123456789) or an EU VAT number (FR…, NL…)."""
    value = (value or "").strip()
    if not value:
        return ""
    compact = "".join(ch for ch in value if ch.isalnum()).upper()
    if compact[:2].isalpha() and compact[:2] != "BE":
        return eu_vat.validate(compact)
    return "BE" + be.vat.validate(compact.removeprefix("BE"))


def validate_company_number(value: str):
    if not value:
        return
    try:
        normalize_company_number(value)
    except StdnumError as exc:
        raise ValidationError(
            _("%(value)s is not a valid Belgian enterprise number or EU VAT number (%(why)s)."),
            params={"value": value, "why": str(exc)}, code="invalid_company_number",
        ) from exc
