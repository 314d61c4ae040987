"""Who is calling the API, how often, and what they may reach.

- A key (``Authorization: Api-Key <key>``, or ``X-Api-Key: <key>``) names one re-user
  organisation (``APIKey``). No key or a key we do not know: 401; a revoked or expired
  key: 403. The body is JSON, in French (``mesads.api.errors``).
- Every call reads its key from the database by its prefix (one query on a unique index,
  with its départements): a revocation, an expiry, a change of scope holds from the next
  call, however it was made (the admin, a bulk ``update()``, SQL). Nothing about a key is
  cached, so there is nothing to forget (OPERATIONS.md, L11).
- An unknown prefix costs what a known one does (the same query, a hash compared with a
  dummy one), and each client address (``client_ip``) may fail only
  FAILED_AUTH_LIMIT times per FAILED_AUTH_PERIOD seconds: beyond, its calls get 429 before
  any key is looked at (L10). The count is shared by every server (``limits``).
- Each key has a limit of calls per minute, shared by every server (``limits``: a token
  bucket, in Redis or, when Redis fails, in the database). Beyond it: 429 with
  ``Retry-After``.
- Every call is counted per key and day in the shared cache; each key's count is written
  to the database (``APIKeyUsage``, ``APIKey.last_used_at``) at most once a minute by the
  request that finds it due, and by the daily step ``flush_usage`` — never a write per
  request while Redis answers. While it does not, each call is written to the database.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from mesads.core.cache import CacheUnavailable
from mesads.users.middleware import client_ip

from . import limits
from .errors import TooManyFailures
from .models import APIKey, APIKeyUsage

HEADER_PREFIX = "Api-Key"
RATE_WINDOW = 60  # seconds
FLUSH_EVERY = 60  # seconds between two writes of a key's count
# The cache keeps a day's count two days: the daily step flushes yesterday's.
COUNT_TIMEOUT = 2 * 24 * 3600
# A key's prefix is 8 letters and digits (djangorestframework-api-key's generator).
PREFIX_MAX_LENGTH = 16


@dataclass(frozen=True)
class Caller:
    """The key of a request, with what it may reach (``request.auth``)."""

    key: APIKey
    departement_ids: frozenset[int] | None  # None: the whole territory

    @property
    def profile(self) -> str:
        return self.key.profile

    @property
    def is_national(self) -> bool:
        return self.departement_ids is None


def read_key(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == HEADER_PREFIX.lower() and value.strip():
        return value.strip()
    return request.META.get("HTTP_X_API_KEY", "").strip() or None


# What a call reads of its key: everything but its dates of creation and last use (in the
# model's order, as Model.from_db expects them).
KEY_FIELDS = tuple(
    field.attname
    for field in APIKey._meta.concrete_fields
    if field.attname not in ("created", "last_used_at")
)


def lookup_key(prefix: str) -> tuple[APIKey, frozenset[int] | None] | None:
    """The key of ``prefix`` and the départements it reaches (None: national), read from
    the database at each call, in one query (the key's row and its départements, on the
    unique index of the prefix): whatever changed the key, the next call sees it."""
    if not (prefix.isascii() and prefix.isalnum() and len(prefix) <= PREFIX_MAX_LENGTH):
        return None  # not one of ours (letters and digits)
    rows = list(
        APIKey.objects.filter(prefix=prefix).values_list(*KEY_FIELDS, "departements").order_by()
    )
    if not rows:
        return None
    key = APIKey.from_db("default", KEY_FIELDS, rows[0][:-1])
    departements = (
        None
        if key.scope == APIKey.Scope.NATIONAL
        else frozenset(row[-1] for row in rows if row[-1] is not None)
    )
    return key, departements


# An unknown prefix is compared with this hash, as a known one with its own: both cost
# the same query and the same hash (L10: they were told apart by timing).
_DUMMY_HASH = APIKey.objects.key_generator.hash("inconnue.inconnue")

# Failed authentications (unknown key, wrong secret) allowed per client address and
# period; then one more every FAILED_AUTH_PERIOD / FAILED_AUTH_LIMIT seconds.
FAILED_AUTH_LIMIT = 20
FAILED_AUTH_PERIOD = 600  # seconds


def _failures_name(request) -> str:
    return f"api-failures:{client_ip(request) or 'inconnue'}"


class APIKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = read_key(request)
        if raw is None:
            return None  # the permission answers 401 « clé manquante »
        failures = _failures_name(request)
        wait = limits.wait_before_next(failures, FAILED_AUTH_LIMIT, FAILED_AUTH_PERIOD)
        if wait > 0:
            raise TooManyFailures(wait=max(1.0, wait))
        prefix, _, _ = raw.partition(".")
        found = lookup_key(prefix) if prefix else None
        key, departements = found if found else (None, None)
        if key is None:
            APIKey.objects.key_generator.verify(raw, _DUMMY_HASH)
        if key is None or not key.is_valid(raw):
            limits.hit(failures, FAILED_AUTH_LIMIT, FAILED_AUTH_PERIOD)
            raise exceptions.AuthenticationFailed(
                "Clé d’API inconnue : vérifiez qu’elle a été copiée en entier.",
                code="cle_inconnue",
            )
        if key.revoked:
            raise exceptions.PermissionDenied(
                "Cette clé d’API a été révoquée : demandez-en une nouvelle à l’équipe nationale.",
                code="cle_revoquee",
            )
        if key.has_expired:
            raise exceptions.PermissionDenied(
                "Cette clé d’API a expiré : demandez-en une nouvelle à l’équipe nationale.",
                code="cle_expiree",
            )
        return (AnonymousUser(), Caller(key, departements))

    def authenticate_header(self, request) -> str:
        return HEADER_PREFIX


class HasUsableAPIKey(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, Caller):
            raise exceptions.NotAuthenticated(
                "Clé d’API manquante : envoyez-la dans l’en-tête « Authorization: Api-Key <clé> ».",
                code="cle_manquante",
            )
        return True


class KeyRateThrottle(BaseThrottle):
    """At most ``rate_limit`` calls per RATE_WINDOW seconds per key, as a token bucket
    shared by every server (``limits``): a burst of that many, then one call every
    RATE_WINDOW / rate_limit seconds."""

    def allow_request(self, request, view) -> bool:
        caller = request.auth
        if not isinstance(caller, Caller):
            return True
        decision = record_call(caller.key)
        self.retry_after = decision.wait
        return decision.allowed

    def wait(self) -> float:
        return max(1.0, self.retry_after)


# --- call counters ----------------------------------------------------------------------


def _short(key_id: str) -> str:
    """The key's prefix (unique): its id is the prefix and the hash."""
    return key_id.partition(".")[0]


