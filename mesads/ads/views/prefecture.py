"""The prefecture's space for its département: the table of its authorities, the list of
its ADS to certify, the feed of the latest changes.

Only the agents of the département's prefecture (and national staff) reach it; anyone
else gets a 404, inspectors included (see ``prefecture.supervised_departements``).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from mesads.authorities.models import Authority
from mesads.core.forms import SearchForm
from mesads.core.http import query_string_without, read_only
from mesads.core.pagination import paginate
from mesads.geo.models import Departement

from .. import prefecture
from ..certification import certify_bulk, incomplete_message
from ..filters import ADSFilterForm

PAGE_SIZE = 50


def access_requests_url() -> str:
    """The page where the prefecture decides access requests (another part of the
    project); its folder while that page is not there."""
    try:
        return reverse("access:requests")
    except NoReverseMatch:
        return "/acces/"


def get_departement_for_user(user, code: str) -> Departement:
    """The département whose prefecture space the user may open, or a 404."""
    return get_object_or_404(prefecture.supervised_departements(user), code=code.upper())


@read_only
@login_required
def index(request):
    departements = list(prefecture.supervised_departements(request.user).order_by("code"))
    if not departements:
        raise Http404
    return render(request, "ads/prefecture/index.html", {"departements": departements})


# --- the table of authorities -----------------------------------------------------------


class AuthorityTableForm(SearchForm):
    q = forms.CharField(
        label="Rechercher un gestionnaire",
        help_text="Nom, code INSEE ou SIREN",
        required=False,
        max_length=100,
    )
    situation = forms.ChoiceField(
        label="Déclaration",
        required=False,
        choices=[
            ("", "Tous les gestionnaires"),
            ("avec_ads", "Ont déclaré des ADS"),
            ("aucune_ads", "Déclarent n’avoir aucune ADS"),
            ("deleguee", "Ont délégué leurs ADS à un EPCI"),
            ("sans_declaration", "N’ont encore rien déclaré"),
        ],
    )
    tri = forms.ChoiceField(
        label="Trier par",
        required=False,
        choices=[
            ("", "Nom"),
            ("ads", "Nombre d’ADS (décroissant)"),
            ("ads_croissant", "Nombre d’ADS (croissant)"),
            ("completude", "Taux de complétude (les plus faibles d’abord)"),
            ("completude_decroissant", "Taux de complétude (les plus élevés d’abord)"),
            ("certification", "Taux de certification (les plus faibles d’abord)"),
        ],
    )

    # The name order seeks in the page (mesads.core.pagination); the others sort on
    # figures the database computes for every authority anyway, so an offset costs
    # nothing more there.
    ORDERINGS = {
        "": ("name", "pk"),
        "ads": (F("ads_total").desc(), "name", "pk"),
        "ads_croissant": ("ads_total", "name", "pk"),
        # Authorities without ADS have no rate: last, whichever the direction.
        "completude": (F("complete_rate").asc(nulls_last=True), "name", "pk"),
        "completude_decroissant": (F("complete_rate").desc(nulls_last=True), "name", "pk"),
        "certification": (F("certified_rate").asc(nulls_last=True), "name", "pk"),
    }

    def apply(self, queryset):
        data = self.cleaned_data if self.is_valid() else {"q": "", "situation": "", "tri": ""}
        queryset = queryset.search(data["q"])
        situation = data["situation"]
        if situation == "avec_ads":
            queryset = queryset.filter(ads_total__gt=0)
        elif situation == "aucune_ads":
            queryset = queryset.filter(declares_no_ads=True)
        elif situation == "deleguee":
            queryset = queryset.filter(delegated_to__isnull=False)
        elif situation == "sans_declaration":
            queryset = queryset.filter(
                ads_total=0, declares_no_ads=False, delegated_to__isnull=True
            )
        return queryset

    @property
    def ordering(self) -> tuple:
        return self.ORDERINGS[self.cleaned_data["tri"] if self.is_valid() else ""]

    @property
    def is_filtered(self) -> bool:
        return (
            self.is_bound
            and self.is_valid()
            and bool(self.cleaned_data["q"] or self.cleaned_data["situation"])
        )


@read_only
@login_required
def departement(request, code: str):
    departement = get_departement_for_user(request.user, code)
    now = timezone.now()
    form = AuthorityTableForm(request.GET or None)
    ordering = form.ordering
    page = paginate(
        request,
        form.apply(prefecture.authority_table(departement, now)),
        ordering,
        PAGE_SIZE,
        seek=ordering == AuthorityTableForm.ORDERINGS[""],
    )
    return render(
        request,
        "ads/prefecture/departement.html",
        {
            "departement": departement,
            "form": form,
            "page_obj": page,
            "query_string": query_string_without(request),
            "totals": prefecture.departement_totals(departement, now),
            "pending_requests": prefecture.pending_requests(departement).count(),
            "access_requests_url": access_requests_url(),
            "latest_changes": prefecture.changes_feed(departement)[:5],
        },
    )


class ExpectedCountForm(DsfrBaseForm, forms.ModelForm):
    class Meta:
        model = Authority
        fields = ["expected_ads_count"]


@login_required
def expected_count(request, code: str, authority_id: int):
    departement = get_departement_for_user(request.user, code)
    authority = get_object_or_404(
        Authority.objects.filter(departement=departement), pk=authority_id
    )
    form = ExpectedCountForm(request.POST or None, instance=authority)
    if request.method == "POST" and form.is_valid():
        form.save()
        expected = authority.expected_ads_count
        messages.success(
            request,
            f"Nombre d’ADS attendu pour {authority.name} : "
            + (f"{expected}." if expected is not None else "non renseigné."),
        )
        return redirect("prefecture:departement", departement.code)
    return render(
        request,
        "ads/prefecture/expected_count.html",
        {
            "departement": departement,
            "authority": authority,
            "form": form,
            "ads_total": authority.ads.live().count(),
            "decree": authority.decrees.first(),
        },
    )


# --- the feed of changes ----------------------------------------------------------------


@read_only
@login_required
def changes(request, code: str):
    departement = get_departement_for_user(request.user, code)
    page = paginate(
        request, prefecture.changes_feed(departement), prefecture.CHANGES_ORDER, PAGE_SIZE
    )
    return render(
        request,
        "ads/prefecture/changes.html",
        {
            "departement": departement,
            "page_obj": page,
            "page_caption": f"Modifications du département, page {page.number} "
            f"sur {page.paginator.num_pages}",
        },
    )


# --- the ADS of the département, to certify ---------------------------------------------


class PrefectureADSFilterForm(ADSFilterForm):
    gestionnaire = forms.ModelChoiceField(
        label="Gestionnaire",
        required=False,
        queryset=Authority.objects.none(),
        empty_label="Tous",
    )

    field_order = ["q", "gestionnaire"]

    def __init__(self, *args, departement: Departement, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the authorities that have ADS: a département has hundreds of communes.
        self.fields["gestionnaire"].queryset = (
            Authority.objects.filter(departement=departement, ads__deleted_at__isnull=True)
            .distinct()
            .order_by("name")
            .only("pk", "name")
        )

    def apply(self, queryset):
        queryset = super().apply(queryset)
        if self.is_valid() and self.cleaned_data["gestionnaire"]:
            queryset = queryset.of_authority(self.cleaned_data["gestionnaire"])
        return queryset


class IdsField(forms.Field):
    """A list of ids (checkboxes sharing one name). Which ones the user may act on is the
    service's decision, not the form's."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        try:
            return [int(item) for item in value or []]
        except (TypeError, ValueError) as error:
            raise forms.ValidationError("Sélection invalide.") from error


