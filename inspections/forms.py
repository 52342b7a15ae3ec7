from django import forms
from django.utils.translation import gettext_lazy as _

from inspections.models import CorrectiveAction, Visit
from licences.models import Licence, LicenceHolder
from marks.models import ProductCategory


class PlanForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, label=_("Year"))


class VisitForm(forms.Form):
    licence = forms.ModelChoiceField(queryset=Licence.objects.none(), label=_("Licence"))
    kind = forms.ChoiceField(choices=Visit.Kind.choices, initial=Visit.Kind.FOLLOW_UP, label=_("Kind"))
    planned_for = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Planned for"))
    announced = forms.BooleanField(required=False, initial=True, label=_("Announced"))
    reason = forms.CharField(required=False, max_length=500, label=_("Reason"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["licence"].queryset = Licence.objects.select_related("mark")


class AssignForm(forms.Form):
    inspector = forms.TypedChoiceField(coerce=int, label=_("Inspector"))
    row_version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(required=False, max_length=500, label=_("Reason"))

    def __init__(self, *args, inspectors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspector"].choices = list(inspectors)


class RescheduleForm(forms.Form):
    """Move a visit not yet started to another day (``services.do_reschedule``); carries the version it was loaded at."""

    planned_for = forms.DateField(label=_("New date"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(required=False, max_length=500, label=_("Reason (optional)"))
    row_version = forms.IntegerField(widget=forms.HiddenInput)


class CancelForm(forms.Form):
    """Cancel a visit not yet started (``services.do_cancel``); the reason is required."""

    reason = forms.CharField(max_length=500, label=_("Reason for cancelling"),
                             widget=forms.Textarea(attrs={"rows": 2}))
    row_version = forms.IntegerField(widget=forms.HiddenInput)


class VisitFilterForm(forms.Form):
    """Filters of the staff visit list: cancelled visits are left out unless asked for."""

    state = forms.ChoiceField(required=False, label=_("State"),
                              choices=[("", _("All states")), *Visit.State.choices])
    cancelled = forms.BooleanField(required=False, label=_("Include cancelled visits"))
    planned_from = forms.DateField(required=False, label=_("Planned from"),
                                   widget=forms.DateInput(attrs={"type": "date"}))
    planned_until = forms.DateField(required=False, label=_("Planned until"),
                                    widget=forms.DateInput(attrs={"type": "date"}))


class ProfileForm(forms.Form):
    user = forms.TypedChoiceField(coerce=int, label=_("Staff member with the inspector role"))
    capacity_per_year = forms.IntegerField(min_value=1, max_value=1000, initial=200, label=_("Capacity per year"))

    def __init__(self, *args, inspectors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = list(inspectors)


class QualificationForm(forms.Form):
    category = forms.ModelChoiceField(queryset=ProductCategory.objects.all(), label=_("Category"))
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Valid from"))
    valid_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                  label=_("Valid until"))


class ConflictForm(forms.Form):
    holder = forms.ModelChoiceField(queryset=LicenceHolder.objects.none(), label=_("Licence-holder"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["holder"].queryset = LicenceHolder.objects.all()


class CommentForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=8000, label=_("Your comment"))


class ActionForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=8000,
                                  label=_("Corrective action"))
    planned_by = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Implemented by"))


class DecideActionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("reject", _("Reject")), ("verify", _("Verify"))],
                                 label=_("Decision"))
    verification = forms.ChoiceField(choices=[("", "—"), *CorrectiveAction.Verification.choices], required=False,
                                     label=_("Verification"))
    note = forms.CharField(required=False, max_length=2000, label=_("Note"))
    visit = forms.IntegerField(required=False, help_text=_("Later visit where it was verified"))
