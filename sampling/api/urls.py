from sampling.api import views


def register(router):
    router.register("lab-results", views.LabResultViewSet, basename="lab-result")
    router.register("self-monitoring", views.SelfMonitoringViewSet, basename="self-monitoring")