class BulkCertifyForm(forms.Form):
    ads = IdsField()
    # The list's filters and page, to come back to them.
    retour = forms.CharField(required=False, max_length=2000)


@read_only
@login_required
def ads_list(request, code: str):
    departement = get_departement_for_user(request.user, code)
    filters = PrefectureADSFilterForm(request.GET or None, departement=departement)
    queryset = (
        filters.apply(prefecture.departement_ads(departement))
        .select_related("authority")
        .only(
            "pk",
            "number",
            "holder_name",
            "in_use",
            "is_complete",
            "deleted_at",
            "attested_at",
            "certified_at",
            "substantive_change_at",
            "authority__name",
            "number_sort_key",
        )
    )
    page = paginate(
        request, queryset, ("authority__name", "authority_id", "number_sort_key", "pk"), PAGE_SIZE
    )
    return render(
        request,
        "ads/prefecture/ads_list.html",
        {
            "departement": departement,
            "filters": filters,
            "page_obj": page,
            "query_string": query_string_without(request),
            "full_query_string": request.GET.urlencode(),
        },
    )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@login_required
@require_POST
def ads_certify_bulk(request, code: str):
    departement = get_departement_for_user(request.user, code)
    form = BulkCertifyForm(request.POST)
    back = reverse("prefecture:ads", args=[departement.code])
    if not form.is_valid():
        messages.error(request, "Sélectionnez au moins une ADS à certifier.")
        return redirect(back)
    # Re-encoded from parsed parameters: the form cannot send the user elsewhere.
    query = QueryDict(form.cleaned_data["retour"]).urlencode()
    result = certify_bulk(request.user, form.cleaned_data["ads"], departement.pk)
    if result.certified:
        messages.success(
            request,
            _plural(len(result.certified), "ADS certifiée", "ADS certifiées")
            + " : "
            + ", ".join(f"n° {ads.number} ({ads.authority.name})" for ads in result.certified)
            + ".",
        )
    for ads in result.incomplete:
        messages.warning(request, f"{incomplete_message(ads)} ({ads.authority.name})")
    if result.already:
        messages.info(
            request,
            _plural(len(result.already), "ADS déjà certifiée", "ADS déjà certifiées")
            + ", sans modification depuis : rien à faire.",
        )
    if result.ignored:
        messages.error(
            request,
            _plural(result.ignored, "ADS ignorée", "ADS ignorées")
            + f" : vous ne pouvez certifier que les ADS en vigueur du département "
            f"{departement.code}.",
        )
    return redirect(f"{back}?{query}" if query else back)
