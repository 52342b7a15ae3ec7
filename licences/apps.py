from django.apps import AppConfig


class LicencesConfig(AppConfig):
    name = "licences"
    default_auto_field = "django.db.models.BigAutoField"
