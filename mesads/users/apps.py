from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "mesads.users"
    verbose_name = "Utilisateurs"

    def ready(self) -> None:
        from . import scope, signals  # noqa: F401  (the scope's receivers, the login audit's)
