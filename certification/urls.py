"""Project URLs. Each app's ``urls`` module offers pattern lists per face of the product
(staff, portal, inspector, lab, public) and its ``api.urls`` a ``register(router)``; they are
gathered here so that adding a route never means editing this file."""

from importlib import import_module

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from certification import views
from certification.api import errors
from certification.api import views as api_views

APPS = ["certification", "marks", "licences", "inspections", "sampling"]
FACE_URL_MODULES = ["certification.face_urls", "marks.urls", "licences.urls", "inspections.urls", "sampling.urls"]
FACES = ["staff", "portal", "inspector", "lab", "public"]


def _gather(face):
    patterns = []
    for module_name in FACE_URL_MODULES:
        patterns += getattr(import_module(module_name), f"{face}_patterns", [])
    return patterns


router = DefaultRouter()
for app in APPS:
    try:
        api_urls = import_module(f"{app}.api.urls")
    except ModuleNotFoundError:
        continue
    api_urls.register(router)

api_patterns = [
    path("", include(router.urls)),
    path("me/", api_views.me, name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

auth_patterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password-change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password-change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/", include(auth_patterns)),
    path("i18n/setlang/", views.set_language, name="set_language"),
    *[path(f"{face}/", include((_gather(face), face))) for face in FACES],
    path("api/v1/", include((api_patterns, "api"))),
]

handler400 = errors._json_or_default(400, "Bad request.", defaults.bad_request)
handler403 = errors._json_or_default(403, "You do not have permission to perform this action.", defaults.permission_denied)
handler404 = errors._json_or_default(404, "Not found.", defaults.page_not_found)
handler500 = errors._json_or_default(500, "Server error.", defaults.server_error)
