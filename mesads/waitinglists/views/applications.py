"""The manager's pages of a waiting list: the list in its order, one application, and
what is done to it (register, correct, renew, remove, attribute an ADS)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from reversion.models import Version

from mesads.ads.access import can_write, get_authority_for_user
from mesads.ads.models import ADS
from mesads.core.pagination import Paginator

from ..access import get_application_for_user
from ..forms import ApplicationForm, AttributionForm, ListFilterForm, RemovalForm
from ..models import Application
from ..services import (
    AttributionRefused,
    NotActive,
    attribute_ads,
    create_application,
    first_eligible,
    remove_application,
    renew_application,
    update_application,
)

PAGE_SIZE = 50

# What the list shows of each application: no address, no phone, no e-mail.
LIST_FIELDS = (
    "pk",
    "authority_id",
    "number",
    "registered_at",
    "applicant_name",
    "card_number",
    "proves_driving_experience",
    "valid_until",
    "state",
    "removal_reason",
)


@login_required
def application_list(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, related=())
    today = timezone.localdate()
    filters = ListFilterForm(request.GET or None)
    applications = filters.apply(Application.objects.filter(authority=authority), today)
    if filters.state in (filters.ACTIVE, filters.DUE, filters.EXPIRED):
        applications = applications.in_priority_order()
    else:
        applications = applications.order_by("-registered_at", "-pk")
    page = Paginator(applications.only(*LIST_FIELDS), PAGE_SIZE).get_page(request.GET.get("page"))
    base = Application.objects.filter(authority=authority)
    ranks = base.ranks()
    for application in page:
        application.rank = ranks.get(application.pk)
    counts = {
        "active": base.active().count(),
        "due": base.due(today).count(),
        "expired": base.expired(today).count(),
    }
    return render(
        request,
        "waitinglists/application_list.html",
        {
            "authority": authority,
            "can_write": can_write(request.user, authority),
            "filters": filters,
            "page_obj": page,
            "today": today,
            "counts": counts,
            "first": first_eligible(authority, today),
            "query_string": _query_string(request),
        },
    )


def _query_string(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _warn_other_lists(request, application: Application) -> None:
    others = application.other_lists()
    if others:
        names = ", ".join(authority.name for authority in others)
        messages.warning(
            request,
            f"Attention : la carte professionnelle n° {application.card_number} figure aussi "
            f"sur la liste d’attente de : {names}. Une personne ne devrait être inscrite que "
            "sur une liste ; la demande est néanmoins enregistrée.",
        )


@login_required
def application_create(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, write=True, related=())
    form = ApplicationForm(request.POST or None, authority=authority)
    if request.method == "POST" and form.is_valid():
        try:
            application = create_application(
                form.instance, request.user, form.cleaned_data["comment"]
            )
        except IntegrityError:
            # Registered by someone else at the same moment: the constraint saw it.
            form.add_error(
                None,
                "Cette demande vient d’être enregistrée par ailleurs : vérifiez "
                "la liste avant de recommencer.",
            )
        else:
            messages.success(
                request,
                f"La demande n° {application.number} de {application.applicant_name} est "
                "inscrite sur la liste d’attente.",
            )
            _warn_other_lists(request, application)
            return redirect("waitinglists:detail", application.pk)
    return render(
        request,
        "waitinglists/application_form.html",
        {"authority": authority, "form": form, "application": None},
    )


@login_required
def application_detail(request, application_id: int):
    application = get_application_for_user(request.user, application_id)
    authority = application.authority
    versions = (
        Version.objects.get_for_object(application)
        .select_related("revision__user")
        .order_by("-revision__date_created", "-pk")
    )
    first = first_eligible(authority) if application.is_active else None
    ads = (
        ADS.objects.filter(pk=application.ads_id).only("pk", "number").first()
        if application.ads_id
        else None
    )
    return render(
        request,
        "waitinglists/application_detail.html",
        {
            "application": application,
            "authority": authority,
            "can_write": can_write(request.user, authority),
            "versions": versions,
            "other_lists": application.other_lists(),
            "is_first": first is not None and first.pk == application.pk,
            "first": first,
            "ads": ads,
            "decree_url": _decree_url(ads),
            "today": timezone.localdate(),
        },
    )


def _decree_url(ads: ADS | None) -> str:
    """The attribution decree of the lifecycle app, once it exists."""
    if ads is None:
        return ""
    try:
        return reverse("lifecycle:ads_decree", args=[ads.pk, "attribution"])
    except NoReverseMatch:
        return ""


@login_required
def application_edit(request, application_id: int):
    application = get_application_for_user(request.user, application_id, write=True)
    form = ApplicationForm(
        request.POST or None, instance=application, authority=application.authority
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_application(form.instance, request.user, form.cleaned_data["comment"])
        except ValidationError as error:  # the card or number was taken meanwhile
            form.add_error(None, error)
        else:
            messages.success(request, f"La demande n° {application.number} a été enregistrée.")
            if "card_number" in form.changed_data:
                _warn_other_lists(request, application)
            return redirect("waitinglists:detail", application.pk)
    return render(
        request,
        "waitinglists/application_form.html",
        {"authority": application.authority, "form": form, "application": application},
    )


@login_required
@require_POST
def application_renew(request, application_id: int):
    application = get_application_for_user(request.user, application_id, write=True)
    try:
        application = renew_application(application, request.user)
    except NotActive as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"La demande n° {application.number} est renouvelée : elle est valable jusqu’au "
            f"{application.valid_until:%d/%m/%Y}.",
        )
    return redirect("waitinglists:detail", application.pk)


@login_required
def application_remove(request, application_id: int):
    application = get_application_for_user(request.user, application_id, write=True)
    form = RemovalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            remove_application(
                application, request.user, form.cleaned_data["reason"], form.cleaned_data["comment"]
            )
        except NotActive as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, f"La demande n° {application.number} est radiée de la liste d’attente."
            )
        return redirect("waitinglists:detail", application.pk)
    return render(
        request,
        "waitinglists/application_remove.html",
        {"application": application, "authority": application.authority, "form": form},
    )


@login_required
def application_attribute(request, application_id: int):
    """The confirmation page of an attribution: GET shows what will be done, POST does it."""
    application = get_application_for_user(request.user, application_id, write=True)
    authority = application.authority
    if not application.is_active or application.is_expired():
        messages.error(
            request,
            f"La demande n° {application.number} ne peut pas recevoir d’ADS : elle est "
            f"{application.status_label().lower()}.",
        )
        return redirect("waitinglists:detail", application.pk)
    first = first_eligible(authority)
    is_first = first is not None and first.pk == application.pk
    form = AttributionForm(request.POST or None, is_first=is_first)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ads = attribute_ads(
                application,
                request.user,
                number=data["number"],
                creation_date=data["creation_date"],
                skip_reason=data.get("skip_reason", ""),
            )
        except AttributionRefused as refusal:
            for name, errors in refusal.errors.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        except IntegrityError:
            # The same ADS number declared at the same moment by someone else.
            form.add_error(
                "number",
                f"Ce gestionnaire a déjà une ADS n° {data['number']} : chaque numéro est unique.",
            )
        else:
            messages.success(
                request,
                f"L’ADS n° {ads.number} est attribuée à {application.applicant_name} ; la "
                "demande est retirée de la liste d’attente (« attribuée »).",
            )
            return redirect("waitinglists:detail", application.pk)
    return render(
        request,
        "waitinglists/application_attribute.html",
        {
            "application": application,
            "authority": authority,
            "form": form,
            "first": first,
            "is_first": is_first,
        },
    )
