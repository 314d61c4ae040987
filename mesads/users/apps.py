from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "mesads.users"
    verbose_name = "Utilisateurs"
