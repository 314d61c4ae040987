"""Which Mes ADS account a ProConnect identity is.

1. The account that already carries the identity's ``sub``: ProConnect's subject is
   stable for one service and one identity provider, unlike an e-mail address, which a
   person may change in Mes ADS or their administration may reassign.
2. Otherwise, when an account has the same e-mail address, **nothing is linked by the
   claim alone** (OPERATIONS.md, review of 2026-12-07, M1: whoever controls one loose
   identity provider of the federation could claim any address, national staff's
   included). The person proves the account instead: back from ProConnect, they type the
   account's password once (``link_to_confirm`` then ``confirm_link``, lockout and audit
   as at the login page); the owner is told by e-mail and the link is recorded
   (``ProConnectLink``, in the admin). Accounts with extended rights (national staff,
   superusers, prefecture agents, inspectors) are never linked this way: the attempt is
   refused and recorded, and national staff link such an account in the admin after
   checking with its owner. An account linked to another identity already is refused.
3. Otherwise a new account with no access: the person then asks for access to an
   authority or to a prefecture, as anyone does (mesads.users.access_requests), unless
   the address looks like an existing account's (same confusables skeleton: "equıpe…"
   with a dotless ı beside "equipe…"), which is refused and recorded for national staff.

An address the provider states it did not check (``email_verified: false``) neither
opens an account nor is offered for linking. ProConnect itself sends no
``email_verified``: its absence changes nothing, since no link rests on the address.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import ProConnectLink, User

NAME_LENGTH = User._meta.get_field("first_name").max_length


class AccountRefused(Exception):
    """No account may be opened for this identity; the message is for the person."""


@dataclass
class Match:
    user: User
    created: bool = False


def email_is_verified(claims: dict) -> bool:
    return claims.get("email_verified", True) is True


def claimed_email(claims: dict) -> str:
    return User.objects.normalize_email(claims.get("email"))


def login_name(claims: dict) -> str:
    """The address the lockout and the audit count this login against: the account's
    own address when the identity is already linked, else the address ProConnect gives."""
    linked = User.objects.filter(proconnect_sub=claims["sub"]).values_list("email", flat=True)
    return linked.first() or claimed_email(claims)


def _record(outcome: str, user: User, claims: dict, ip_address: str | None, by=None) -> None:
    ProConnectLink.objects.create(
        outcome=outcome,
        user=user,
        sub=claims["sub"],
        claimed_email=str(claims.get("email") or "")[:254],
        siret=str(claims.get("siret") or "")[:14],
        ip_address=ip_address,
        by=by,
    )


def _usable_email(claims: dict) -> str:
    email = claimed_email(claims)
    if not email or not User.objects.is_canonical_email(claims.get("email")):
        # A look-alike address ("ſ" long s…) is never matched to another account.
        raise AccountRefused(
            "ProConnect n’a pas transmis d’adresse électronique utilisable par Mes ADS."
        )
    if not email_is_verified(claims):
        raise AccountRefused(
            "ProConnect n’a pas pu garantir votre adresse électronique : connectez-vous "
            "avec votre adresse et votre mot de passe Mes ADS, ou contactez l’équipe "
            "nationale."
        )
    return email


def link_to_confirm(claims: dict) -> User | None:
    """The account this new identity may be linked to once its owner types the account's
    password: same address, active, not linked yet, without extended rights. None when
    there is no such account (match_account then decides)."""
    if User.objects.filter(proconnect_sub=claims["sub"]).exists():
        return None
    try:
        email = _usable_email(claims)
    except AccountRefused:
        return None
    user = User.objects.filter(email=email, proconnect_sub__isnull=True, is_active=True).first()
    if user is None or user.has_extended_rights:
        return None
    return user


def confirm_link(user: User, claims: dict, ip_address: str | None) -> bool:
    """Link the identity to the account whose password was just typed; False when it
    was linked to another identity meanwhile, or its rights changed."""
    if user.has_extended_rights:
        return False
    try:
        with transaction.atomic():
            # Conditional: two confirmations racing for one account cannot both win; the
            # unique subject refuses an identity linked to another account meanwhile.
            linked = User.objects.filter(
                pk=user.pk, proconnect_sub__isnull=True, is_active=True
            ).update(proconnect_sub=claims["sub"])
            if not linked:
                return False
            user.proconnect_sub = claims["sub"]
            _record(ProConnectLink.Outcome.CONFIRMED, user, claims, ip_address)
            notify_link(user, claims, by_staff=False)
    except IntegrityError:
        return False
    return True


def notify_link(user: User, claims: dict | None, *, by_staff: bool) -> None:
    """Tell the owner, at the account's address, that a ProConnect identity now opens it.
    Not a preference one may switch off: it is how a taken-over account is noticed."""
    from ..notifications import send_after_commit

    body = render_to_string(
        "users/emails/proconnect_linked.txt",
        {
            "user": user,
            "claimed_email": (claims or {}).get("email", ""),
            "siret": (claims or {}).get("siret", ""),
            "by_staff": by_staff,
            "date": timezone.localtime(),
        },
    )
    subject = "[Mes ADS] Votre compte est désormais associé à ProConnect"

    send_after_commit(user.email, subject, body)


def match_account(claims: dict, ip_address: str | None = None) -> Match:
    sub = claims["sub"]
    user = User.objects.filter(proconnect_sub=sub).first()
    if user is not None:
        return Match(user)

    email = _usable_email(claims)
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        if existing.proconnect_sub:
            raise AccountRefused(
                "Votre compte Mes ADS est déjà associé à une autre identité ProConnect. "
                "Connectez-vous avec votre adresse et votre mot de passe, ou contactez "
                "l’équipe nationale."
            )
        if not existing.is_active:
            return Match(existing)  # refused by the backend, as any inactive account
        if existing.has_extended_rights:
            _record(ProConnectLink.Outcome.REFUSED_RIGHTS, existing, claims, ip_address)
            raise AccountRefused(
                "Ce compte Mes ADS dispose de droits étendus (équipe nationale, préfecture "
                "ou contrôle) : il ne peut pas être associé à ProConnect depuis cette page. "
                "Connectez-vous avec votre adresse et votre mot de passe, et demandez "
                "l’association à l’équipe nationale."
            )
        # Linked only once its owner confirms (link_to_confirm); reaching here means the
        # account changed meanwhile.
        raise AccountRefused("La connexion avec ProConnect n’a pas abouti : réessayez.")

    lookalike = User.objects.lookalike_of(email)
    if lookalike is not None:
        _record(ProConnectLink.Outcome.REFUSED_LOOKALIKE, lookalike, claims, ip_address)
        raise AccountRefused(
            "Votre adresse électronique ressemble trop à celle d’un autre compte Mes ADS "
            "pour ouvrir un compte : contactez l’équipe nationale."
        )

    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email,
                password=None,  # unusable: this person logs in through ProConnect only
                first_name=(claims.get("given_name") or "")[:NAME_LENGTH],
                last_name=(claims.get("usual_name") or "")[:NAME_LENGTH],
                proconnect_sub=sub,
            )
    except IntegrityError as exc:
        # The same person's login in another tab created or linked the account meanwhile.
        raise AccountRefused("La connexion avec ProConnect n’a pas abouti : réessayez.") from exc
    return Match(user, created=True)
