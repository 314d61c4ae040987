"""Which Mes ADS account a ProConnect identity is.

1. The account that already carries the identity's ``sub``: ProConnect's subject is
   stable for one service and one identity provider, unlike an e-mail address, which a
   person may change in Mes ADS or their administration may reassign.
2. Otherwise the account with the same e-mail address, linked to the ``sub`` **once**,
   only if the address is verified, and only if that account is not linked to another
   ProConnect identity already (a second identity claiming the address is refused, not
   re-linked: that would hand the account to whoever controls the other identity).
3. Otherwise a new account with no access: the person then asks for access to an
   authority or to a prefecture, as anyone does (mesads.users.access_requests).

When is an address verified? ProConnect sends no ``email_verified`` claim: each identity
provider of the federation answers for its own mail domains (ProConnect routes a person
to the provider of their address's domain), and ProConnect's documentation recommends the
professional e-mail for reconciling identities. So an address is taken as verified
unless the provider says otherwise: ``email_verified: false`` (a provider of the
federation, or another OpenID Connect provider, stating it did not check the address)
neither links an existing account nor creates one under that address.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ..models import User

NAME_LENGTH = User._meta.get_field("first_name").max_length


class AccountRefused(Exception):
    """No account may be opened for this identity; the message is for the person."""


@dataclass
class Match:
    user: User
    created: bool = False
    linked: bool = False


def email_is_verified(claims: dict) -> bool:
    return claims.get("email_verified", True) is True


def claimed_email(claims: dict) -> str:
    return User.objects.normalize_email(claims.get("email"))


def login_name(claims: dict) -> str:
    """The address the lockout and the audit count this login against: the account's
    own address when the identity is already linked, else the address ProConnect gives."""
    linked = User.objects.filter(proconnect_sub=claims["sub"]).values_list("email", flat=True)
    return linked.first() or claimed_email(claims)


def match_account(claims: dict) -> Match:
    sub = claims["sub"]
    user = User.objects.filter(proconnect_sub=sub).first()
    if user is not None:
        return Match(user)

    email = claimed_email(claims)
    if not email or not User.objects.is_canonical_email(claims.get("email")):
        # A look-alike address ("ı" dotless i…) is never matched to another account.
        raise AccountRefused(
            "ProConnect n’a pas transmis d’adresse électronique utilisable par Mes ADS."
        )
    if not email_is_verified(claims):
        raise AccountRefused(
            "ProConnect n’a pas pu garantir votre adresse électronique : connectez-vous "
            "avec votre adresse et votre mot de passe Mes ADS, ou contactez l’équipe "
            "nationale."
        )

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
        # Conditional: two logins racing to link the same account cannot both win.
        linked = User.objects.filter(pk=existing.pk, proconnect_sub__isnull=True).update(
            proconnect_sub=sub
        )
        if not linked:
            raise AccountRefused("La connexion avec ProConnect n’a pas abouti : réessayez.")
        existing.proconnect_sub = sub
        return Match(existing, linked=True)

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
