from django import forms
from django.utils.translation import gettext_lazy as _

from certification.models import Role


class MemberInviteForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200, required=False)
    role = forms.ChoiceField(choices=Role.choices)


class MemberChangeForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(required=False, label=_("Active"))
    reason = forms.CharField(max_length=500, required=False)
