from licences.api import views


def register(router):
    router.register("holders", views.LicenceHolderViewSet, basename="holder")
