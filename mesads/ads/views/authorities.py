from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from dsfr.forms import DsfrBaseForm

from mesads.core.forms import SearchForm
from mesads.core.http import query_string_without
from mesads.users.access_requests import actable_authorities

from ..access import AUTHORITY_RELATED, can_write, get_authority_for_user
from ..models import ADS, Authority


class AuthoritySearchForm(SearchForm):
    q = forms.CharField(
        label="Rechercher un gestionnaire",
        help_text="Nom, code INSEE, SIREN ou code de département",
        required=False,
        max_length=100,
    )


@login_required
def authority_list(request):
    """The authorities the user manages (national staff: all, with a search)."""
    form = AuthoritySearchForm(request.GET or None)
    authorities = Authority.objects.for_user(request.user).select_related(*AUTHORITY_RELATED)
    if form.is_valid():
        authorities = authorities.search(form.cleaned_data["q"])
    page = Paginator(authorities.with_ads_counts().order_by("name", "pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "ads/authority_list.html",
        {"form": form, "page_obj": page, "query_string": query_string_without(request)},
    )


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
