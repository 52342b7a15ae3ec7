from marks.api import views


def register(router):
    router.register("marks", views.MarkViewSet, basename="mark")
    router.register("categories", views.ProductCategoryViewSet, basename="category")
