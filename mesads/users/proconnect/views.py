"""The login page, and the ProConnect login and logout round trips."""

import logging
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.crypto import constant_time_compare, get_random_string
from django.utils.decorators import method_decorator
from django.views import View
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from ..forms import ProConnectLinkForm
from ..middleware import client_ip
from ..models import User
from ..signals import record_failed_proconnect_login
from . import (
    BACKEND,
    CLAIMS_CREDENTIAL,
    ID_TOKEN_SESSION_KEY,
    LOGOUT_STATE_SESSION_KEY,
    PENDING_LINK_SESSION_KEY,
    is_enabled,
)
from .accounts import confirm_link, link_to_confirm, login_name
from .backend import IdentityError, ProConnectBackend, oidc_setting
from .provider import ProviderUnavailable, configuration

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    "ProConnect ne répond pas pour le moment. Réessayez dans quelques minutes, ou "
    "connectez-vous avec votre adresse électronique et votre mot de passe."
)
FAILED = (
    "La connexion avec ProConnect n’a pas abouti. Recommencez depuis cette page ; si le "
    "problème persiste, connectez-vous avec votre adresse électronique et votre mot de passe."
)


class LoginView(auth_views.LoginView):
    """The e-mail + password form, and « S’identifier avec ProConnect » when configured."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["proconnect_enabled"] = is_enabled()
        return context


def _ensure_enabled() -> None:
    if not is_enabled():
        raise Http404("ProConnect n’est pas configuré.")


def _back_to_login(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect(settings.LOGIN_URL)


class StartView(OIDCAuthenticationRequestView):
    """The button's target: to ProConnect's authorization endpoint, with a fresh
    ``state``, ``nonce`` and PKCE challenge kept in the session (mozilla-django-oidc)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs):
        # Not the parent's: it reads the endpoint from settings; ours comes from the
        # discovery document, which may be unreachable (handled in get()).
        View.__init__(self, **kwargs)

    def get(self, request):
        _ensure_enabled()
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = configuration()["authorization_endpoint"]
        except ProviderUnavailable:
            logger.exception("ProConnect's discovery document could not be read")
            return _back_to_login(request, UNAVAILABLE)
        self.OIDC_RP_CLIENT_ID = settings.PROCONNECT_CLIENT_ID
        return super().get(request)


# No database transaction held open while waiting for the provider (three calls, each up
# to PROCONNECT_TIMEOUT seconds); each write below is one statement.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class CallbackView(View):
    """Where ProConnect sends the person back: check the state, exchange the code,
    verify the tokens, find or create the account, log in."""

    http_method_names = ["get"]

    def get(self, request):
        _ensure_enabled()
        state = request.GET.get("state", "")
        states = request.session.get("oidc_states") or {}
        # Single use, whatever happens next: a replayed callback finds nothing.
        attempt = states.pop(state, None) if state else None
        request.session["oidc_states"] = states
        next_url = request.session.get("oidc_login_next")

        if request.GET.get("error"):
            # The person cancelled at ProConnect, or ProConnect refused the request.
            logger.info("ProConnect returned an error: %s", request.GET.get("error"))
            return _back_to_login(request, FAILED)
        code = request.GET.get("code")
        if attempt is None or not code:
            logger.warning("ProConnect callback with an unknown or missing state")
            record_failed_proconnect_login(request)
            return _back_to_login(request, FAILED)

        backend = ProConnectBackend()
        try:
            # RFC 9207: a provider that names itself must be ours (mix-up attacks).
            issuer = request.GET.get("iss")
            if issuer is not None and issuer != configuration()["issuer"]:
                raise IdentityError(f"the authorization response comes from {issuer!r}")
            identity = backend.identify(
                request,
                code=code,
                nonce=attempt.get("nonce") or "",
                code_verifier=attempt.get("code_verifier") or "",
            )
        except ProviderUnavailable:
            logger.exception("ProConnect could not be reached")
            return _back_to_login(request, UNAVAILABLE)
        except IdentityError as exc:
            logger.warning("ProConnect login refused: %s", exc)
            record_failed_proconnect_login(request)
            return _back_to_login(request, FAILED)

        pending = link_to_confirm(identity.claims)
        if pending is not None:
            # An existing account with this address: linked only once its owner proves it
            # (accounts.py). Kept in this session only, for a few minutes.
            request.session[PENDING_LINK_SESSION_KEY] = {
                "user": pending.pk,
                "claims": {
                    key: identity.claims.get(key)
                    for key in ("sub", "email", "siret", "given_name", "usual_name")
                },
                "id_token": identity.id_token,
                "next": next_url,
                "at": time.time(),
            }
            return redirect("proconnect:confirm_link")

        # The lockout (django-axes, first backend) and the audit count this attempt
        # against the address, as for a password.
        user = auth.authenticate(
            request, username=login_name(identity.claims), **{CLAIMS_CREDENTIAL: identity.claims}
        )
        if user is None:
            # A locked-out address: AxesMiddleware turns this response into its lockout page.
            return _back_to_login(request, getattr(request, "proconnect_refusal", FAILED))

        auth.login(request, user)
        request.session[ID_TOKEN_SESSION_KEY] = identity.id_token
        match = request.proconnect_match
        if match.created:
            messages.success(
                request,
                "Bienvenue sur Mes ADS : votre compte est créé. Pour gérer le registre de "
                "votre commune ou de votre groupement, demandez l’accès ci-dessous.",
            )
            return redirect("access:search")
        return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


