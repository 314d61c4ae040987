"""Who manages which authority, and who decides it.

- A person asks to manage an authority (attesting they work for it); the prefecture of
  its département accepts, refuses, or later revokes. National staff may decide too.
- A person asks to join a prefecture's staff; national staff accept or refuse.
- A prefecture agent may act as manager of an authority of its own département: the
  choice is explicit and recorded as an accepted access marked ``via_prefecture``.

Every decision is recorded (who, when, why) on the row itself, and the person concerned
is told by e-mail unless they switched that notification off. Decisions are conditional
updates on the row's current status, so two agents deciding the same request at the same
moment cannot both win.
"""

import re
from functools import cached_property

from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone

from mesads.authorities.models import Authority
from mesads.core.text import search_key
from mesads.users.scope import forget_scope, scope_for

from .models import AuthorityAccess, PrefectureMembership, Status, User
from .notifications import notify

# What a request list and a request page display, in one query.
ACCESS_RELATED = ("user", "authority", "authority__departement", "decided_by")
# What a search result displays beside the name (Authority.code, the département).
AUTHORITY_RELATED = ("commune", "epci", "prefecture", "airport", "departement")


class AccessError(Exception):
    """A request or a decision that cannot be made; the message is for the user."""


# ---------------------------------------------------------------------------------------
# Scopes
# ---------------------------------------------------------------------------------------


def agent_departement_ids(user: User) -> QuerySet:
    """The départements whose prefecture staff the user belongs to (accepted)."""
    return PrefectureMembership.objects.filter(user=user, status=Status.ACCEPTED).values(
        "departement_id"
    )


def decidable_accesses(user: User) -> QuerySet[AuthorityAccess]:
    """The access requests the user may decide: those for the authorities of their
    département(s) for a prefecture agent, every one for national staff, none otherwise.

    An authority with no département (an EPCI whose seat is unknown) is decided by
    national staff only. An agent never decides his own request: accepted, it would be a
    manager's access that outlives his membership of the prefecture, unlike acting as
    manager (``via_prefecture``); another agent or national staff decides it.
    """
    queryset = AuthorityAccess.objects.select_related(*ACCESS_RELATED)
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_staff:
        return queryset
    departements = sorted(scope_for(user).agent_departement_ids)
    return queryset.filter(authority__departement__in=departements).exclude(user=user)


def actable_authorities(user: User) -> QuerySet[Authority]:
    """The authorities a prefecture agent may choose to manage: those of its own
    département(s), never another's. National staff already write everywhere."""
    if not user.is_authenticated or not user.is_active:
        return Authority.objects.none()
    departements = sorted(scope_for(user).agent_departement_ids)
    return Authority.objects.filter(departement__in=departements).select_related(*AUTHORITY_RELATED)


def requestable_authorities() -> QuerySet[Authority]:
    """Any authority may be asked for: the list of territories is public (one authority
    per commune, EPCI, prefecture and airport); what it holds is not."""
    return Authority.objects.select_related(*AUTHORITY_RELATED)


def agents_of(authority: Authority) -> QuerySet[User]:
    """The prefecture agents who supervise this authority."""
    if authority.departement_id is None:
        return User.objects.none()
    return User.objects.filter(
        is_active=True,
        prefecture_memberships__departement=authority.departement_id,
        prefecture_memberships__status=Status.ACCEPTED,
    ).distinct()


# Codes typed alone, or picked from the suggestions ("Nîmes (30189)"): INSEE (2A/2B for
# Corsica), SIREN, département, airport (OACI).
_CODE_IN_BRACKETS = re.compile(r"\(([0-9A-Za-z]{2,9})\)\s*$")
_CODE = re.compile(r"^(?:[0-9]{9}|[0-9][0-9AB][0-9]{3}|[0-9]{2,3}|2[AB]|[A-Z]{4})$", re.I | re.A)


