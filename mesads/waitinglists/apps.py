from django.apps import AppConfig


class WaitingListsConfig(AppConfig):
    name = "mesads.waitinglists"
    verbose_name = "Listes d’attente"
