from django.apps import AppConfig


class CertificationConfig(AppConfig):
    name = "certification"
    verbose_name = "Certification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from certification import (
            middleware,  # noqa: F401  (connects the login signal)
            webhooks,  # noqa: F401  (subscribes to domain events)
        )
        from certification.api import schema  # noqa: F401  (OpenAPI extension for API keys)
