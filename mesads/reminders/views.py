"""Reminder campaigns: list, write, preview and confirm, results."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mesads.core.http import site_url
from mesads.core.pagination import Paginator
from mesads.users.scope import scope_for

from . import campaigns as service
from .access import campaigns_for, ensure_can_run_campaigns, get_campaign_for_user
from .forms import CampaignForm
from .models import CampaignRecipient


@login_required
def campaign_list(request):
    ensure_can_run_campaigns(request.user)
    campaigns = campaigns_for(request.user).select_related("departement", "created_by")
    page = Paginator(campaigns, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "reminders/campaign_list.html",
        {"page_obj": page, "is_staff": scope_for(request.user).is_staff},
    )


@login_required
def campaign_create(request):
    ensure_can_run_campaigns(request.user)
    form = CampaignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        campaign = form.save(commit=False)
        campaign.created_by = request.user
        campaign.save()
        return redirect("reminders:campaign", campaign.pk)
    return render(request, "reminders/campaign_form.html", {"form": form, "campaign": None})


@login_required
def campaign_edit(request, campaign_id: int):
    campaign = get_campaign_for_user(request.user, campaign_id)
    if not campaign.is_draft:
        messages.info(request, "Cette campagne est envoyée : elle ne se modifie plus.")
        return redirect("reminders:campaign", campaign.pk)
    form = CampaignForm(request.POST or None, instance=campaign, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("reminders:campaign", campaign.pk)
    return render(request, "reminders/campaign_form.html", {"form": form, "campaign": campaign})


@login_required
def campaign_detail(request, campaign_id: int):
    """Before sending: the preview and the counts to confirm; after: who was sent what,
    and how many targeted authorities have declared since."""
    campaign = get_campaign_for_user(request.user, campaign_id)
    context = {"campaign": campaign}
    if campaign.is_draft:
        context["audience"] = service.audience(campaign)
        example = (
            service.campaign_authorities(campaign)
            .select_related("departement")
            .order_by("name", "pk")
            .first()
        )
        if example is not None:
            context["example"] = example
            context["preview_subject"], context["preview_body"] = service.render_mail(
                campaign, example, site_url(request)
            )
    else:
        context["results"] = service.results(campaign)
        recipients = CampaignRecipient.objects.filter(campaign=campaign).select_related("authority")
        context["page_obj"] = Paginator(recipients, 50).get_page(request.GET.get("page"))
    return render(request, "reminders/campaign_detail.html", context)


@require_POST
@login_required
def campaign_send(request, campaign_id: int):
    campaign = get_campaign_for_user(request.user, campaign_id)
    first = campaign.sent_at is None
    service.confirm(campaign, request.user, site_url=site_url(request))
    messages.success(
        request,
        "La campagne est en cours d’envoi."
        if first
        else "L’envoi est relancé : seules les personnes qui n’ont pas encore reçu la "
        "campagne la recevront.",
    )
    return redirect("reminders:campaign", campaign.pk)
