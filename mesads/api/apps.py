from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mesads.api"
    label = "api"
    verbose_name = "API de réutilisation"

    def ready(self) -> None:
        # Registers the key scheme with drf-spectacular; connects the cached keys' signals.
        from . import keys, schema  # noqa: F401
