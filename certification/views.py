from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import i18n as i18n_views
from django.views.decorators.http import require_GET, require_POST

from certification import selectors, services
from certification.access import has_capability, staff_required
from certification.forms import MemberChangeForm, MemberInviteForm
from certification.models import Membership, Role


def set_language(request):
    """Django's language switcher, which also remembers the choice of a logged-in person."""
    response = i18n_views.set_language(request)
    if request.method == "POST" and request.user.is_authenticated and not getattr(request.user, "api_key", None):
        services.set_user_language(request.user, request.POST.get("language"))
    return response


class LogoutView(auth_views.LogoutView):
    """Logging out also empties what the browser keeps of this site: the inspector's offline copies of
    visit pages (service worker caches), its queue and queued photos. On a shared or lost phone nothing of
    the last user stays behind. The page warns first when unsent changes would be lost."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


def home(request):
    """Send each kind of user to the face of the product that is theirs."""
    if not request.user.is_authenticated:
        return redirect("public:home")
    if request.membership is not None:
        if request.membership.role == Role.INSPECTOR:
            return redirect("inspector:home")
        return redirect("staff:dashboard")
    if request.holder_membership is not None:
        return redirect("portal:home")
    if request.lab_membership is not None:
        return redirect("lab:home")
    return render(request, "no_role.html", status=403)


@require_GET
def health(request):
    """Liveness of the web process and its database (and Redis when configured)."""
    status = {"database": "ok"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if settings.REDIS_URL:
        cache.set("health", "ok", 5)
        status["cache"] = "ok" if cache.get("health") == "ok" else "down"
    code = 200 if all(value == "ok" for value in status.values()) else 503
    return JsonResponse(status, status=code)


@staff_required()
def dashboard(request):
    from licences.selectors import holders_for_staff

    context = {
        "holder_count": holders_for_staff().count(),
        "member_count": Membership.objects.filter(is_active=True).count(),
        "recent_events": selectors.audit_trail()[:10] if has_capability(request, "audit.view") else [],
        "bodies": selectors.memberships_of(request.user),
    }
    return render(request, "staff/dashboard.html", context)


@require_POST
@staff_required()
def switch_body(request):
    body_id = int(request.POST.get("body", 0) or 0)
    if not any(m.body_id == body_id for m in selectors.memberships_of(request.user)):
        raise Http404
    request.session["body_id"] = body_id
    return redirect("staff:dashboard")


@staff_required("body.manage")
def member_list(request):
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.do_add_member(body=request.tenant, **form.cleaned_data)
        messages.success(request, _("%(email)s now has a role in %(body)s.") % {
            "email": form.cleaned_data["email"], "body": request.tenant})
        return redirect("staff:members")
    members = Membership.objects.select_related("user").order_by("user__email")
    return render(request, "staff/members.html", {"members": members, "form": form})


@staff_required("body.manage")
def member_detail(request, pk):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    form = MemberChangeForm(request.POST or None, initial={"role": membership.role, "is_active": membership.is_active})
    if request.method == "POST" and form.is_valid():
        if membership.user_id == request.user.id and form.cleaned_data["role"] != Role.ADMIN:
            form.add_error("role", _("You cannot remove your own administrator role."))
        else:
            services.do_change_role(membership=membership, **form.cleaned_data)
            messages.success(request, _("Membership updated."))
            return redirect("staff:members")
    events = selectors.audit_trail(membership)[:50]
    return render(request, "staff/member_detail.html", {"membership": membership, "form": form, "events": events})


@staff_required("audit.view")
def audit_log(request):
    events = selectors.audit_trail()
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "staff/audit.html", {"page": page, "action": action})
