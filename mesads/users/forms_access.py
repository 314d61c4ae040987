from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from dsfr.forms import DsfrBaseForm

from mesads.core.forms import SearchForm
from mesads.geo.models import Departement

from . import access_requests
from .models import AuthorityAccess, PrefectureMembership, Status


class AuthoritySearchForm(SearchForm):
    q = forms.CharField(
        label="Commune, EPCI, préfecture ou aéroport",
        help_text="Nom, code INSEE de la commune, SIREN de l’EPCI, numéro du département "
        "pour sa préfecture, ou code OACI de l’aéroport.",
        max_length=100,
        required=False,
        # Suggestions while typing: static/js/authority_search.js fills the <datalist>
        # from the URL below. Without JavaScript the search button gives the same list.
        widget=forms.TextInput(
            attrs={
                "list": "authority-suggestions",
                "autocomplete": "off",
                "data-suggestions-url": reverse_lazy("access:suggestions"),
            }
        ),
    )


class AccessRequestForm(DsfrBaseForm, forms.ModelForm):
    attestation = forms.BooleanField(
        required=True,
        error_messages={
            "required": "Cochez cette case : seules les personnes qui travaillent pour ce "
            "gestionnaire peuvent gérer ses ADS."
        },
    )

    class Meta:
        model = AuthorityAccess
        fields = ["message"]
        labels = {"message": "Message à la préfecture"}
        help_texts = {
            "message": "Votre service et votre fonction, par exemple, pour aider la "
            "préfecture à vérifier votre demande."
        }
        widgets = {"message": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, authority, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.authority = user, authority
        label = (
            f"J’atteste travailler pour {authority.name} et être chargé(e) d’y gérer les "
            "autorisations de stationnement de taxi."
        )
        # The design system's form has already bound its fields: label both.
        self.fields["attestation"].label = self["attestation"].label = label

    def clean(self):
        cleaned = super().clean()
        if error := access_requests.existing_request_error(self.user, self.authority):
            raise ValidationError(error, code="duplicate")
        return cleaned


class DecisionCommentForm(DsfrBaseForm):
    """The optional reason given to the requester with a refusal or a revocation."""

    comment = forms.CharField(
        label="Motif",
        help_text="Il sera communiqué au demandeur.",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AccessStatusFilterForm(SearchForm):
    statut = forms.ChoiceField(
        label="Statut",
        choices=Status.choices,
        required=False,
    )

    def status(self) -> str:
        if self.is_valid() and self.cleaned_data["statut"]:
            return self.cleaned_data["statut"]
        return Status.PENDING


class MembershipRequestForm(DsfrBaseForm, forms.ModelForm):
    class Meta:
        model = PrefectureMembership
        fields = ["departement", "message"]
        labels = {
            "departement": "Préfecture du département",
            "message": "Message à l’équipe nationale",
        }
        help_texts = {
            "message": "Votre service et votre fonction à la préfecture, pour que l’équipe "
            "nationale puisse vérifier votre demande."
        }
        widgets = {"message": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["departement"].queryset = Departement.objects.order_by("code")

    def clean(self):
        cleaned = super().clean()
        departement = cleaned.get("departement")
        if departement is not None and (
            error := access_requests.existing_membership_error(self.user, departement.pk)
        ):
            raise ValidationError(error, code="duplicate")
        return cleaned
