"""Owners' sign-up: open to anyone, so confirmed by e-mail and rate limited.

The account is created inactive; the link sent to the address (a token that dies once
the account is active, or after PASSWORD_RESET_TIMEOUT) activates it. Sign-ups are
counted per address and per client in the shared cache (Redis in production): beyond
RELAIS_SIGNUP_LIMIT_PER_ADDRESS / _PER_CLIENT in RELAIS_SIGNUP_WINDOW seconds, the form
is refused with a French message. An address that already has an account gets an e-mail
saying so, and the page says the same as for a new one: sign-up reveals no account.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from mesads.core.http import site_url
from mesads.users.models import User
from mesads.users.notifications import send_after_commit


class ConfirmationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "mesads.relais.signup.ConfirmationTokenGenerator"

    def _make_hash_value(self, user, timestamp) -> str:
        # Dead once the account is active: a confirmation link works once.
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


confirmation_token = ConfirmationTokenGenerator()


def _limit_reached(key: str, limit: int) -> bool:
    window = settings.RELAIS_SIGNUP_WINDOW
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        count = 1
    return count > limit


def limit_reached(email: str, client: str | None) -> bool:
    """Count this attempt; True when the address or the client has made too many."""
    by_address = _limit_reached(
        f"relais-signup:address:{email}", settings.RELAIS_SIGNUP_LIMIT_PER_ADDRESS
    )
    by_client = _limit_reached(
        f"relais-signup:client:{client or '-'}", settings.RELAIS_SIGNUP_LIMIT_PER_CLIENT
    )
    return by_address or by_client


def sign_up(request, email: str, password: str) -> None:
    existing = User.objects.filter(email=email).first()
    if existing is not None and existing.is_active:
        body = render_to_string(
            "relais/emails/signup_existing.txt",
            {
                "login_url": site_url(request) + reverse("login"),
                "reset_url": site_url(request) + reverse("password_reset"),
            },
        )
        send_after_commit(email, "[Mes ADS] Vous avez déjà un compte", body)
        return
    with transaction.atomic():
        if existing is None:
            user = User.objects.create_user(email, password, is_active=False)
        else:  # a sign-up never confirmed: the new password replaces the old
            user = existing
            user.set_password(password)
            user.save(update_fields=["password"])
        link = site_url(request) + reverse(
            "relais:signup_confirm",
            args=[urlsafe_base64_encode(force_bytes(user.pk)), confirmation_token.make_token(user)],
        )
        body = render_to_string(
            "relais/emails/signup_confirm.txt",
            {"link": link, "hours": settings.PASSWORD_RESET_TIMEOUT // 3600},
        )
        send_after_commit(email, "[Mes ADS] Confirmez votre adresse électronique", body)
