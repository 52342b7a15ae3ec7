from certification.api import views


def register(router):
    """/api/v1/me/ and the schema are plain routes (certification/urls.py); these are viewsets."""
    router.register("keys", views.ApiKeyViewSet, basename="apikey")
    router.register("webhooks", views.WebhookSubscriptionViewSet, basename="webhook")
