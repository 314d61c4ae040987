from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from dsfr.forms import DsfrBaseForm

from mesads.authorities.models import Authority, AuthorityQuerySet
from mesads.core.forms import SearchForm
from mesads.core.http import query_string_without, read_only
from mesads.core.pagination import Paginator
from mesads.geo.models import Departement
from mesads.users.access_requests import actable_authorities

from ..access import AUTHORITY_RELATED, can_write, get_authority_for_user
from ..models import ADS


class AuthoritySearchForm(SearchForm):
    q = forms.CharField(
        label="Rechercher un gestionnaire",
        help_text="Nom, code INSEE, SIREN ou code de département",
        required=False,
        max_length=100,
    )
    departement = forms.ModelChoiceField(
        Departement.objects.order_by("code"),
        label="Département",
        required=False,
        empty_label="Tous les départements",
        to_field_name="code",
    )
    type = forms.ChoiceField(
        label="Type", choices=[("", "Tous les types"), *Authority.Type.choices], required=False
    )
    declaration = forms.ChoiceField(
        label="Déclaration",
        choices=[("", "Toutes"), *Authority.Declaration.choices],
        required=False,
    )
    tri = forms.ChoiceField(
        label="Trier par",
        choices=[("nom", "Nom"), ("ads", "Nombre d’ADS, du plus grand au plus petit")],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departement"].label_from_instance = lambda d: f"{d.code} – {d.name}"

    def apply(self, authorities):
        """The authorities searched, filtered and in the order asked; unfiltered and by
        name when the form is not valid."""
        if not self.is_valid():
            return authorities.order_by("name", "pk")
        data = self.cleaned_data
        authorities = authorities.search(data["q"])
        if data["departement"]:
            authorities = authorities.filter(departement=data["departement"])
        if data["type"]:
            authorities = authorities.filter(type=data["type"])
        if data["declaration"]:
            authorities = authorities.declared(data["declaration"])
        if data["tri"] == "ads":
            return authorities.by_ads_count()
        return authorities.order_by("name", "pk")


@read_only
@login_required
def authority_list(request):
    """The authorities the user manages (national staff: all, searched and filtered)."""
    form = AuthoritySearchForm(request.GET or None)
    authorities = form.apply(Authority.objects.for_user(request.user))
    # The page is chosen on the bare rows, then only its 50 authorities are counted: the
    # counts of all 36,000 authorities are never computed to show 50 of them.
    page = Paginator(authorities.values_list("pk", flat=True), 50).get_page(request.GET.get("page"))
    ids = list(page.object_list)
    shown = Authority.objects.filter(pk__in=ids).select_related(*AUTHORITY_RELATED).in_bulk()
    # Counted apart: grouped with the joined rows, the ~25,000 ADS of the largest
    # authorities were sorted on disk with every joined column (55 ms instead of 11).
    counts = Authority.objects.filter(pk__in=ids).with_ads_counts()
    for row in counts.values("pk", *AuthorityQuerySet.COUNTS):
        shown[row.pop("pk")].__dict__.update(row)
    page.object_list = [shown[pk] for pk in ids]
    return render(
        request,
        "ads/authority_list.html",
        {"form": form, "page_obj": page, "query_string": query_string_without(request)},
    )


@read_only
@login_required
def authority_dashboard(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id)
    live = ADS.objects.live().filter(authority=authority)
    writable = can_write(request.user, authority)
    return render(
        request,
        "ads/authority_dashboard.html",
        {
            "authority": authority,
            "can_write": writable,
            # A prefecture agent reads its département's registers; to change one it
            # must choose, explicitly, to act as its manager.
            "can_act_as_manager": not writable
            and not authority.is_locked
            and actable_authorities(request.user).filter(pk=authority.pk).exists(),
            "stats": live.stats(),
            "decrees": authority.decrees.all()[:5],
            "delegating": authority.delegating_authorities.order_by("name"),
        },
    )


class DeclarationForm(DsfrBaseForm, forms.ModelForm):
    class Meta:
        model = Authority
        fields = ["declares_no_ads", "delegated_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        authority = self.instance
        field = self.fields["delegated_to"]
        if authority.type == Authority.Type.COMMUNE:
            field.queryset = Authority.objects.filter(
                type=Authority.Type.EPCI, epci__members=authority.commune_id
            ).order_by("name")
            field.help_text = "Les EPCI dont la commune est membre."
        else:
            del self.fields["delegated_to"]


@login_required
def authority_declaration(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, write=True)
    form = DeclarationForm(request.POST or None, instance=authority)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "La déclaration a été enregistrée.")
        return redirect("ads:authority", authority.pk)
    return render(request, "ads/authority_declaration.html", {"authority": authority, "form": form})