def _count_name(key_id: str, day: datetime.date) -> str:
    return f"api:calls:{_short(key_id)}:{day.isoformat()}"


def _flushed_name(key_id: str, day: datetime.date) -> str:
    return f"api:flushed:{_short(key_id)}:{day.isoformat()}"


def _increment(name: str, timeout: int) -> int:
    """``name`` + 1 in the shared cache (the database's table). Of two servers creating it
    at once, add() lets one win and the other increments."""
    try:
        return cache.incr(name)
    except ValueError:  # not there yet (a new day) or evicted
        if cache.add(name, 1, timeout=timeout):
            return 1
        return cache.incr(name)


def _rate_name(key: APIKey) -> str:
    return f"api-rate:{key.prefix}"


def _flush_due_name(key: APIKey) -> str:
    return f"api:flush-due:{key.prefix}"


# With Redis, a call is one round trip: the key's limit (GCRA, see limits), then today's
# count and the flush's turn. `SET … NX EX` creates a counter with its expiry if it is not
# there, `INCR` keeps that expiry. The keys and values are those Django's cache reads back
# (its prefix, integers stored as they are).
CALL_SCRIPT = (
    limits.GCRA_LUA
    + """
local decision = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), true)
redis.call('SET', KEYS[2], 0, 'NX', 'EX', ARGV[3])
redis.call('INCR', KEYS[2])
local due = redis.call('SET', KEYS[3], 1, 'NX', 'EX', ARGV[4])
decision[3] = due and 1 or 0
return decision
"""
)


