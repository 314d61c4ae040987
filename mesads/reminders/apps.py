from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "mesads.reminders"
    verbose_name = "Relances et rappels"
