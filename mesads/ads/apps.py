from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "mesads.ads"
    verbose_name = "Registre des ADS"
