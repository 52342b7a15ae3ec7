from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from marks import selectors
from marks.exchange import check_requirement_values
from marks.models import ChecklistItem, ProductCategory, ReferenceDocument, Regulation, RegulationVersion, Requirement


class RegulationForm(forms.ModelForm):
    class Meta:
        model = Regulation
        fields = ["code", "title", "mark", "categories", "sector_committee"]
        widgets = {"categories": forms.CheckboxSelectMultiple}
        labels = {"code": _("Code"), "title": _("Title"), "mark": _("Mark"), "categories": _("Product categories"),
                  "sector_committee": _("Sector committee")}

    def __init__(self, *args, body, **kwargs):
        super().__init__(*args, **kwargs)
        self.body = body
        self.fields["mark"].queryset = selectors.mandated_marks(body)
        self.fields["categories"].queryset = ProductCategory.objects.order_by("code")

    def clean(self):
        data = super().clean()
        mark = data.get("mark")
        outside = [c for c in data.get("categories") or [] if mark and not selectors.has_mandate(self.body, mark, c)]
        if outside:
            self.add_error("categories", _("Outside this body's mandate for %(mark)s: %(cats)s") % {
                "mark": mark, "cats": ", ".join(str(c) for c in outside)})
        return data

    def validate_unique(self):
        # body is not on the form; the service checks the code's uniqueness within the body.
        pass


MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
VERSION_LABELS = selectors.VERSION_FIELD_LABELS


class VersionHeaderForm(forms.ModelForm):
    row_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = RegulationVersion
        fields = ["visits_per_year_admission", "visits_per_year_normal", "visits_per_year_reinforced",
                  "unannounced_share", "samples_per_year", "changes_summary", "document", "reference_documents"]
        widgets = {"reference_documents": forms.CheckboxSelectMultiple,
                   "changes_summary": forms.Textarea(attrs={"rows": 3})}
        labels = VERSION_LABELS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference_documents"].queryset = ReferenceDocument.objects.order_by("code")
        self.fields["row_version"].initial = self.instance.row_version

    def clean_document(self):
        document = self.cleaned_data.get("document")
        if document and hasattr(document, "content_type") and "document" in self.changed_data:
            if document.size > MAX_DOCUMENT_BYTES:
                raise forms.ValidationError(_("The document is larger than 20 MB."))
            head = document.read(5)
            document.seek(0)
            if head != b"%PDF-" or not document.name.lower().endswith(".pdf"):
                raise forms.ValidationError(_("Upload the regulation as a PDF file."))
        return document

    def clean_unannounced_share(self):
        share = self.cleaned_data["unannounced_share"]
        if share is not None and not (0 <= share <= 1):
            raise forms.ValidationError(_("A share between 0 and 1."))
        return share

    def clean(self):
        data = super().clean()
        for name in ("visits_per_year_admission", "visits_per_year_normal", "visits_per_year_reinforced"):
            if data.get(name) is not None and data[name] < 0:
                self.add_error(name, _("Cannot be negative."))
        return data


class RequirementForm(forms.ModelForm):
    class Meta:
        model = Requirement
        fields = ["order", "property_code", "property_name", "test_method", "unit", "lower_limit", "upper_limit",
                  "declared_tolerance", "conformity_rule", "self_monitoring_every", "self_monitoring_basis",
                  "sampled_externally", "ocl_limit_a", "ocl_limit_b", "ocl_tonnes_a", "ocl_tonnes_b", "ocl_tonnes_c",
                  "ocl_start_level", "ocl_escalate_at_c", "finding_severity"]
        widgets = {"order": forms.NumberInput(attrs={"class": "narrow"})}
        labels = {"order": _("Order"), "property_code": _("Property code"), "property_name": _("Property"),
                  "test_method": _("Test method"), "unit": _("Unit"), "lower_limit": _("Lower limit"),
                  "upper_limit": _("Upper limit"), "declared_tolerance": _("Tolerance"),
                  "conformity_rule": _("Conformity rule"), "self_monitoring_every": _("Self-monitoring every"),
                  "self_monitoring_basis": _("Self-monitoring basis"), "sampled_externally": _("Sampled"),
                  "finding_severity": _("Severity")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["test_method"].queryset = ReferenceDocument.objects.order_by("code")
        self.fields["finding_severity"].required = False  # blank → major (the model's default)

    def clean(self):
        data = super().clean()
        if not data.get("finding_severity"):
            data["finding_severity"] = Requirement.Severity.MAJOR
        if not self.cleaned_data.get("DELETE"):
            check_requirement_values(data, self.add_error)
        return data


class ChecklistItemForm(forms.ModelForm):
    class Meta:
        model = ChecklistItem
        fields = ["order", "code", "text", "mandatory"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2}), "order": forms.NumberInput(attrs={"class": "narrow"})}
        labels = {"order": _("Order"), "code": _("Code"), "text": _("Text"), "mandatory": _("Mandatory")}


class _RowsFormSet(BaseInlineFormSet):
    def row_changes(self):
        """The formset's edits as ``services.RowChanges`` (nothing is saved here)."""
        from marks.services import RowChanges

        changes = RowChanges()
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue
            if self.can_delete and self._should_delete_form(form):
                if form.instance.pk is not None:
                    changes.delete.append(form.instance.pk)
                continue
            values = {name: form.cleaned_data.get(name) for name in form._meta.fields}
            if form.instance.pk is None:
                changes.create.append(values)
            elif form.has_changed():
                changes.update[form.instance.pk] = values
        return changes


RequirementFormSet = inlineformset_factory(RegulationVersion, Requirement, form=RequirementForm, formset=_RowsFormSet,
                                           extra=2, can_delete=True)
ChecklistFormSet = inlineformset_factory(RegulationVersion, ChecklistItem, form=ChecklistItemForm,
                                         formset=_RowsFormSet, extra=2, can_delete=True)


class PublishForm(forms.Form):
    row_version = forms.IntegerField(widget=forms.HiddenInput)
    effective_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Effective date"))
    transition_end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                     label=_("End of the transition"),
                                     help_text=_("Licences stay on the previous version until this date."))

    def clean(self):
        data = super().clean()
        start, end = data.get("effective_date"), data.get("transition_end")
        if start and end and end < start:
            self.add_error("transition_end", _("The transition cannot end before the effective date."))
        return data


class ImportForm(forms.Form):
    row_version = forms.IntegerField(widget=forms.HiddenInput)
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("json", "JSON")], label=_("Format"))
    file = forms.FileField(label=_("File"))


class DraftForm(forms.Form):
    changes_summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                      label=_("What will change"))
