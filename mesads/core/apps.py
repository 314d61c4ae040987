from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mesads.core"
    verbose_name = "Mes ADS"
