from django.apps import AppConfig


class RelaisConfig(AppConfig):
    """The register of relay taxis (taxis relais, arrêté du 28 juillet 2023): a feature
    app above the ADS register. It plugs into the ADS page through the register's panel
    hook (``mesads.ads.panels``), never the other way round."""

    name = "mesads.relais"
    label = "relais"
    verbose_name = "Registre des taxis relais"

    def ready(self) -> None:
        from mesads.ads import panels

        from .views.uses import ads_panel

        panels.register_ads_panel(ads_panel)
