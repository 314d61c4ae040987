from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mesads.api"
    label = "api"
    verbose_name = "API de réutilisation"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the key scheme with drf-spectacular)
