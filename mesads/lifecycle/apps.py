from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """How an ADS is handed on and ended: its decrees, its transfers, its renewal."""

    name = "mesads.lifecycle"
    label = "lifecycle"
    verbose_name = "Vie des ADS : arrêtés, cessions, renouvellements"
