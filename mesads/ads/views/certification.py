"""Actions of the certification workflow on one ADS: the manager attests it again, the
prefecture certifies it or sends it back. All are POST; each redirects to the ADS page."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from mesads.core.http import site_url

from ..access import get_ads_for_user
from ..certification import CertificationError, attest, certify, rights_on, send_back
from ..models import ADS


def get_ads_to_certify(user, ads_id: int) -> ADS:
    """An ADS the user may certify or send back.

    One they cannot read is a 404; one they read without being an agent of its
    département's prefecture (its manager, an inspector) is a 403.
    """
    ads = get_ads_for_user(user, ads_id)
    if not rights_on(user, ads).certify:
        raise PermissionDenied(
            "Seuls les agents de la préfecture du département de cette ADS peuvent la "
            "certifier ou la renvoyer à son gestionnaire."
        )
    return ads


@login_required
@require_POST
def ads_attest(request, ads_id: int):
    ads = get_ads_for_user(request.user, ads_id, write=True)
    attest(ads, request.user)
    messages.success(
        request, f"Vous avez attesté l’exactitude de l’ADS n° {ads.number}, sans la modifier."
    )
    return redirect("ads:detail", ads.pk)


@login_required
@require_POST
def ads_certify(request, ads_id: int):
    ads = get_ads_to_certify(request.user, ads_id)
    try:
        changed = certify(ads, request.user)
    except CertificationError as error:
        messages.error(request, str(error))
    else:
        if changed:
            messages.success(request, f"L’ADS n° {ads.number} est certifiée.")
        else:
            messages.info(
                request, f"L’ADS n° {ads.number} était déjà certifiée, sans modification depuis."
            )
    return redirect("ads:detail", ads.pk)


class SendBackForm(DsfrBaseForm):
    comment = forms.CharField(
        label="Message au gestionnaire",
        help_text="Ce qu’il faut vérifier ou corriger. Il est envoyé par courriel aux "
        "gestionnaires, affiché sur la page de l’ADS et conservé dans son historique.",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


@login_required
def ads_send_back(request, ads_id: int):
    ads = get_ads_to_certify(request.user, ads_id)
    form = SendBackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        link = site_url() + reverse("ads:detail", args=[ads.pk])
        sent = send_back(ads, request.user, form.cleaned_data["comment"], link)
        messages.success(
            request,
            f"L’ADS n° {ads.number} a été renvoyée à son gestionnaire"
            + (
                f" ({sent} personne{'s' if sent > 1 else ''} prévenue{'s' if sent > 1 else ''} "
                "par courriel)."
                if sent
                else ". Aucun courriel n’est parti : ses gestionnaires ont désactivé ces "
                "notifications, ou il n’en a pas encore."
            ),
        )
        return redirect("ads:detail", ads.pk)
    return render(
        request,
        "ads/prefecture/send_back.html",
        {"ads": ads, "authority": ads.authority, "form": form},
    )
