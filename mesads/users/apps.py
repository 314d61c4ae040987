from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "mesads.users"
    verbose_name = "Utilisateurs"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the login audit receivers)