# Minutes the person has, back from ProConnect, to type the existing account's password.
PENDING_LINK_MINUTES = 10


class ConfirmLinkView(View):
    """Back from ProConnect with the address of an existing account: the person types
    that account's password once (lockout and audit as at the login page) before the
    identity is linked to it and they are logged in; the owner is told by e-mail."""

    http_method_names = ["get", "post"]
    template_name = "users/proconnect/confirm_link.html"

    def dispatch(self, request, *args, **kwargs):
        _ensure_enabled()
        pending = request.session.get(PENDING_LINK_SESSION_KEY)
        if not pending or time.time() - pending["at"] > PENDING_LINK_MINUTES * 60:
            request.session.pop(PENDING_LINK_SESSION_KEY, None)
            return _back_to_login(request, FAILED)
        self.pending = pending
        self.account = User.objects.filter(pk=pending["user"], is_active=True).first()
        if self.account is None:
            request.session.pop(PENDING_LINK_SESSION_KEY, None)
            return _back_to_login(request, FAILED)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render(ProConnectLinkForm(request, self.account))

    def post(self, request):
        form = ProConnectLinkForm(request, self.account, request.POST)
        if not form.is_valid():
            return self.render(form)
        pending = request.session.pop(PENDING_LINK_SESSION_KEY)
        if not confirm_link(self.account, pending["claims"], client_ip(request)):
            return _back_to_login(request, FAILED)
        self.account.backend = BACKEND  # what the login audit reads the method from
        auth.login(request, self.account, backend=BACKEND)
        request.session[ID_TOKEN_SESSION_KEY] = pending["id_token"]
        messages.success(
            request,
            "Votre compte Mes ADS est désormais associé à ProConnect : vous pourrez vous "
            "connecter avec l’un ou l’autre. Un courriel vous le confirme.",
        )
        return HttpResponseRedirect(pending["next"] or resolve_url(settings.LOGIN_REDIRECT_URL))

    def render(self, form) -> HttpResponse:
        return render(
            self.request,
            self.template_name,
            {
                "form": form,
                "account": self.account,
                "has_password": self.account.has_usable_password(),
            },
        )


class LogoutView(auth_views.LogoutView):
    """Django's logout (POST only). After a ProConnect login it ends the ProConnect
    session too: the browser is sent to the provider's end-session endpoint, which sends
    it back to LogoutCallbackView."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(ID_TOKEN_SESSION_KEY)
        if not (id_token and is_enabled() and request.user.is_authenticated):
            return super().post(request, *args, **kwargs)
        try:
            endpoint = configuration()["end_session_endpoint"]
        except ProviderUnavailable:
            logger.exception("ProConnect could not be reached to end its session")
            endpoint = None
        auth.logout(request)
        if endpoint is None:
            messages.warning(
                request,
                "Vous êtes déconnecté de Mes ADS, mais ProConnect ne répond pas : fermez "
                "votre navigateur pour terminer aussi votre session ProConnect.",
            )
            return redirect(settings.LOGOUT_REDIRECT_URL)
        state = get_random_string(48)
        request.session[LOGOUT_STATE_SESSION_KEY] = state
        query = urlencode(
            {
                "id_token_hint": id_token,
                "state": state,
                "post_logout_redirect_uri": request.build_absolute_uri(
                    reverse("proconnect:logout_callback")
                ),
            }
        )
        return HttpResponseRedirect(f"{endpoint}?{query}")


def logout_callback(request: HttpRequest) -> HttpResponse:
    """Back from ProConnect's end of session: to the home page."""
    _ensure_enabled()
    expected = request.session.pop(LOGOUT_STATE_SESSION_KEY, "")
    if expected and constant_time_compare(request.GET.get("state", ""), expected):
        messages.success(request, "Vous êtes déconnecté de Mes ADS et de ProConnect.")
    return redirect(settings.LOGOUT_REDIRECT_URL)
