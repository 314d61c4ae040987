from django.apps import AppConfig


class AuthoritiesConfig(AppConfig):
    """Who keeps a register: the issuing authorities and their delegations. Below the
    accounts and the register; imports only the geography and core."""

    name = "mesads.authorities"
    verbose_name = "Gestionnaires d’ADS"
