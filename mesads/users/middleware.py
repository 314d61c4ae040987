"""Request-level security: who is asking (client address) and for how long a session lasts."""

import ipaddress
import time

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

# Unix timestamps kept in the session (JSON-serialisable).
LOGIN_AT = "mesads_login_at"
LAST_ACTIVITY_AT = "mesads_last_activity_at"

# The last-activity stamp is rewritten at most this often, so that browsing does not
# write the session row on every request; the idle timeout is precise to this much.
ACTIVITY_RESOLUTION = 60


def client_ip(request: HttpRequest) -> str | None:
    """The address of the person making the request (also AXES_CLIENT_IP_CALLABLE).

    In production the application only sees its reverse proxy (REMOTE_ADDR). Each of the
    TRUSTED_PROXY_COUNT proxies appends the address it received the request from to
    X-Forwarded-For, so the client is that many entries from the right. Entries further
    left are whatever the client chose to send: trusting the first one would let anyone
    forge the address shown in the login audit, and get a fresh lockout quota with each
    forged value. When the proxy replaces the header instead, its only entry is the
    client: the same rule gives the same answer.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote_addr
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware, with the nonce generated before the page is rendered.

    django-csp makes request.csp_nonce lazy, and *false* until something turns it into
    a string; the design system's dsfr_js tag tests it (``{% if nonce %}``) before
    printing it, so it would render its <script> tags without a nonce, and the header
    would carry none either.
    """

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        str(request.csp_nonce)


def start_session_clock(request: HttpRequest) -> None:
    """Called at login: both timeouts count from now."""
    now = time.time()
    request.session[LOGIN_AT] = now
    request.session[LAST_ACTIVITY_AT] = now


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "une heure" if hours == 1 else f"{hours} heures"
    minutes = max(1, round(seconds / 60))
    return "une minute" if minutes == 1 else f"{minutes} minutes"


class SessionTimeoutMiddleware:
    """Log out after SESSION_IDLE_TIMEOUT seconds without a request, and in any case
    SESSION_ABSOLUTE_TIMEOUT seconds after login.

    Django's own SESSION_COOKIE_AGE only bounds the time since the session was last
    saved, so a session used every few minutes would never end; on a shared computer in a
    town hall an unattended session must not stay open all day either.

    It also deletes a session that still names a user who can no longer authenticate (a
    deactivated account): AuthenticationMiddleware already treats the request as
    anonymous, and deleting the session ensures that reactivating the account does not
    bring it back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            response = self._check_timeouts(request)
            if response is not None:
                return response
        elif SESSION_KEY in request.session:
            request.session.flush()
        return self.get_response(request)

    def _check_timeouts(self, request: HttpRequest) -> HttpResponse | None:
        session = request.session
        now = time.time()
        login_at = session.get(LOGIN_AT)
        last_activity_at = session.get(LAST_ACTIVITY_AT)
        if login_at is None or last_activity_at is None:
            # A session opened before this middleware existed: start counting now.
            start_session_clock(request)
            return None

        idle = settings.SESSION_IDLE_TIMEOUT
        absolute = settings.SESSION_ABSOLUTE_TIMEOUT
        if now - login_at > absolute:
            reason = f"Votre session a expiré : elle dure au plus {_duration(absolute)}."
        elif now - last_activity_at > idle:
            reason = f"Votre session a expiré après {_duration(idle)} d’inactivité."
        else:
            if now - last_activity_at >= ACTIVITY_RESOLUTION:
                session[LAST_ACTIVITY_AT] = now
            return None

        logout(request)
        messages.warning(request, f"{reason} Reconnectez-vous pour continuer.")
        login_url = resolve_url(settings.LOGIN_URL)
        if request.path == login_url:
            return None  # show the login page itself, with the message
        # Only a page can be returned to: replaying a form submission (or a POST-only URL
        # such as the logout) after login makes no sense.
        next_url = request.get_full_path() if request.method in ("GET", "HEAD") else None
        return redirect_to_login(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
