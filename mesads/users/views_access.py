"""Access to the register: asking to manage an authority, the prefecture's decisions,
joining a prefecture's staff, and a prefecture agent acting as manager.

A page outside the user's remit is a 404, like another authority's object: a manager
never learns which requests exist, a prefecture agent never sees another département's.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from mesads.core.http import query_string_without, site_url
from mesads.core.pagination import Paginator
from mesads.core.text import de

from . import access_requests as service
from .access_requests import AccessError
from .forms_access import (
    AccessRequestForm,
    AccessStatusFilterForm,
    AuthoritySearchForm,
    DecisionCommentForm,
    MembershipRequestForm,
)
from .models import AuthorityAccess, PrefectureMembership, Status, User

PAGE_SIZE = 50
# How a list of requests in each status is titled ("Demandes en attente"…).
STATUS_TITLES = {
    Status.PENDING: "en attente",
    Status.ACCEPTED: "acceptées",
    Status.REFUSED: "refusées",
    Status.REVOKED: "révoquées",
}
SEARCH_PAGE_SIZE = 20
SUGGESTIONS = 10
# Fewer characters match thousands of names: the suggestions would only be noise.
SUGGESTIONS_MIN_LENGTH = 2


# --- asking to manage an authority ------------------------------------------------------


@login_required
@require_safe
def search(request):
    """Find the commune, EPCI, prefecture or airport to ask for."""
    form = AuthoritySearchForm(request.GET or None)
    page = None
    if form.is_valid() and (text := form.cleaned_data["q"].strip()):
        page = Paginator(service.search_authorities(text, request.user), SEARCH_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    return render(
        request,
        "users/access/search.html",
        {"form": form, "page_obj": page, "query_string": query_string_without(request)},
    )


@login_required
@require_safe
def suggestions(request):
    """Names for the search field's <datalist>, as JSON (see static/js/authority_search.js)."""
    text = " ".join(request.GET.get("q", "").split())[:100]
    if len(text) < SUGGESTIONS_MIN_LENGTH:
        return JsonResponse({"results": []})
    results = [
        {
            "value": f"{authority.name} ({authority.code})" if authority.code else authority.name,
            "label": " – ".join(
                part
                for part in (
                    authority.get_type_display(),
                    authority.departement.name if authority.departement else "",
                )
                if part
            ),
        }
        for authority in service.search_authorities(text)[:SUGGESTIONS]
    ]
    return JsonResponse({"results": results})


@login_required
def request_access(request, authority_id: int):
    authority = get_object_or_404(service.requestable_authorities(), pk=authority_id)
    form = AccessRequestForm(request.POST or None, user=request.user, authority=authority)
    if request.method == "POST" and form.is_valid():
        try:
            service.request_access(
                request.user,
                authority,
                form.cleaned_data["message"],
                site_url=site_url(request),
            )
        except AccessError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Votre demande pour gérer {authority.name} est envoyée à la préfecture. "
                "Vous recevrez un courriel dès qu’elle sera traitée.",
            )
            return redirect("home")
    return render(request, "users/access/request_form.html", {"authority": authority, "form": form})


# --- the prefecture's decisions ---------------------------------------------------------


def _get_decidable(request, access_id: int) -> AuthorityAccess:
    return get_object_or_404(service.decidable_accesses(request.user), pk=access_id)


def _ensure_decider(request) -> None:
    if not (request.user.is_staff or service.agent_departement_ids(request.user).exists()):
        raise Http404


@login_required
@require_safe
def request_list(request):
    """The requests of the user's département(s), pending ones first in mind."""
    _ensure_decider(request)
    filters = AccessStatusFilterForm(request.GET or None)
    status = filters.status()
    accesses = (
        service.decidable_accesses(request.user)
        .filter(status=status)
        .order_by("-created_at" if status == Status.PENDING else "-decided_at", "-pk")
    )
    page = Paginator(accesses, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "users/access/request_list.html",
        {
            "filters": filters,
            "status": status,
            "status_title": STATUS_TITLES[status],
            "page_obj": page,
            "query_string": query_string_without(request),
        },
    )


@login_required
@require_safe
def request_detail(request, access_id: int):
    access = _get_decidable(request, access_id)
    return render(
        request,
        "users/access/request_detail.html",
        {"access": access, "refusal_form": DecisionCommentForm()},
    )


@login_required
@require_POST
def accept(request, access_id: int):
    access = _get_decidable(request, access_id)
    try:
        service.accept_access(access, request.user, site_url=site_url(request))
    except AccessError as error:
        messages.error(request, str(error))
        return redirect("access:request_detail", access.pk)
    messages.success(
        request, f"{access.user.get_full_name()} peut désormais gérer {access.authority.name}."
    )
    return redirect("access:requests")


