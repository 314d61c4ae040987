from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "mesads.geo"
    verbose_name = "Géographie de référence"
