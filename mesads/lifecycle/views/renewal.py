"""The renewal of a new-regime ADS as an action: a confirmation page, then a POST that
sets the renewal date in one revision (« Renouvellement » in the history) and offers the
renewal decree."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from mesads.ads.access import get_ads_for_user
from mesads.ads.models import RENEWAL_YEARS, add_years

from .. import decrees
from ..forms import RenewalForm
from ..services import renew_ads, renewal_errors


@login_required
def ads_renew(request, ads_id: int):
    ads = get_ads_for_user(request.user, ads_id, write=True)
    refusal = next(iter(renewal_errors(ads, None)), None)
    form = RenewalForm(request.POST or None, ads=ads)
    if request.method == "POST" and refusal is None and form.is_valid():
        try:
            renewed = renew_ads(ads, form.cleaned_data["date"], request.user)
        except ValidationError as error:  # renewed meanwhile by someone else
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"L’ADS n° {renewed.number} est renouvelée jusqu’au "
                f"{renewed.renewal_due_date:%d/%m/%Y}. Préparez l’arrêté de renouvellement "
                "ci-dessous, puis déposez-le signé.",
            )
            return redirect("lifecycle:ads_decree", renewed.pk, decrees.Kind.RENEWAL)
    elif request.method == "POST" and refusal:
        messages.error(request, refusal)
    return render(
        request,
        "lifecycle/renewal_confirm.html",
        {
            "ads": ads,
            "authority": ads.authority,
            "form": form,
            "refusal": refusal,
            "next_due": add_years(timezone.localdate(), RENEWAL_YEARS) if not refusal else None,
        },
    )
