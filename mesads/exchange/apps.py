from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "mesads.exchange"
    verbose_name = "Import et export du registre"
