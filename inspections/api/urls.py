from inspections.api import views


def register(router):
    router.register("visits", views.VisitViewSet, basename="visit")