def search_authorities(text: str, user: User | None = None) -> QuerySet[Authority]:
    """Authorities matching a name, an INSEE code, a SIREN, a département code (its
    prefecture) or an airport code; names starting with the text come first.

    With ``user``, each result carries ``my_status``: the status of that user's access
    to it (None if never asked), so that the list can say "en attente" or "vous gérez
    déjà" without a query per row.
    """
    text = " ".join(text.split())
    queryset = requestable_authorities()
    if match := _CODE_IN_BRACKETS.search(text):
        code = match.group(1).upper()
        condition = _code_condition(code)
    else:
        condition = Q(search_name__contains=search_key(text))
        if _CODE.match(text):
            condition |= _code_condition(text.upper())
    queryset = queryset.filter(condition)
    if user is not None:
        queryset = queryset.annotate(
            my_status=Subquery(
                AuthorityAccess.objects.filter(user=user, authority=OuterRef("pk")).values(
                    "status"
                )[:1]
            )
        )
    # Names starting with the text first: "Nîmes" before "Nîmes Métropole" before
    # "Saint-Gervasy" (whose EPCI is "…de Nîmes").
    rank = Case(
        When(search_name=search_key(text), then=Value(0)),
        When(search_name__startswith=search_key(text), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return queryset.alias(rank=rank).order_by("rank", "name", "pk")


def _code_condition(code: str) -> Q:
    return (
        Q(commune__insee_code=code)
        | Q(epci__siren=code)
        | Q(prefecture__code=code)
        | Q(airport__code=code)
    )


# ---------------------------------------------------------------------------------------
# Managing an authority
# ---------------------------------------------------------------------------------------


def existing_request_error(user: User, authority: Authority) -> str | None:
    """Why the user cannot ask for this authority now, in French; None if they can.

    A refused or revoked person may ask again (with a better message, or once the
    mistake is fixed): the same row is reopened.
    """
    status = (
        AuthorityAccess.objects.filter(user=user, authority=authority)
        .values_list("status", flat=True)
        .first()
    )
    if status == Status.PENDING:
        return (
            f"Vous avez déjà demandé à gérer {authority.name} : votre demande est en "
            "attente de la décision de la préfecture."
        )
    if status == Status.ACCEPTED:
        return f"Vous gérez déjà {authority.name}."
    return None


def request_access(
    user: User, authority: Authority, message: str, *, site_url: str
) -> AuthorityAccess:
    """Ask to manage ``authority``; the prefecture agents of its département are told."""
    with transaction.atomic():
        access = (
            AuthorityAccess.objects.select_for_update()
            .filter(user=user, authority=authority)
            .first()
        )
        if error := existing_request_error(user, authority):
            raise AccessError(error)
        if access is None:
            try:
                with transaction.atomic():
                    access = AuthorityAccess.objects.create(
                        user=user, authority=authority, message=message
                    )
            except IntegrityError:
                # The same person sent the form twice at the same moment.
                raise AccessError(
                    existing_request_error(user, authority)
                    or "Votre demande a déjà été enregistrée."
                ) from None
        else:
            access.status = Status.PENDING
            access.message = message
            access.via_prefecture = False
            access.decision_comment = ""
            access.decided_at = None
            access.decided_by = None
            access.created_at = timezone.now()
            access.save()
    notify(
        "access_request",
        agents_of(authority),
        f"Nouvelle demande d’accès à {authority.name}",
        "users/emails/access_request.txt",
        {
            "access": access,
            "authority": authority,
            "requester": user,
            "url": site_url + reverse("access:request_detail", args=[access.pk]),
        },
    )
    return access


def _decide(
    access: AuthorityAccess, by: User, *, from_status: str, to_status: str, comment: str = ""
) -> None:
    now = timezone.now()
    updated = AuthorityAccess.objects.filter(pk=access.pk, status=from_status).update(
        status=to_status, decided_at=now, decided_by=by, decision_comment=comment
    )
    if not updated:
        raise AccessError(
            "Cette demande a déjà été traitée entre-temps : rechargez la page pour voir "
            "la décision."
        )
    access.status, access.decided_at, access.decided_by = to_status, now, by
    access.decision_comment = comment
    forget_scope(access.user)


def _tell_requester(access: AuthorityAccess, subject: str, site_url: str) -> None:
    notify(
        "access_decision",
        [access.user],
        subject,
        "users/emails/access_decision.txt",
        {
            "access": access,
            "authority": access.authority,
            "home_url": site_url + reverse("home"),
            "dashboard_url": site_url + reverse("ads:authority", args=[access.authority_id]),
            "request_url": site_url + reverse("access:search"),
        },
    )


def accept_access(access: AuthorityAccess, by: User, *, site_url: str) -> None:
    _decide(access, by, from_status=Status.PENDING, to_status=Status.ACCEPTED)
    _tell_requester(
        access, f"Votre demande d’accès à {access.authority.name} est acceptée", site_url
    )


def refuse_access(access: AuthorityAccess, by: User, comment: str, *, site_url: str) -> None:
    _decide(access, by, from_status=Status.PENDING, to_status=Status.REFUSED, comment=comment)
    _tell_requester(
        access, f"Votre demande d’accès à {access.authority.name} est refusée", site_url
    )


def revoke_access(access: AuthorityAccess, by: User, comment: str, *, site_url: str) -> None:
    _decide(access, by, from_status=Status.ACCEPTED, to_status=Status.REVOKED, comment=comment)
    _tell_requester(access, f"Votre accès à {access.authority.name} est révoqué", site_url)


def act_as_manager(agent: User, authority: Authority) -> AuthorityAccess:
    """Let a prefecture agent manage an authority of its own département.

    The caller must have found ``authority`` through ``actable_authorities(agent)``. The
    access is accepted at once and records that the agent chose it, and when.
    """
    now = timezone.now()
    with transaction.atomic():
        access, created = AuthorityAccess.objects.select_for_update().get_or_create(
            user=agent,
            authority=authority,
            defaults={
                "status": Status.ACCEPTED,
                "via_prefecture": True,
                "decided_at": now,
                "decided_by": agent,
            },
        )
        if not created:
            if access.status == Status.ACCEPTED:
                raise AccessError(f"Vous gérez déjà {authority.name}.")
            access.status = Status.ACCEPTED
            access.via_prefecture = True
            access.decided_at = now
            access.decided_by = agent
            access.decision_comment = ""
            access.save()
    forget_scope(agent)
    return access


# ---------------------------------------------------------------------------------------
# Prefecture staff
# ---------------------------------------------------------------------------------------


def existing_membership_error(user: User, departement_id: int) -> str | None:
    status = (
        PrefectureMembership.objects.filter(user=user, departement=departement_id)
        .values_list("status", flat=True)
        .first()
    )
    if status == Status.PENDING:
        return (
            "Vous avez déjà demandé à rejoindre cette préfecture : votre demande est en "
            "attente de l’équipe nationale."
        )
    if status == Status.ACCEPTED:
        return "Vous êtes déjà agent de cette préfecture."
    return None


def request_membership(user: User, departement, message: str) -> PrefectureMembership:
    """Ask to join the prefecture staff of ``departement``; national staff decide."""
    with transaction.atomic():
        membership = (
            PrefectureMembership.objects.select_for_update()
            .filter(user=user, departement=departement)
            .first()
        )
        if error := existing_membership_error(user, departement.pk):
            raise AccessError(error)
        if membership is None:
            try:
                with transaction.atomic():
                    return PrefectureMembership.objects.create(
                        user=user, departement=departement, message=message
                    )
            except IntegrityError:
                raise AccessError(
                    existing_membership_error(user, departement.pk)
                    or "Votre demande a déjà été enregistrée."
                ) from None
        membership.status = Status.PENDING
        membership.message = message
        membership.decided_at = None
        membership.decided_by = None
        membership.created_at = timezone.now()
        membership.save()
    return membership


def decide_membership(
    membership: PrefectureMembership, by: User, *, accept: bool, site_url: str
) -> None:
    """Accept or refuse a pending request to join a prefecture's staff."""
    now = timezone.now()
    status = Status.ACCEPTED if accept else Status.REFUSED
    updated = PrefectureMembership.objects.filter(pk=membership.pk, status=Status.PENDING).update(
        status=status, decided_at=now, decided_by=by
    )
    if not updated:
        raise AccessError(f"La demande de {membership.user} a déjà été traitée.")
    membership.status, membership.decided_at, membership.decided_by = status, now, by
    forget_scope(membership.user)
    verdict = "acceptée" if accept else "refusée"
    notify(
        "access_decision",
        [membership.user],
        f"Votre demande pour rejoindre la préfecture ({membership.departement.name}) est {verdict}",
        "users/emails/membership_decision.txt",
        {
            "membership": membership,
            "departement": membership.departement,
            "requests_url": site_url + reverse("access:requests"),
        },
    )


def revoke_membership(membership: PrefectureMembership, by: User, *, site_url: str) -> int:
    """Withdraw an agent from a prefecture's staff.

    The registers it chose to manage as an agent of that département are closed too:
    that right came with the role. Returns how many were closed.
    """
    now = timezone.now()
    updated = PrefectureMembership.objects.filter(pk=membership.pk, status=Status.ACCEPTED).update(
        status=Status.REVOKED, decided_at=now, decided_by=by
    )
    if not updated:
        raise AccessError(f"{membership.user} n’est pas agent de cette préfecture.")
    membership.status, membership.decided_at, membership.decided_by = Status.REVOKED, now, by
    closed = AuthorityAccess.objects.filter(
        user=membership.user_id,
        via_prefecture=True,
        status=Status.ACCEPTED,
        authority__departement=membership.departement_id,
    ).update(
        status=Status.REVOKED,
        decided_at=now,
        decided_by=by,
        decision_comment="Fin des fonctions d’agent de la préfecture.",
    )
    forget_scope(membership.user)
    notify(
        "access_decision",
        [membership.user],
        f"Vous n’êtes plus agent de la préfecture ({membership.departement.name})",
        "users/emails/membership_decision.txt",
        {
            "membership": membership,
            "departement": membership.departement,
            "requests_url": site_url + reverse("access:requests"),
        },
    )
    return closed


def pending_memberships() -> QuerySet[PrefectureMembership]:
    return PrefectureMembership.objects.filter(status=Status.PENDING)


# ---------------------------------------------------------------------------------------
# What the logged-in user holds (home page, navigation)
# ---------------------------------------------------------------------------------------


class UserAccess:
    """The user's authorities, memberships and roles, each read on first use only: the
    navigation asks whether the user is a prefecture agent on every page (the user's
    scope answers), the rest is for the home page."""

    def __init__(self, user: User):
        self.user = user

    @cached_property
    def _authenticated(self) -> bool:
        return bool(self.user.is_authenticated and self.user.is_active)

    @cached_property
    def authority_accesses(self) -> list[AuthorityAccess]:
        if not self._authenticated:
            return []
        return list(
            self.user.authority_accesses.select_related(
                "authority", "authority__departement"
            ).order_by("authority__name", "pk")
        )

    @cached_property
    def managed(self) -> list[AuthorityAccess]:
        return [a for a in self.authority_accesses if a.status == Status.ACCEPTED]

    @cached_property
    def memberships(self) -> list[PrefectureMembership]:
        if not self._authenticated:
            return []
        return list(
            self.user.prefecture_memberships.select_related("departement").order_by(
                "departement__code"
            )
        )

    @cached_property
    def agent_departements(self) -> list:
        return [m.departement for m in self.memberships if m.status == Status.ACCEPTED]

    @cached_property
    def open_memberships(self) -> list[PrefectureMembership]:
        """Requests to join a prefecture that did not (or no longer) succeed."""
        return [m for m in self.memberships if m.status != Status.ACCEPTED]

    @property
    def is_prefecture_agent(self) -> bool:
        # From the user's scope, which the page's access checks have usually read already.
        return scope_for(self.user).is_prefecture_agent

    @cached_property
    def pending_requests_count(self) -> int:
        if not (self.user.is_staff or self.is_prefecture_agent):
            return 0
        return decidable_accesses(self.user).filter(status=Status.PENDING).count()

    @cached_property
    def pending_memberships_count(self) -> int:
        return pending_memberships().count() if self.user.is_staff else 0
