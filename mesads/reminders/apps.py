from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "mesads.reminders"
    verbose_name = "Relances et rappels"

    def ready(self) -> None:
        from mesads.users.preferences import register_preferences

        from .forms import ReminderPreferencesForm

        # The reminders' fieldset on the profile page (the accounts app knows no feature).
        register_preferences(
            "reminders", "M’envoyer les rappels :", ReminderPreferencesForm.for_user
        )
