from licences.api import certificates, views


def register(router):
    router.register("holders", views.LicenceHolderViewSet, basename="holder")
    router.register("certified-products", certificates.CertifiedProductViewSet, basename="certified-product")
    router.register("certificates", certificates.CertificateViewSet, basename="certificate")
    router.register("licence-status", certificates.LicenceStatusViewSet, basename="licence-status")
    router.register("verify", certificates.VerifyViewSet, basename="verify")
