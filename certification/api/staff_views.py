"""Staff pages to issue and revoke API keys (capability body.manage)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from certification.access import staff_required
from certification.api import services
from certification.models import ApiKey, Role


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices)
    role = forms.ChoiceField(choices=[("", "—"), *Role.choices], required=False,
                             help_text=gettext_lazy("Body keys: the staff role whose capabilities the key has."))
    holder = forms.ModelChoiceField(queryset=None, required=False)
    laboratory = forms.ModelChoiceField(queryset=None, required=False)
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in ApiKey.SCOPES], initial=["read"],
                                       widget=forms.CheckboxSelectMultiple)
    expires_at = forms.DateTimeField(required=False, help_text=gettext_lazy("YYYY-MM-DD HH:MM; empty: never."))

    def __init__(self, *args, **kwargs):
        from licences.models import LicenceHolder
        from sampling.models import Laboratory

        super().__init__(*args, **kwargs)
        self.fields["holder"].queryset = LicenceHolder.objects.order_by("name")
        self.fields["laboratory"].queryset = Laboratory.objects.order_by("name")


@staff_required("body.manage")
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.do_create_api_key(body=request.tenant, created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form = ApiKeyForm()
    keys = ApiKey.objects.select_related("holder", "laboratory", "created_by").order_by("-created_at", "-pk")
    return render(request, "staff/api_keys.html", {"keys": keys, "form": form, "issued": issued})


@require_POST
@staff_required("body.manage")
def api_key_revoke(request, pk):
    key = get_object_or_404(ApiKey, pk=pk)
    services.do_revoke_api_key(api_key=key, reason=request.POST.get("reason", "")[:500])
    messages.success(request, _("Key %(prefix)s revoked.") % {"prefix": key.prefix})
    return redirect("staff:api-keys")
