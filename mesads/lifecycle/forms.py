"""Forms of the ADS's life: a transfer, a renewal, the number of ADS a decree fixes, and
an uploaded decree template (admin)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from mesads.ads.forms import DateInput, FlatDsfrForm
from mesads.ads.models import ADS
from mesads.ads.validators import normalize_siret

from .models import DecreeTemplate, Transfer


class TransferForm(FlatDsfrForm, forms.ModelForm):
    """The transfer of an old-regime ADS; the seller is its current holder."""

    acquired_by_transfer = forms.BooleanField(
        label="Le titulaire actuel a lui-même acquis cette ADS par une cession, à sa date "
        "d’attribution",
        help_text="Le délai avant de présenter un successeur est alors de cinq ans au lieu "
        "de quinze.",
        required=False,
    )

    # Typed as it is printed (« 443 061 841 00047 »): the spaces go before the length counts.
    buyer_siret = forms.CharField(
        label="SIRET du cessionnaire", help_text="14 chiffres.", max_length=20
    )

    class Meta:
        model = Transfer
        fields = ["date", "exception", "buyer_name", "buyer_siret", "price"]
        widgets = {"date": DateInput()}
        labels = {"price": "Prix déclaré (en euros)"}

    def __init__(self, *args, ads: ADS, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.ads = ads
        self.instance.authority = ads.authority
        self.fields["date"].initial = timezone.localdate()
        self.fields["price"].widget.attrs.update({"min": "0", "step": "0.01"})
        exception = self.fields["exception"]
        exception.label = "Exception au délai de détention (article L. 3121-3)"
        exception.choices = [
            ("", "Aucune : le délai de détention est écoulé"),
            *Transfer.HoldingException.choices,
        ]
        # A transfer already in the register says how the holder acquired the ADS.
        if ads.transfers.exists() or not ads.attribution_date:
            del self.fields["acquired_by_transfer"]

    def clean_buyer_siret(self) -> str:
        return normalize_siret(self.cleaned_data.get("buyer_siret", ""))

    def _post_clean(self):
        # Transfer.clean reads it: the holding period then runs from the attribution date.
        self.instance.acquired_by_transfer = self.cleaned_data.get("acquired_by_transfer", False)
        super()._post_clean()


class RenewalForm(FlatDsfrForm):
    date = forms.DateField(
        label="Date du renouvellement",
        help_text="La date de l’arrêté de renouvellement : l’ADS est valable cinq ans à "
        "compter de cette date.",
        widget=DateInput(),
    )

    def __init__(self, *args, ads: ADS, **kwargs):
        super().__init__(*args, **kwargs)
        self.ads = ads
        self.fields["date"].initial = timezone.localdate()

    def clean_date(self):
        from .services import renewal_errors

        day = self.cleaned_data["date"]
        errors = renewal_errors(self.ads, day)
        if errors:
            raise ValidationError(errors)
        return day


class CountDecreeForm(FlatDsfrForm):
    count = forms.IntegerField(
        label="Nombre d’ADS à fixer",
        help_text="Le nombre d’autorisations de stationnement offertes sur le territoire. "
        "Proposé : le nombre d’ADS inscrites au registre.",
        min_value=0,
        max_value=100_000,
        error_messages={
            "required": "Indiquez le nombre d’ADS que fixe l’arrêté.",
            "invalid": "Indiquez un nombre entier, sans espace ni virgule.",
            "min_value": "Le nombre d’ADS ne peut pas être négatif.",
            "max_value": "Ce nombre dépasse de loin le nombre d’ADS d’un territoire.",
        },
    )


class DecreeTemplateAdminForm(forms.ModelForm):
    class Meta:
        model = DecreeTemplate
        fields = ["kind", "file"]

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        kind = cleaned.get("kind")
        # Only a newly uploaded file needs checking (an unchanged one was checked before).
        if kind and upload is not None and "file" in self.changed_data:
            try:
                # Here, not at the top: docxtpl, python-docx and Jinja weigh some 15 MB in
                # every process that loads the admin, commands and workers included.
                from . import decrees

                decrees.validate_template(upload, kind)
            except ValidationError as error:
                self.add_error("file", error)
        return cleaned
