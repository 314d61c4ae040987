from django import forms
from dsfr.forms import DsfrBaseForm

from mesads.users.forms import FieldsetForm
from mesads.users.scope import scope_for

from .access import campaign_departements
from .campaigns import DEFAULT_BODIES, DEFAULT_SUBJECT
from .models import PLACEHOLDERS, Campaign, ReminderPreferences

PLACEHOLDERS_HELP = "Repères remplacés pour chaque gestionnaire : " + ", ".join(
    f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items()
)


class CampaignForm(DsfrBaseForm, forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["target", "departement", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["departement"]
        field.queryset = campaign_departements(user)
        field.label_from_instance = lambda d: f"{d.code} – {d.name}"
        if not scope_for(user).is_staff:
            # A prefecture reminds its own département's authorities, never the nation's.
            field.required = True
            field.empty_label = None
            field.help_text = "Les gestionnaires de votre département."
        else:
            field.empty_label = "Tous les départements"
        self.fields["subject"].help_text = PLACEHOLDERS_HELP
        if self.instance.pk is None:
            self.fields["subject"].initial = DEFAULT_SUBJECT
            self.fields["body"].required = False
            self.fields["body"].help_text = (
                "Laissez vide pour partir du modèle prévu pour les gestionnaires visés : vous "
                "le relirez et pourrez le modifier avant l’envoi. " + PLACEHOLDERS_HELP
            )
        else:
            self.fields["body"].help_text = PLACEHOLDERS_HELP

    def clean(self):
        data = super().clean()
        if not data.get("body") and data.get("target"):
            data["body"] = DEFAULT_BODIES[data["target"]]
            self.instance.body = data["body"]
        return data


class ReminderPreferencesForm(FieldsetForm, forms.ModelForm):
    """Shown on the profile page beside the notification preferences."""

    class Meta:
        model = ReminderPreferences
        fields = ["reminders", "weekly_digest"]
        labels = {
            "reminders": "Rappels de renouvellement et relances",
            "weekly_digest": "Récapitulatif hebdomadaire de la préfecture",
        }
        help_texts = {
            "reminders": "Les renouvellements de mes ADS à venir ou dépassés, et les relances "
            "de l’équipe nationale ou de la préfecture.",
            "weekly_digest": "Pour les agents de préfecture : renouvellements dépassés et ADS "
            "vacantes depuis plus de 3 mois.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.template_name = "users/profile_checkbox.html"

    @classmethod
    def for_user(cls, user, data=None) -> "ReminderPreferencesForm":
        instance = ReminderPreferences.objects.filter(user=user).first() or ReminderPreferences(
            user=user
        )
        return cls(data, instance=instance, prefix="rappels")
