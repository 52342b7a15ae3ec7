"""Export a version's requirements as CSV or JSON, and parse/validate an import file (all-or-nothing).

``parse_requirements`` never writes: it returns the validated rows, or the complete list of row errors
(row number, column, message). The view hands valid rows to ``services.do_replace_requirements``.
Row numbers: in CSV the header is row 1, so the first data row is row 2 (as a spreadsheet shows it);
in JSON the first object of the list is row 1. Row 0 is the file itself (unreadable, missing columns).
"""

import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.utils.translation import gettext as _

from marks.models import ReferenceDocument, Requirement, parse_tonnes_per_test

COLUMNS = [
    "property_code", "property_name", "test_method", "unit", "lower_limit", "upper_limit", "declared_tolerance",
    "conformity_rule", "self_monitoring_every", "self_monitoring_basis", "sampled_externally", "order",
    "ocl_limit_a", "ocl_limit_b", "ocl_tonnes_a", "ocl_tonnes_b", "ocl_tonnes_c", "ocl_start_level",
    "ocl_escalate_at_c", "finding_severity",
]
BOOLEAN_COLUMNS = ("sampled_externally", "ocl_escalate_at_c")
REQUIRED_COLUMNS = {"property_code", "property_name"}
MAX_ROWS = 2000
MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


class ImportRejected(Exception):
    def __init__(self, errors):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f").rstrip("0")
    return str(value)


def requirement_row(req):
    return {
        "property_code": req.property_code,
        "property_name": req.property_name,
        "test_method": req.test_method.code if req.test_method_id else "",
        "unit": req.unit,
        "lower_limit": _text(req.lower_limit),
        "upper_limit": _text(req.upper_limit),
        "declared_tolerance": _text(req.declared_tolerance),
        "conformity_rule": req.conformity_rule,
        "self_monitoring_every": _text(req.self_monitoring_every),
        "self_monitoring_basis": req.self_monitoring_basis,
        "sampled_externally": req.sampled_externally,
        "order": req.order,
        "ocl_limit_a": _text(req.ocl_limit_a),
        "ocl_limit_b": _text(req.ocl_limit_b),
        "ocl_tonnes_a": req.ocl_tonnes_a,
        "ocl_tonnes_b": req.ocl_tonnes_b,
        "ocl_tonnes_c": req.ocl_tonnes_c,
        "ocl_start_level": req.ocl_start_level,
        "ocl_escalate_at_c": req.ocl_escalate_at_c,
        "finding_severity": req.finding_severity,
    }


def export_csv(version):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for req in version.requirements.select_related("test_method"):
        row = requirement_row(req)
        for column in BOOLEAN_COLUMNS:
            row[column] = _text(row[column])
        writer.writerow(row)
    return out.getvalue()


