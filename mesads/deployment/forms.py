"""Filters of the follow-up tables (GET). Each keeps the current sort in a hidden field,
so that filtering does not lose it; the column headers change the sort."""

from django import forms

from mesads.authorities.models import Authority
from mesads.core.forms import SearchForm
from mesads.core.text import search_key
from mesads.geo.models import Departement

from .followup import DECLARATION_LABELS, DepartementFigures

OVERSEAS_ZONES = ("drom", "com")


class SortedSearchForm(SearchForm):
    tri = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)

    def value(self, name: str):
        """The cleaned value of a filter (its empty value when the form is invalid)."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data[name]
        return self.fields[name].to_python(None) if name != "tri" else ""

    @property
    def is_filtered(self) -> bool:
        return any(self.value(name) for name in self.fields if name != "tri")


class DepartementFilterForm(SortedSearchForm):
    q = forms.CharField(
        label="Rechercher un département", help_text="Nom ou code", required=False, max_length=100
    )
    zone = forms.ChoiceField(
        label="Zone",
        required=False,
        choices=[("", "Toute la France"), ("metro", "Métropole"), ("outre-mer", "Outre-mer")],
    )
    situation = forms.ChoiceField(
        label="Afficher",
        required=False,
        choices=[
            ("", "Tous les départements"),
            ("en_attente", "Avec des demandes d’accès en attente"),
            ("sans_declaration", "Avec des gestionnaires qui n’ont rien déclaré"),
            ("jamais_connectes", "Avec des comptes jamais connectés"),
            ("sans_agent", "Sans agent de préfecture"),
        ],
    )

    def keep(self, row: DepartementFigures) -> bool:
        text = search_key(self.value("q"))
        departement = row.departement
        if text and text not in search_key(departement.name) and text != search_key(row.code):
            return False
        zone = self.value("zone")
        if zone == "metro" and departement.zone in OVERSEAS_ZONES:
            return False
        if zone == "outre-mer" and departement.zone not in OVERSEAS_ZONES:
            return False
        situation = self.value("situation")
        return {
            "en_attente": row.pending > 0,
            "sans_declaration": row.nothing > 0,
            "jamais_connectes": row.never_logged_in > 0,
            "sans_agent": row.agents == 0,
        }.get(situation, True)


class AuthorityFilterForm(SortedSearchForm):
    q = forms.CharField(
        label="Rechercher un gestionnaire",
        help_text="Nom, code INSEE ou SIREN",
        required=False,
        max_length=100,
    )
    declaration = forms.ChoiceField(
        label="Déclaration",
        required=False,
        choices=[("", "Toutes"), *DECLARATION_LABELS.items()],
    )
    type = forms.ChoiceField(
        label="Type", required=False, choices=[("", "Tous"), *Authority.Type.choices]
    )
    en_attente = forms.BooleanField(label="Avec des demandes d’accès en attente", required=False)
    sans_connexion = forms.BooleanField(label="Avec des comptes jamais connectés", required=False)

    def apply(self, queryset):
        queryset = queryset.search(self.value("q"))
        if declaration := self.value("declaration"):
            queryset = queryset.filter(declaration=declaration)
        if kind := self.value("type"):
            queryset = queryset.filter(type=kind)
        if self.value("en_attente"):
            queryset = queryset.filter(pending__gt=0)
        if self.value("sans_connexion"):
            queryset = queryset.filter(never_logged_in__gt=0)
        return queryset


PERIODS = [(6, "6 derniers mois"), (12, "12 derniers mois"), (24, "24 derniers mois")]


class ActivityFilterForm(SortedSearchForm):
    periode = forms.TypedChoiceField(
        label="Période", required=False, coerce=int, choices=PERIODS, empty_value=12
    )
    departement = forms.ModelChoiceField(
        label="Département",
        help_text="Pour le tableau par mois",
        required=False,
        queryset=Departement.objects.order_by("code"),
        to_field_name="code",
        empty_label="France entière",
    )

    @property
    def months(self) -> int:
        return self.value("periode") or 12

    @property
    def is_filtered(self) -> bool:
        return bool(self.value("departement")) or self.months != 12
