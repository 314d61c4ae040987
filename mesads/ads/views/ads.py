from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mesads.core.http import query_string_without, read_only, site_url
from mesads.core.pagination import paginate

from ..access import can_write, get_ads_for_user, get_authority_for_user
from ..certification import rights_on
from ..filters import ADSFilterForm
from ..forms import ADS_NUMBER_TAKEN, ADSDeleteForm, ADSForm, BaseDriverFormSet, DriverFormSet
from ..models import ADS
from ..services import (
    ConflictError,
    RestoreError,
    delete_ads,
    notify_prefecture_of_change,
    restore_ads,
    save_ads,
)

PAGE_SIZE = 50


@read_only
@login_required
def ads_list(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, related=())
    filters = ADSFilterForm(request.GET or None)
    queryset = filters.apply(ADS.objects.live().of_authority(authority))
    # A seek on the index (authority, number_sort_key, id) of the live ADS: the last page
    # of Paris costs what the first does (mesads.core.pagination).
    page = paginate(
        request,
        queryset.only(
            "pk",
            "number",
            "number_sort_key",
            "holder_name",
            "vehicle_plate",
            "creation_date",
            "last_renewal_date",
            "in_use",
            "is_complete",
            "deleted_at",
            "attested_at",
            "certified_at",
            "substantive_change_at",
        ),
        ("number_sort_key", "pk"),  # ADSQuerySet.natural_order(), made total by pk
        PAGE_SIZE,
    )
    return render(
        request,
        "ads/ads_list.html",
        {
            "authority": authority,
            "can_write": can_write(request.user, authority),
            "filters": filters,
            "page_obj": page,
            "query_string": query_string_without(request),
        },
    )


# The drivers section's « Ajouter un conducteur » button. Without JavaScript it submits
# the form, which comes back with one more empty row and nothing saved; with it,
# static/js/add_driver.js adds the row in place.
ADD_DRIVER = "ajouter_conducteur"


def _as_typed(form: ADSForm, instance: ADS) -> ADS:
    """The ADS with the creation date typed in the form, unvalidated: its regime decides
    how many drivers it may have."""
    if not form.is_bound:
        return instance
    try:
        creation_date = form.fields["creation_date"].clean(form["creation_date"].value())
    except ValidationError:
        creation_date = instance.creation_date
    return ADS(creation_date=creation_date)


def _without_errors(form: ADSForm, formset: BaseDriverFormSet) -> None:
    """Validate a form sent back that is not being saved, then forget its errors: Django
    marks every invalid input of a bound form it renders, but this one was not meant to
    pass yet (the box to attest not ticked, a row half filled in), or cannot be saved
    whatever it holds (a conflict)."""
    form.errors.clear()
    formset.non_form_errors().clear()  # validates its rows first
    for row in formset.forms:
        row.errors.clear()


def _outdated_version(form: ADSForm, ads: ADS | None) -> int | None:
    """The version the page sent was opened at, when someone has saved the ADS since
    (save_ads checks it again, atomically, for a save made while this request runs)."""
    if ads is None or not form.is_bound:
        return None
    try:
        opened = form.fields["version"].clean(form["version"].value())
    except ValidationError:
        return None
    return opened if opened is not None and opened != ads.version else None


def _edit(request, authority, ads: ADS | None):
    instance = ads or ADS(authority=authority)
    form = ADSForm(request.POST or None, instance=instance, authority=authority)
    formset = DriverFormSet(request.POST or None, instance=instance, prefix="drivers")
    typed = _as_typed(form, instance)
    refusals = formset.refusals_to_add(typed)
    outdated = _outdated_version(form, ads)
    conflict = None
    if request.method == "POST" and ADD_DRIVER in request.POST:
        # Not a save: the version sent is kept for the one to come.
        if refusals:
            for refusal in refusals:
                messages.error(request, refusal)
        else:
            formset = formset.with_another_row()
            refusals = formset.refusals_to_add(typed)
        _without_errors(form, formset)
    elif outdated is not None:
        # Not validated: the rows of drivers removed since would only be refused as not
        # this ADS's, when the person needs to be told what changed.
        conflict = ConflictError.since(ads, outdated)
        _without_errors(form, formset)
    elif request.method == "POST":
        # The ADS form first: the drivers' rules depend on the ADS it has just cleaned.
        form_ok = form.is_valid()
        if form_ok and formset.is_valid():
            try:
                saved = save_ads(form, formset, request.user, form.cleaned_data["comment"])
            except ConflictError as error:
                conflict = error
            except IntegrityError:
                # Two people declared the same number at the same moment: the database
                # constraint caught what the form's check could not see yet.
                if not form.number_is_taken():
                    raise
                form.add_error("number", ADS_NUMBER_TAKEN.format(number=form.instance.number))
            else:
                notify_prefecture_of_change(
                    saved,
                    request.user,
                    form.cleaned_data["comment"],
                    site_url=site_url(request),
                )
                messages.success(
                    request,
                    f"L’ADS n° {saved.number} a été enregistrée."
                    + ("" if saved.is_complete else " Elle reste à compléter."),
                )
                return redirect("ads:detail", saved.pk)
        if not conflict:
            messages.error(
                request, "L’ADS n’a pas été enregistrée : corrigez les erreurs signalées."
            )
    return render(
        request,
        "ads/ads_form.html",
        {
            "authority": authority,
            "ads": ads,
            "form": form,
            "formset": formset,
            "can_add_driver": not refusals,
            "conflict": conflict,
        },
        status=409 if conflict else 200,
    )


@login_required
def ads_create(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, write=True)
    return _edit(request, authority, None)


@login_required
def ads_edit(request, ads_id: int):
    ads = get_ads_for_user(request.user, ads_id, write=True)
    return _edit(request, ads.authority, ads)


@read_only
@login_required
def ads_detail(request, ads_id: int):
    ads = get_ads_for_user(request.user, ads_id, include_deleted=True)
    drivers = list(ads.drivers.all())
    return render(
        request,
        "ads/ads_detail.html",
        {
            "ads": ads,
            "authority": ads.authority,
            "drivers": drivers,
            "documents": list(ads.documents.all()),
            "missing": ads.missing_information(drivers),
            "renewal_overdue": ads.is_renewal_overdue(),
            "rights": rights_on(request.user, ads),
        },
    )


@login_required
def ads_delete(request, ads_id: int):
    ads = get_ads_for_user(request.user, ads_id, write=True)
    form = ADSDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        delete_ads(ads, request.user, form.cleaned_data["comment"])
        notify_prefecture_of_change(
            ads,
            request.user,
            f"Suppression : {form.cleaned_data['comment']}",
            site_url=site_url(request),
        )
        messages.success(
            request,
            f"L’ADS n° {ads.number} a été supprimée. "
            "L’équipe nationale peut la restaurer si besoin.",
        )
        return redirect("ads:list", ads.authority_id)
    return render(
        request,
        "ads/ads_confirm_delete.html",
        {"ads": ads, "authority": ads.authority, "form": form},
    )


@login_required
@require_POST
def ads_restore(request, ads_id: int):
    if not request.user.is_staff:
        raise Http404
    ads = get_ads_for_user(request.user, ads_id, include_deleted=True)
    try:
        restore_ads(ads, request.user)
    except RestoreError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"L’ADS n° {ads.number} a été restaurée.")
    return redirect(reverse("ads:detail", args=[ads.pk]))