def export_json(version):
    data = {
        "regulation": version.regulation.code,
        "version": version.version,
        "requirements": [requirement_row(r) for r in version.requirements.select_related("test_method")],
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


class RequirementRowForm(forms.Form):
    """Validates one imported row exactly like the edit form would."""

    property_code = forms.SlugField(max_length=60)
    property_name = forms.CharField(max_length=200)
    test_method = forms.CharField(max_length=80, required=False)
    unit = forms.CharField(max_length=30, required=False)
    lower_limit = forms.DecimalField(max_digits=14, decimal_places=4, required=False)
    upper_limit = forms.DecimalField(max_digits=14, decimal_places=4, required=False)
    declared_tolerance = forms.DecimalField(max_digits=14, decimal_places=4, required=False, min_value=0)
    conformity_rule = forms.ChoiceField(choices=Requirement.ConformityRule.choices, required=False)
    self_monitoring_every = forms.DecimalField(max_digits=10, decimal_places=2, required=False, min_value=Decimal("0.01"))
    self_monitoring_basis = forms.ChoiceField(choices=[("", "")] + list(Requirement.FrequencyBasis.choices),
                                              required=False)
    sampled_externally = forms.CharField(required=False)
    order = forms.IntegerField(required=False, min_value=0)
    ocl_limit_a = forms.DecimalField(max_digits=10, decimal_places=4, required=False, min_value=0)
    ocl_limit_b = forms.DecimalField(max_digits=10, decimal_places=4, required=False, min_value=0)
    ocl_tonnes_a = forms.CharField(max_length=40, required=False)
    ocl_tonnes_b = forms.CharField(max_length=40, required=False)
    ocl_tonnes_c = forms.CharField(max_length=40, required=False)
    ocl_start_level = forms.ChoiceField(choices=[("", "")] + list(Requirement.ComplianceLevel.choices), required=False)
    ocl_escalate_at_c = forms.CharField(required=False)
    finding_severity = forms.ChoiceField(choices=Requirement.Severity.choices, required=False)

    def __init__(self, *args, documents=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.documents = documents or {}

    def clean_test_method(self):
        code = self.cleaned_data["test_method"].strip()
        if not code:
            return None
        document = self.documents.get(code.casefold())
        if document is None:
            raise forms.ValidationError(_("Unknown reference document “%(code)s”.") % {"code": code})
        return document

    @staticmethod
    def _boolean(value):
        value = value.strip().lower()
        if value in ("", "0", "false", "no", "n"):
            return False
        if value in ("1", "true", "yes", "y"):
            return True
        raise forms.ValidationError(_("Expected true or false."))

    def clean_sampled_externally(self):
        return self._boolean(self.cleaned_data["sampled_externally"])

    def clean_ocl_escalate_at_c(self):
        return self._boolean(self.cleaned_data["ocl_escalate_at_c"])

    def clean(self):
        data = super().clean()
        check_requirement_values(data, self.add_error)
        if not data.get("conformity_rule"):
            data["conformity_rule"] = Requirement.ConformityRule.INDIVIDUAL
        if data.get("order") is None:
            data["order"] = 0
        if not data.get("finding_severity"):
            data["finding_severity"] = Requirement.Severity.MAJOR
        return data


def check_requirement_values(data, add_error):
    """Rules shared by the edit form and the import."""
    lower, upper = data.get("lower_limit"), data.get("upper_limit")
    if lower is not None and upper is not None and lower > upper:
        add_error("upper_limit", _("The upper limit is below the lower limit."))
    rule = data.get("conformity_rule")
    if rule == Requirement.ConformityRule.DECLARED_VALUE and data.get("declared_tolerance") is None:
        add_error("declared_tolerance", _("A declared-value rule needs a tolerance."))
    if rule and rule != Requirement.ConformityRule.DECLARED_VALUE and lower is None and upper is None:
        add_error("lower_limit", _("Give a lower or an upper limit (or use the declared-value rule)."))
    if (data.get("self_monitoring_every") is None) != (not data.get("self_monitoring_basis")):
        add_error("self_monitoring_basis", _("Give both the self-monitoring frequency and its basis, or neither."))
    limit_a, limit_b = data.get("ocl_limit_a"), data.get("ocl_limit_b")
    if (limit_a is None) != (limit_b is None):
        add_error("ocl_limit_b", _("Give both OCL limits (A and B), or neither."))
    elif limit_a is not None and limit_a > limit_b:
        add_error("ocl_limit_b", _("The OCL B limit is below the OCL A limit."))
    for name in ("ocl_tonnes_a", "ocl_tonnes_b", "ocl_tonnes_c"):
        try:
            parse_tonnes_per_test(data.get(name))
        except ValueError as exc:
            add_error(name, _("Tonnes per test: %(e)s.") % {"e": exc})


def _read_rows(content, fmt):
    """(row number, dict) pairs from the file, or raise ImportRejected with file-level errors."""
    if len(content) > MAX_BYTES:
        raise ImportRejected([RowError(0, "", _("The file is larger than 2 MB."))])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([RowError(0, "", _("The file is not UTF-8 text."))]) from None
    if fmt == "json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise ImportRejected([RowError(0, "", _("The file is not valid JSON."))]) from None
        if isinstance(data, dict):
            data = data.get("requirements")
        if not isinstance(data, list):
            raise ImportRejected([RowError(0, "", _("Expected a list of requirements (or {\"requirements\": [...]})."))])
        rows = []
        for number, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                raise ImportRejected([RowError(number, "", _("Each requirement must be a JSON object."))])
            rows.append((number, item))
        return rows
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = REQUIRED_COLUMNS - set(header)
    if missing:
        raise ImportRejected([RowError(1, c, _("Missing column.")) for c in sorted(missing)])
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ImportRejected([RowError(1, c, _("Unknown column.")) for c in unknown])
    reader.fieldnames = header
    rows = []
    try:
        for number, item in enumerate(reader, start=2):
            if None in item:
                raise ImportRejected([RowError(number, "", _("More values than columns."))])
            rows.append((number, item))
    except csv.Error as exc:
        raise ImportRejected([RowError(0, "", _("The CSV file is malformed: %(e)s") % {"e": exc})]) from None
    return rows


def parse_requirements(content, fmt):
    """Validate every row; return the list of cleaned rows, or raise ImportRejected with every error."""
    rows = _read_rows(content, fmt)
    if len(rows) > MAX_ROWS:
        raise ImportRejected([RowError(0, "", _("More than %(n)s rows.") % {"n": MAX_ROWS})])
    documents = {d.code.casefold(): d for d in ReferenceDocument.objects.all()}
    errors, cleaned, seen = [], [], {}
    for number, item in rows:
        unknown = [k for k in item if k not in COLUMNS]
        for key in unknown:
            errors.append(RowError(number, str(key), _("Unknown column.")))
        values = {k: _text(v).strip() for k, v in item.items() if k in COLUMNS}
        form = RequirementRowForm(values, documents=documents)
        valid = form.is_valid()
        for column, messages in form.errors.items():
            for message in messages:
                errors.append(RowError(number, "" if column == "__all__" else column, message))
        code = values.get("property_code", "")
        if code and code in seen:
            errors.append(RowError(number, "property_code",
                                   _("Duplicate property code (also on row %(row)s).") % {"row": seen[code]}))
            continue
        seen.setdefault(code, number)
        if valid:
            cleaned.append(form.cleaned_data)
    if not rows:
        errors.append(RowError(0, "", _("The file holds no requirement.")))
    if errors:
        raise ImportRejected(errors)
    return cleaned
