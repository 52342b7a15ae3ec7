from marks.api import views


def register(router):
    router.register("marks", views.MarkViewSet, basename="mark")
    router.register("categories", views.ProductCategoryViewSet, basename="category")
    router.register("regulations", views.RegulationViewSet, basename="regulation")
    router.register("regulation-versions", views.RegulationVersionViewSet, basename="regulation-version")
