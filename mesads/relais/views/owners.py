from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from mesads.core.http import site_url
from mesads.users.notifications import send_after_commit

from .. import services
from ..access import get_invitation_for_user, get_owner_for_member
from ..forms import InvitationForm, OwnerForm
from ..models import Invitation, Owner, Vehicle


@login_required
def space(request):
    """The owner's space: their companies, and the invitations waiting for them."""
    owners = list(Owner.objects.of_member(request.user))
    invitations = Invitation.objects.filter(
        email__iexact=request.user.email, accepted_at__isnull=True
    ).select_related("owner")
    return render(request, "relais/space.html", {"owners": owners, "invitations": invitations})


@login_required
def owner_create(request):
    form = OwnerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        owner = services.create_owner(form.instance, request.user)
        messages.success(request, "Votre entreprise est déclarée : inscrivez ses véhicules.")
        return redirect("relais:owner", owner.pk)
    return render(request, "relais/owner_form.html", {"form": form})


@login_required
def owner_detail(request, owner_id: int):
    owner = get_owner_for_member(request.user, owner_id)
    vehicles = owner.vehicles.select_related("departement", "commune").order_by(
        "departement__code", "sequence"
    )
    return render(
        request,
        "relais/owner_detail.html",
        {
            "owner": owner,
            "vehicles": vehicles,
            "members": owner.memberships.select_related("user").order_by("user__email"),
            "invitations": owner.invitations.filter(accepted_at__isnull=True),
            "Status": Vehicle.Status,
        },
    )


@login_required
def owner_edit(request, owner_id: int):
    owner = get_owner_for_member(request.user, owner_id)
    form = OwnerForm(request.POST or None, instance=owner)
    if request.method == "POST" and form.is_valid():
        services.update_owner(form.instance, request.user)
        messages.success(request, "Les informations de l’entreprise sont enregistrées.")
        return redirect("relais:owner", owner.pk)
    return render(request, "relais/owner_form.html", {"form": form, "owner": owner})


@login_required
def owner_invite(request, owner_id: int):
    owner = get_owner_for_member(request.user, owner_id)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        with transaction.atomic():
            services.invite(owner, email, request.user)
            body = render_to_string(
                "relais/emails/invitation.txt",
                {
                    "owner": owner,
                    "inviter": request.user,
                    "signup_url": site_url(request) + reverse("relais:signup"),
                    "space_url": site_url(request) + reverse("relais:space"),
                },
            )
            send_after_commit(
                email, f"[Mes ADS] Invitation à gérer les taxis relais de {owner.name}", body
            )
        messages.success(request, f"Une invitation a été envoyée à {email}.")
        return redirect("relais:owner", owner.pk)
    return render(request, "relais/owner_invite.html", {"form": form, "owner": owner})


@login_required
@require_POST
def invitation_accept(request, invitation_id: int):
    invitation = get_invitation_for_user(request.user, invitation_id)
    services.accept_invitation(invitation, request.user)
    messages.success(request, f"Vous gérez désormais les taxis relais de {invitation.owner.name}.")
    return redirect("relais:owner", invitation.owner_id)