def record_call(key: APIKey) -> limits.Decision:
    """One call more for ``key``: let through or not by its limit, and counted (today's
    count, written through when due: ``add`` succeeds for one request a minute per key,
    whichever server it reaches).

    While Redis fails (or without Redis), the limit is kept in the database; while it
    fails, the call is also written to the database at once (the cache keeps nothing)."""
    day = timezone.localdate()
    redis = limits.redis_cache()
    if redis is not None:
        interval = RATE_WINDOW / max(key.rate_limit, 1)
        try:
            allowed, wait, flush_due = limits.run_script(
                redis,
                CALL_SCRIPT,
                [f"limit:{_rate_name(key)}", _count_name(key.pk, day), _flush_due_name(key)],
                [interval, RATE_WINDOW, COUNT_TIMEOUT, FLUSH_EVERY],
            )
        except CacheUnavailable:
            _count_in_database(key, day)
            return limits.hit(_rate_name(key), key.rate_limit, RATE_WINDOW)
        if flush_due:
            flush_key(key.pk, day)
        return limits.Decision(bool(allowed), float(wait))
    decision = limits.hit(_rate_name(key), key.rate_limit, RATE_WINDOW)
    _increment(_count_name(key.pk, day), COUNT_TIMEOUT)
    if cache.add(_flush_due_name(key), 1, timeout=FLUSH_EVERY):
        flush_key(key.pk, day)
    return decision


def _add_calls(key_id: str, day: datetime.date, calls: int) -> None:
    updated = APIKeyUsage.objects.filter(key_id=key_id, day=day).update(calls=F("calls") + calls)
    if not updated:
        try:
            with transaction.atomic():
                APIKeyUsage.objects.create(key_id=key_id, day=day, calls=calls)
        except IntegrityError:  # created meanwhile by another server
            APIKeyUsage.objects.filter(key_id=key_id, day=day).update(calls=F("calls") + calls)


def _count_in_database(key: APIKey, day: datetime.date) -> None:
    """A call counted straight in the database (Redis does not answer); the key's last
    use written at most once a minute, as with Redis."""
    now = timezone.now()
    _add_calls(key.pk, day, 1)
    APIKey.objects.filter(
        Q(last_used_at__isnull=True)
        | Q(last_used_at__lt=now - datetime.timedelta(seconds=FLUSH_EVERY)),
        pk=key.pk,
    ).update(last_used_at=now)


def flush_key(key_id: str, day: datetime.date, *, in_request: bool = True) -> int:
    """Add to the database the calls counted in the cache since the last flush; returns
    how many. The cache remembers what it already wrote (``api:flushed:…``). From a
    request, the key's last use is now (to the minute: FLUSH_EVERY)."""
    total = cache.get(_count_name(key_id, day)) or 0
    done = cache.get(_flushed_name(key_id, day)) or 0
    delta = total - done if total >= done else total  # the counter was evicted: restart
    if delta <= 0:
        return 0
    with transaction.atomic():
        _add_calls(key_id, day, delta)
        if in_request:
            APIKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())
    cache.set(_flushed_name(key_id, day), total, timeout=COUNT_TIMEOUT)
    return delta


def pending_calls(key_id: str, day: datetime.date) -> int:
    """Calls of ``day`` counted in the cache but not yet written (shown in the admin)."""
    total = cache.get(_count_name(key_id, day)) or 0
    done = cache.get(_flushed_name(key_id, day)) or 0
    return max(0, total - done)


def flush_usage(today: datetime.date) -> str:
    """Daily step: every key's calls of yesterday and today written to the database."""
    written = 0
    for key_id in APIKey.objects.values_list("pk", flat=True):
        for day in (today - datetime.timedelta(days=1), today):
            if pending_calls(key_id, day):
                written += flush_key(key_id, day, in_request=False)
    return f"{written} appel(s) à l’API comptabilisé(s)"
