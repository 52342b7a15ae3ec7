from marks.models import Mandate, Mark, ProductCategory


def marks():
    return Mark.objects.all()


def category_tree():
    return ProductCategory.objects.select_related("parent").order_by("parent__code", "code")


def mandates_of_current_body():
    return Mandate.objects.select_related("mark").prefetch_related("categories")
