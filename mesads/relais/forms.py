from django import forms
from django.contrib.auth import password_validation
from django.db.models import Q
from dsfr.forms import DsfrBaseForm

from mesads.ads import validators
from mesads.ads.forms import DateInput, FlatDsfrForm
from mesads.ads.models import ADS
from mesads.geo.models import Commune, Departement
from mesads.users.models import User

from .models import Owner, Requirements, Use, Vehicle


class SignupForm(DsfrBaseForm):
    email = forms.EmailField(
        label="Adresse électronique",
        help_text="Un lien de confirmation vous y sera envoyé.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Au moins 12 caractères.",
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if not User.objects.is_canonical_email(email):
            raise forms.ValidationError(
                "Cette adresse contient des caractères trompeurs : saisissez-la en lettres "
                "latines simples."
            )
        return User.objects.normalize_email(email)

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "Les deux mots de passe ne correspondent pas.")
        elif first:
            try:
                password_validation.validate_password(first, User(email=cleaned.get("email")))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ConfirmForm(DsfrBaseForm):
    password = forms.CharField(
        label="Mot de passe choisi à l’inscription",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class OwnerForm(FlatDsfrForm, forms.ModelForm):
    class Meta:
        model = Owner
        fields = ["name", "siret", "address", "phone", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Spaces, dots and dashes are welcome in what people type: the model keeps digits.
        for name in ("siret", "phone"):
            self.fields[name].max_length = None
            self.fields[name].validators = []
            self.fields[name].widget.attrs.pop("maxlength", None)

    def clean_siret(self) -> str:
        return validators.normalize_siret(self.cleaned_data["siret"])

    def clean_phone(self) -> str:
        return validators.normalize_phone(self.cleaned_data["phone"])


class InvitationForm(DsfrBaseForm):
    email = forms.EmailField(
        label="Adresse électronique de la personne à inviter",
        help_text="Elle pourra gérer les véhicules de ce propriétaire une fois connectée.",
    )

    def clean_email(self) -> str:
        return User.objects.normalize_email(self.cleaned_data["email"])


class VehicleForm(FlatDsfrForm, forms.ModelForm):
    commune_code = forms.CharField(
        label="Code INSEE de la commune où le véhicule est garé",
        help_text="5 caractères, par exemple 30189 pour Nîmes.",
        max_length=5,
    )

    class Meta:
        model = Vehicle
        fields = [
            "departement",
            "plate",
            "make",
            "model",
            "engine",
            "first_registration_date",
            "seats",
            "wheelchair_accessible",
        ]
        widgets = {"first_registration_date": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departement"].queryset = Departement.objects.order_by("code")
        if self.instance.pk:
            # Number, plate and département identify the registration (see the model).
            for name in ("departement", "plate"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixé à l’inscription."
            self.fields["commune_code"].initial = self.instance.commune.insee_code

    def clean(self):
        cleaned = super().clean()
        code = (cleaned.get("commune_code") or "").strip().upper()
        departement = cleaned.get("departement")
        if code and departement:
            commune = (
                Commune.objects.current().filter(insee_code=code, departement=departement).first()
            )
            if commune is None:
                self.add_error(
                    "commune_code", "Aucune commune de ce département ne porte ce code INSEE."
                )
            else:
                self.instance.commune = commune
        return cleaned


class StatusForm(DsfrBaseForm):
    reason = forms.CharField(
        label="Motif",
        help_text="Il est envoyé au propriétaire et conservé dans l’historique du véhicule.",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class WithdrawForm(DsfrBaseForm):
    reason = forms.CharField(
        label="Motif du retrait",
        help_text="Facultatif : vente, fin de location… Le numéro reste attribué à ce véhicule.",
        max_length=1000,
        required=False,
    )


class RequirementsForm(FlatDsfrForm, forms.ModelForm):
    class Meta:
        model = Requirements
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 6})}


def find_ads(commune_code: str, number: str) -> ADS | None:
    """The live ADS number ``number`` of the commune ``commune_code`` (INSEE)."""
    return (
        ADS.objects.live()
        .filter(
            Q(commune__insee_code=commune_code)
            | Q(commune__isnull=True, authority__commune__insee_code=commune_code),
            number__iexact=number.strip(),
        )
        .select_related("authority")
        .first()
    )


class UseForm(FlatDsfrForm, forms.ModelForm):
    ads_commune = forms.CharField(
        label="Code INSEE de la commune de l’ADS remplacée",
        help_text="5 caractères, par exemple 30189 pour Nîmes.",
        max_length=5,
    )
    ads_number = forms.CharField(label="Numéro de l’ADS remplacée", max_length=50)

    class Meta:
        model = Use
        fields = ["start", "end", "reason"]
        widgets = {"start": DateInput(), "end": DateInput()}

    def __init__(self, vehicle: Vehicle, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.vehicle = vehicle

    def clean(self):
        cleaned = super().clean()
        code, number = cleaned.get("ads_commune"), cleaned.get("ads_number")
        if code and number:
            ads = find_ads(code.strip().upper(), number)
            if ads is None:
                self.add_error(
                    "ads_number",
                    "Aucune ADS de ce numéro n’est inscrite au registre pour cette commune.",
                )
            else:
                self.instance.ads = ads
        return cleaned
