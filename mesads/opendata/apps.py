from django.apps import AppConfig


class OpendataConfig(AppConfig):
    name = "mesads.opendata"
    verbose_name = "Données ouvertes"
