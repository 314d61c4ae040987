from django import forms
from django.utils import timezone

from mesads.core.forms import SearchForm

from .certification import attested_q, never_certified_q
from .models import ADSQuerySet


class ADSFilterForm(SearchForm):
    """Search and filters of an authority's ADS list (GET parameters)."""

    static_fields = True  # the same fields and choices for every authority and user

    q = forms.CharField(
        label="Rechercher",
        help_text="Numéro, titulaire, SIRET, immatriculation, conducteur ou carte professionnelle",
        required=False,
        max_length=100,
    )
    exploitation = forms.ChoiceField(
        label="Exploitation",
        required=False,
        choices=[("", "Toutes"), ("exploitee", "Exploitées"), ("vacante", "Vacantes")],
    )
    completude = forms.ChoiceField(
        label="Complétude",
        required=False,
        choices=[("", "Toutes"), ("complete", "Complètes"), ("a_completer", "À compléter")],
    )
    regime = forms.ChoiceField(
        label="Régime",
        required=False,
        choices=[
            ("", "Tous"),
            ("nouvelle", "Nouvelles ADS (depuis le 1er octobre 2014)"),
            ("ancienne", "Anciennes ADS"),
        ],
    )
    cpam = forms.BooleanField(label="Conventionnées CPAM", required=False)
    pmr = forms.BooleanField(label="Véhicule accessible (PMR)", required=False)
    attestation = forms.ChoiceField(
        label="Attestation du gestionnaire",
        required=False,
        choices=[
            ("", "Toutes"),
            ("a_verifier", "À vérifier (pas attestées depuis un an, ou jamais)"),
            ("attestee", "Attestées"),
        ],
    )
    certification = forms.ChoiceField(
        label="Certification de la préfecture",
        required=False,
        choices=[
            ("", "Toutes"),
            ("certifiee", "Certifiées"),
            ("a_recertifier", "À recertifier"),
            ("non_certifiee", "Non certifiées"),
        ],
    )
    renouvellement = forms.BooleanField(label="Renouvellement dépassé", required=False)

    def apply(self, queryset: ADSQuerySet) -> ADSQuerySet:
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        queryset = queryset.search(data["q"])
        if data["exploitation"] == "exploitee":
            queryset = queryset.filter(in_use=True)
        elif data["exploitation"] == "vacante":
            queryset = queryset.filter(in_use=False)
        if data["completude"] == "complete":
            queryset = queryset.filter(is_complete=True)
        elif data["completude"] == "a_completer":
            queryset = queryset.incomplete()
        if data["regime"] == "nouvelle":
            queryset = queryset.new_regime()
        elif data["regime"] == "ancienne":
            queryset = queryset.old_regime()
        if data["cpam"]:
            queryset = queryset.filter(cpam_agreement=True)
        if data["pmr"]:
            queryset = queryset.filter(vehicle_pmr=True)
        if data["renouvellement"]:
            queryset = queryset.renewal_overdue()
        if data["attestation"] == "a_verifier":
            queryset = queryset.attestation_due()
        elif data["attestation"] == "attestee":
            queryset = queryset.filter(attested_q(timezone.now()))
        if data["certification"] == "certifiee":
            queryset = queryset.certified()
        elif data["certification"] == "a_recertifier":
            queryset = queryset.to_recertify()
        elif data["certification"] == "non_certifiee":
            queryset = queryset.filter(never_certified_q())
        return queryset

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and self.is_valid() and any(self.cleaned_data.values())
