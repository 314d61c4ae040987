from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "mesads.stats"
    verbose_name = "Chiffres clés du registre"
