from django.apps import AppConfig


class RelaisConfig(AppConfig):
    """The register of relay taxis (taxis relais, arrêté du 28 juillet 2023): a feature
    app above the ADS register. It plugs into the ADS page through the register's panel
    hook (``mesads.ads.panels``) and into the open-data page through the registry of
    served datasets (``mesads.core.datasets``), never the other way round."""

    name = "mesads.relais"
    label = "relais"
    verbose_name = "Registre des taxis relais"

    def ready(self) -> None:
        from mesads.ads import panels

        from .views.uses import ads_panel

        panels.register_ads_panel(ads_panel)

        from mesads.core.datasets import ServedDataset, register_served_dataset

        register_served_dataset(
            ServedDataset(
                title="Registre des taxis relais",
                description="Les taxis relais inscrits dans tous les départements : numéro, "
                "immatriculation, véhicule, commune, entreprise propriétaire et ses "
                "coordonnées professionnelles (registre public, arrêté du 28 juillet 2023).",
                download="relais:open_data",
                schema="relais:open_data_schema",
            )
        )
