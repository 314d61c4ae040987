from django.apps import AppConfig


class AuthoritiesConfig(AppConfig):
    """Who keeps a register: the issuing authorities and their delegations. Below the
    accounts and the register; imports only the geography and core."""

    name = "mesads.authorities"
    verbose_name = "Gestionnaires d’ADS"

    def ready(self) -> None:
        from mesads.geo.signals import geography_loaded

        from .territories import ensure_authorities

        def on_geography_loaded(sender, progress=None, **kwargs):
            return ensure_authorities(progress=progress)

        # After each geography load, one authority for every new territory.
        geography_loaded.connect(on_geography_loaded, weak=False, dispatch_uid="authorities")
