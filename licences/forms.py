from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from certification.validators import normalize_company_number
from licences.models import (
    Appeal,
    Certificate,
    Decision,
    HolderMembership,
    LicenceHolder,
    Product,
    Sanction,
    Site,
)


class HolderForm(forms.ModelForm):
    # The version the editor read (edit form only): a stale one is refused, the conflict shown, the input kept.
    row_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    class Meta:
        model = LicenceHolder
        fields = ["name", "company_number", "address", "email", "phone", "language", "internal_notes"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3}), "internal_notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"name": _("Name"), "company_number": _("Company number"), "address": _("Address"),
                  "email": _("Email"), "phone": _("Phone"), "language": _("Language of correspondence"),
                  "internal_notes": _("Internal notes")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            del self.fields["row_version"]  # registering: there is no version yet
        else:
            self.fields["row_version"].initial = self.instance.row_version
            self.fields["row_version"].required = True  # an edit without the version read is not accepted

    def clean_company_number(self):
        value = self.cleaned_data["company_number"]
        try:
            return normalize_company_number(value)
        except Exception as exc:
            raise ValidationError(_("%(value)s is not a valid Belgian enterprise number or EU VAT number.")
                                  % {"value": value}) from exc

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        exclude.discard("body")
        return exclude


class SiteForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Address"))


class ProductForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, label=_("Site"))
    category = forms.ModelChoiceField(queryset=None, label=_("Category"))
    commercial_name = forms.CharField(max_length=200, label=_("Commercial name"))
    technical_description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                            label=_("Technical description"))
    declared_characteristics = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Declared characteristics"),
        help_text=_("One per line: property: value"))

    def __init__(self, *args, holder, **kwargs):
        super().__init__(*args, **kwargs)
        from marks.models import ProductCategory

        self.fields["site"].queryset = Site.objects.filter(holder=holder)
        self.fields["category"].queryset = ProductCategory.objects.all()

    def clean_declared_characteristics(self):
        result = {}
        for line in self.cleaned_data["declared_characteristics"].splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep or not key.strip():
                raise ValidationError(_("“%(line)s” is not of the form property: value") % {"line": line})
            result[key.strip()] = value.strip()
        return result


class ProductEditForm(ProductForm):
    """Editing carries the ``row_version`` the form showed: a concurrent edit is detected, never overwritten."""

    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(choices=HolderMembership.Role.choices, label=_("Role"))


class ApplicationForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, label=_("Site"))
    regulation_version = forms.ModelChoiceField(queryset=None, label=_("Regulation"))
    products = forms.ModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple, label=_("Products"))
    remarks = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Remarks"))

    def __init__(self, *args, holder, **kwargs):
        super().__init__(*args, **kwargs)
        from marks.models import RegulationVersion

        self.fields["site"].queryset = Site.objects.filter(holder=holder)
        self.fields["products"].queryset = Product.objects.filter(holder=holder)
        self.fields["regulation_version"].queryset = RegulationVersion.objects.filter(
            status=RegulationVersion.Status.PUBLISHED).select_related("regulation__mark")
        self.fields["regulation_version"].label_from_instance = (
            lambda v: f"{v.regulation.mark.name}: {v.regulation.code} v{v.version} — {v.regulation.title}")


class ConfirmForm(forms.Form):
    signed_copy = forms.FileField(required=False, label=_("Signed copy"),
                                  help_text=_("The signed application form, as a PDF (max 5 MB)."))
    electronic = forms.BooleanField(required=False, label=_("I confirm the application electronically"))

    def clean(self):
        data = super().clean()
        if not data.get("signed_copy") and not data.get("electronic"):
            raise ValidationError(_("Upload the signed copy or confirm electronically."))
        if data.get("signed_copy"):
            from licences.services import Refused, check_signed_copy

            try:
                check_signed_copy(data["signed_copy"])
            except Refused as exc:
                self.add_error("signed_copy", exc.messages[0])
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Reason"))


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(choices=Decision.Kind.choices, label=_("Kind"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))
    effective_on = forms.DateField(required=False, label=_("Effective on"), help_text=_("Leave empty for now."),
                                   widget=forms.DateInput(attrs={"type": "date"}))
    products = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
                                              label=_("Products"), help_text=_("For scope extension or reduction."))
    language = forms.ChoiceField(choices=Certificate.Language.choices, initial="en", label=_("Certificate language"))
    valid_years = forms.IntegerField(required=False, min_value=1, max_value=10, label=_("Validity (years)"),
                                     help_text=_("Grant: validity from the grant date. Renew: years added to the "
                                                 "current expiry date."))

    def __init__(self, *args, licence, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = Product.objects.filter(holder_id=licence.holder_id)


class SanctionForm(forms.Form):
    kind = forms.ChoiceField(choices=Sanction.Kind.choices, label=_("Kind"))
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Starts on"))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Ends on"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))


class AppealForm(forms.Form):
    lodged_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Lodged on"))
    grounds = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Grounds"))


class AppealCommitteeForm(forms.Form):
    members = forms.ModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple, label=_("Members"))

    def __init__(self, *args, body, **kwargs):
        super().__init__(*args, **kwargs)
        from certification.models import User

        self.fields["members"].queryset = User.objects.filter(memberships__body=body,
                                                              memberships__is_active=True).distinct()


class AppealOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=[c for c in Appeal.Outcome.choices if c[0] != Appeal.Outcome.PENDING],
                                label=_("Outcome"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))


class IssueForm(forms.Form):
    language = forms.ChoiceField(choices=Certificate.Language.choices, initial="en", label=_("Language"))


class SearchForm(forms.Form):
    q = forms.CharField(required=False, label=_("Product, holder, certificate number or quick code"))
    mark = forms.ChoiceField(required=False, label=_("Mark"))
    category = forms.ChoiceField(required=False, label=_("Category"))
    holder = forms.CharField(required=False, label=_("Holder"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from marks.models import Mark, ProductCategory

        self.fields["mark"].choices = [("", _("All marks"))] + [(m.code, m.name) for m in Mark.objects.all()]
        self.fields["category"].choices = [("", _("All categories"))] + [
            (c.code, c.name) for c in ProductCategory.objects.all()]


class VerifyForm(forms.Form):
    reference = forms.CharField(max_length=80, label=_("Certificate number or 8-digit quick code"))
    on_date = forms.DateField(required=False, label=_("Delivery date"), widget=forms.DateInput(attrs={"type": "date"}))
