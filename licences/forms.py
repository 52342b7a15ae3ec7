from django import forms
from django.core.exceptions import ValidationError

from certification.validators import normalize_company_number
from licences.models import LicenceHolder


class HolderForm(forms.ModelForm):
    class Meta:
        model = LicenceHolder
        fields = ["name", "company_number", "address", "email", "phone", "internal_notes"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3}), "internal_notes": forms.Textarea(attrs={"rows": 3})}

    def clean_company_number(self):
        value = self.cleaned_data["company_number"]
        try:
            return normalize_company_number(value)
        except Exception as exc:
            raise ValidationError(f"{value} is not a valid Belgian enterprise number or EU VAT number.") from exc

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        exclude.discard("body")
        return exclude
