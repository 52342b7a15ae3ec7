from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from certification.models import Role


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(max_length=200, required=False, label=_("Full name"))
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))


class MemberChangeForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))
    is_active = forms.BooleanField(required=False, label=pgettext_lazy("member account", "Active"))
    reason = forms.CharField(max_length=500, required=False, label=_("Reason"))
