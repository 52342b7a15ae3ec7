from django import forms
from django.utils.translation import gettext_lazy as _

from licences.models import Product
from marks.models import Requirement
from sampling.models import Laboratory


class TakeSampleForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), label=_("Product"))
    requirements = forms.ModelMultipleChoiceField(queryset=Requirement.objects.none(), required=False,
                                                  widget=forms.CheckboxSelectMultiple, label=_("Properties to test"))
    seal_number = forms.CharField(max_length=60, label=_("Seal number"))
    quantity = forms.CharField(max_length=60, label=_("Quantity"), help_text=_("e.g. 2 × 25 kg"))
    production_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                      label=_("Production date"))
    batch = forms.CharField(max_length=60, required=False, label=_("Batch"))
    inspector_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                      label=_("Inspector's notes"))

    def __init__(self, *args, visit, **kwargs):
        super().__init__(*args, **kwargs)
        licence = visit.licence
        products = licence.products.all()
        self.fields["product"].queryset = products if products.exists() else Product.objects.filter(
            holder=licence.holder_id)
        self.fields["requirements"].queryset = Requirement.objects.filter(version=licence.regulation_version_id)


class DispatchForm(forms.Form):
    laboratory = forms.ModelChoiceField(queryset=Laboratory.objects.all(), label=_("Laboratory"))
    note = forms.CharField(max_length=300, required=False, label=_("Note"))


class LabResultForm(forms.Form):
    requirement = forms.ModelChoiceField(queryset=Requirement.objects.none(), label=_("Property"))
    value = forms.DecimalField(max_digits=14, decimal_places=4, label=_("Value"))
    unit = forms.CharField(max_length=30, required=False, label=_("Unit"))
    uncertainty = forms.DecimalField(max_digits=14, decimal_places=4, required=False, min_value=0,
                                     label=_("Uncertainty"))
    tested_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Tested on"))

    def __init__(self, *args, sample, **kwargs):
        super().__init__(*args, **kwargs)
        requested = sample.requirements.all()
        self.fields["requirement"].queryset = (
            requested if requested.exists() else Requirement.objects.filter(version=sample.licence.regulation_version_id))


class CorrectionForm(forms.Form):
    value = forms.DecimalField(max_digits=14, decimal_places=4, label=_("Value"))
    unit = forms.CharField(max_length=30, required=False, label=_("Unit"))
    uncertainty = forms.DecimalField(max_digits=14, decimal_places=4, required=False, min_value=0,
                                     label=_("Uncertainty"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))


class SelfMonitoringForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), label=_("Product"))
    property_code = forms.SlugField(max_length=60, label=_("Property code"))
    tested_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Tested on"))
    batch = forms.CharField(max_length=60, required=False, label=_("Batch"))
    tonnage = forms.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0, label=_("Tonnage"))
    value = forms.DecimalField(max_digits=14, decimal_places=4, label=_("Value"))
    unit = forms.CharField(max_length=30, required=False, label=_("Unit"))

    def __init__(self, *args, holder, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(holder=holder)


class CsvUploadForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("Columns: product,property,date,batch,tonnage,value,unit (UTF-8)."))

    MAX_BYTES = 20 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        try:
            return upload.name, upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("dismiss", _("Dismiss"))], label=_("Decision"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Reason"))


class LaboratoryScopeForm(forms.Form):
    accreditation = forms.CharField(max_length=200, label=_("Accreditation"))
    accreditation_valid_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                                label=_("Accreditation valid until"))
    test_methods = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
                                                  label=_("Test methods in the accreditation scope"))

    def __init__(self, *args, **kwargs):
        from marks.models import ReferenceDocument

        super().__init__(*args, **kwargs)
        self.fields["test_methods"].queryset = ReferenceDocument.objects.order_by("code")


class LaboratoryForm(forms.Form):
    """Recognise a laboratory: who it is, its accreditation and the test methods in its scope."""

    name = forms.CharField(max_length=200, label=_("Name"))
    accreditation = forms.CharField(max_length=200, label=_("Accreditation"),
                                    help_text=_("Accreditation number, e.g. BELAC 123-TEST"))
    accreditation_valid_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                                label=_("Accreditation valid until"))
    email = forms.EmailField(required=False, label=_("Email"))
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Address"))
    test_methods = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
                                                  label=_("Test methods in the accreditation scope"))

    def __init__(self, *args, **kwargs):
        from marks.models import ReferenceDocument

        super().__init__(*args, **kwargs)
        self.fields["test_methods"].queryset = ReferenceDocument.objects.order_by("code")


class LabUserForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(max_length=200, required=False, label=_("Full name"))
