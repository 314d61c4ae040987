import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone

from mesads.ads.forms import DateInput, FlatDsfrForm
from mesads.ads.models import NEW_REGIME_START
from mesads.core.forms import SearchForm
from mesads.core.validators import validate_no_formula
from mesads.exchange.forms import check_spreadsheet
from mesads.geo.models import Departement

from .models import Application, card_key


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class ApplicationForm(FlatDsfrForm, forms.ModelForm):
    comment = forms.CharField(
        label="Commentaire pour l’historique",
        help_text="Facultatif : pourquoi cette modification.",
        required=False,
        max_length=255,
    )

    class Meta:
        model = Application
        fields = [
            "number",
            "registered_at",
            "applicant_name",
            "applicant_email",
            "applicant_phone",
            "applicant_address",
            "card_number",
            "card_departement",
            "card_date",
            "proves_driving_experience",
            "renewed_at",
        ]
        widgets = {
            "registered_at": DateTimeInput(),
            "card_date": DateInput(),
            "renewed_at": DateInput(),
            "applicant_address": forms.Textarea(attrs={"rows": 3}),
            "applicant_phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        }

    def __init__(self, *args, authority, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.authority = authority
        field = self.fields["card_departement"]
        field.queryset = Departement.objects.order_by("code")
        field.label_from_instance = lambda d: f"{d.code} – {d.name}"
        field.empty_label = "Choisissez le département"
        # Typed with spaces or dots; the model keeps the normalised number.
        self.fields["applicant_phone"].max_length = 25
        self.fields["applicant_phone"].widget.attrs["maxlength"] = 25
        self.fields["registered_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        if not self.instance.pk:
            self.fields["registered_at"].initial = timezone.localtime().replace(
                second=0, microsecond=0
            )
            del self.fields["renewed_at"]
        else:
            # A renewal is recorded with « Renouveler »; the date can be corrected here.
            self.fields["number"].help_text = ""
            self.fields["number"].required = True


class RemovalForm(FlatDsfrForm):
    reason = forms.ChoiceField(
        label="Motif",
        choices=[
            ("", "Choisissez le motif"),
            *[
                choice
                for choice in Application.RemovalReason.choices
                if choice[0] != Application.RemovalReason.ATTRIBUTED
            ],
        ],
        error_messages={"required": "Choisissez le motif de la radiation."},
    )
    comment = forms.CharField(
        label="Précision",
        help_text="Facultatif ; obligatoire pour « Autre motif ». Conservée dans l’historique.",
        required=False,
        max_length=255,
        validators=[validate_no_formula],
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == Application.RemovalReason.OTHER and not data.get("comment"):
            self.add_error("comment", "Précisez le motif de la radiation.")
        return data


class AttributionForm(FlatDsfrForm):
    """The confirmation of an attribution: the new ADS's number and date, and, for an
    application that is not the first in the order, why it is chosen."""

    number = forms.CharField(
        label="Numéro de la nouvelle ADS",
        max_length=50,
        help_text="Choisi par le gestionnaire, unique dans son registre (ex. : 12, A-07).",
        error_messages={"required": "Saisissez le numéro de la nouvelle ADS."},
        validators=[validate_no_formula],
    )
    creation_date = forms.DateField(
        label="Date de l’arrêté d’attribution",
        help_text="La date de création de l’ADS ; elle ne peut pas être dans le futur.",
        widget=DateInput(),
        error_messages={"required": "Saisissez la date de l’arrêté d’attribution."},
    )
    skip_reason = forms.CharField(
        label="Pourquoi cette demande plutôt que la première de la liste",
        max_length=255,
        required=False,
        help_text="Obligatoire quand la demande choisie n’est pas la première dans l’ordre "
        "de la liste (ex. : les demandes précédentes ont été déclarées inéligibles).",
        validators=[validate_no_formula],
    )
    attest = forms.BooleanField(
        label="Je certifie l’exactitude des informations de la nouvelle ADS",
        help_text="Obligatoire pour enregistrer : la date et votre nom sont conservés.",
        error_messages={
            "required": "Cochez cette case pour certifier l’exactitude des informations."
        },
    )

    def __init__(self, *args, is_first: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_first = is_first
        self.fields["creation_date"].initial = timezone.localdate()
        if is_first:
            del self.fields["skip_reason"]
        else:
            self.fields["skip_reason"].required = True
            self.fields["skip_reason"].error_messages["required"] = (
                "Cette demande n’est pas la première de la liste : dites pourquoi elle est choisie."
            )

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip()

    def clean_creation_date(self) -> datetime.date:
        day = self.cleaned_data["creation_date"]
        if day > timezone.localdate():
            raise forms.ValidationError("Cette date ne peut pas être dans le futur.")
        if day < NEW_REGIME_START:
            raise forms.ValidationError(
                "Une ADS attribuée depuis la liste d’attente est une nouvelle ADS : sa date "
                "ne peut pas précéder le 1er octobre 2014."
            )
        return day


class ImportForm(FlatDsfrForm):
    import_file = forms.FileField(
        label="Fichier à importer",
        help_text="Un classeur XLSX ou un fichier CSV, une ligne par demande, avec les "
        "en-têtes du modèle.",
        error_messages={"required": "Choisissez le fichier à importer."},
        widget=forms.FileInput(attrs={"accept": ".xlsx,.csv", "class": "fr-upload"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["import_file"].widget.group_class = "fr-upload-group"

    def clean_import_file(self):
        return check_spreadsheet(self.cleaned_data["import_file"])


class ListFilterForm(SearchForm):
    ACTIVE, DUE, EXPIRED, ATTRIBUTED, REMOVED, ALL = (
        "actives",
        "a_renouveler",
        "expirees",
        "attribuees",
        "radiees",
        "toutes",
    )
    q = forms.CharField(
        label="Rechercher une demande",
        help_text="Numéro, nom du demandeur ou numéro de carte professionnelle",
        required=False,
        max_length=100,
    )
    etat = forms.ChoiceField(
        label="État",
        required=False,
        choices=[
            (ACTIVE, "En cours (ordre d’attribution)"),
            (DUE, "À renouveler dans les 30 jours"),
            (EXPIRED, "Expirées (non renouvelées)"),
            (ATTRIBUTED, "Attribuées"),
            (REMOVED, "Radiées"),
            (ALL, "Toutes"),
        ],
    )

    @property
    def state(self) -> str:
        if self.is_valid() and self.cleaned_data["etat"]:
            return self.cleaned_data["etat"]
        return self.ACTIVE

    def apply(self, applications, today: datetime.date):
        state = self.state
        applications = {
            self.ACTIVE: lambda: applications.active(),
            self.DUE: lambda: applications.due(today),
            self.EXPIRED: lambda: applications.expired(today),
            self.ATTRIBUTED: lambda: applications.filter(state=Application.State.ATTRIBUTED),
            self.REMOVED: lambda: applications.filter(state=Application.State.REMOVED),
            self.ALL: lambda: applications,
        }[state]()
        text = self.cleaned_data.get("q", "").strip() if self.is_valid() else ""
        if text:
            condition = Q(number__iexact=text) | Q(applicant_name__icontains=text)
            if card_key(text):
                condition |= Q(card_number_key__contains=card_key(text))
            applications = applications.filter(condition)
        return applications

    @property
    def is_filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())


class PublicSearchForm(SearchForm):
    q = forms.CharField(
        label="Commune ou gestionnaire",
        help_text="Nom ou code INSEE, par exemple « Nîmes » ou « 30189 »",
        required=False,
        max_length=100,
    )