@login_required
@require_POST
def refuse(request, access_id: int):
    access = _get_decidable(request, access_id)
    form = DecisionCommentForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "users/access/request_detail.html",
            {"access": access, "refusal_form": form},
            status=400,
        )
    try:
        service.refuse_access(
            access, request.user, form.cleaned_data["comment"], site_url=site_url(request)
        )
    except AccessError as error:
        messages.error(request, str(error))
        return redirect("access:request_detail", access.pk)
    messages.success(
        request,
        f"La demande {de(access.user.get_full_name())} pour {access.authority.name} est refusée.",
    )
    return redirect("access:requests")


@login_required
def revoke(request, access_id: int):
    """Confirm on GET; on POST, withdraw the right to manage the authority."""
    access = _get_decidable(request, access_id)
    if access.status != Status.ACCEPTED:
        messages.error(request, "Seul un accès accepté peut être révoqué.")
        return redirect("access:request_detail", access.pk)
    form = DecisionCommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            service.revoke_access(
                access, request.user, form.cleaned_data["comment"], site_url=site_url(request)
            )
        except AccessError as error:
            messages.error(request, str(error))
            return redirect("access:request_detail", access.pk)
        messages.success(
            request,
            f"{access.user.get_full_name()} ne gère plus {access.authority.name}.",
        )
        return redirect("access:requests")
    return render(request, "users/access/revoke_confirm.html", {"access": access, "form": form})


# --- prefecture staff -------------------------------------------------------------------


@login_required
def membership_request(request):
    form = MembershipRequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        departement = form.cleaned_data["departement"]
        try:
            service.request_membership(request.user, departement, form.cleaned_data["message"])
        except AccessError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Votre demande pour rejoindre la préfecture ({departement.name}) est "
                "envoyée à l’équipe nationale.",
            )
            return redirect("home")
    return render(request, "users/access/membership_form.html", {"form": form})


def _ensure_staff(request) -> None:
    if not request.user.is_staff:
        raise Http404


@login_required
@require_safe
def membership_list(request):
    """National staff: requests to join a prefecture's staff."""
    _ensure_staff(request)
    filters = AccessStatusFilterForm(request.GET or None)
    status = filters.status()
    memberships = (
        PrefectureMembership.objects.filter(status=status)
        .select_related("user", "departement", "decided_by")
        # An address that looks like another account's (TR 39 skeleton), flagged.
        .annotate(
            lookalike=Exists(
                User.objects.filter(email_skeleton=OuterRef("user__email_skeleton")).exclude(
                    pk=OuterRef("user_id")
                )
            )
        )
        .order_by("-created_at" if status == Status.PENDING else "-decided_at", "-pk")
    )
    page = Paginator(memberships, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "users/access/membership_list.html",
        {
            "filters": filters,
            "status": status,
            "status_title": STATUS_TITLES[status],
            "page_obj": page,
            "query_string": query_string_without(request),
        },
    )


def _decide_membership(request, membership_id: int, *, accept: bool):
    _ensure_staff(request)
    membership = get_object_or_404(
        PrefectureMembership.objects.select_related("user", "departement"), pk=membership_id
    )
    try:
        service.decide_membership(
            membership, request.user, accept=accept, site_url=site_url(request)
        )
    except AccessError as error:
        messages.error(request, str(error))
    else:
        verdict = "est désormais agent" if accept else "n’est pas admis(e) comme agent"
        messages.success(
            request,
            f"{membership.user.get_full_name()} {verdict} de la préfecture "
            f"({membership.departement.name}).",
        )
    return redirect("access:memberships")


@login_required
@require_POST
def membership_accept(request, membership_id: int):
    return _decide_membership(request, membership_id, accept=True)


@login_required
@require_POST
def membership_refuse(request, membership_id: int):
    return _decide_membership(request, membership_id, accept=False)


@login_required
def act_as_manager(request, authority_id: int):
    """A prefecture agent chooses to manage an authority of its département: explained on
    GET, done on POST."""
    authority = get_object_or_404(service.actable_authorities(request.user), pk=authority_id)
    current = AuthorityAccess.objects.filter(user=request.user, authority=authority).first()
    if request.method == "POST":
        try:
            service.act_as_manager(request.user, authority)
        except AccessError as error:
            messages.info(request, str(error))
        else:
            messages.success(
                request,
                f"Vous gérez désormais {authority.name} au nom de la préfecture. "
                "Ce choix est enregistré.",
            )
        return redirect("ads:authority", authority.pk)
    return render(
        request,
        "users/access/act_as_manager.html",
        {
            "authority": authority,
            "already": current is not None and current.status == Status.ACCEPTED,
        },
    )
