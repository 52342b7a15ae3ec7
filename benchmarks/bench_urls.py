"""The project's URLs plus /bench/bare/: a Django view that does nothing (the baseline)."""

from django.http import HttpResponse
from django.urls import path

from certification.urls import handler400, handler403, handler404, handler500  # noqa: F401
from certification.urls import urlpatterns as project_patterns


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *project_patterns]
