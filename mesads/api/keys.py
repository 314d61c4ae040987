"""Who is calling the API, how often, and what they may reach.

- A key (``Authorization: Api-Key <key>``, or ``X-Api-Key: <key>``) names one re-user
  organisation (``APIKey``). No key or a key we do not know: 401; a revoked or expired
  key: 403. The body is JSON, in French (``mesads.api.errors``).
- Each key has a limit of calls per minute, counted in the cache every app server shares
  (Redis in production: ``settings.CACHES``), so that it holds in total. Beyond it: 429
  with ``Retry-After``.
- Every call is counted per key and day in the same cache; each key's count is written
  to the database (``APIKeyUsage``, ``APIKey.last_used_at``) at most once a minute by the
  request that finds it due, and by the daily step ``flush_usage`` — never a write per
  request.
"""

import datetime
import functools
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from .models import APIKey, APIKeyUsage

HEADER_PREFIX = "Api-Key"
RATE_WINDOW = 60  # seconds
FLUSH_EVERY = 60  # seconds between two writes of a key's count
# The cache keeps a day's count two days: the daily step flushes yesterday's.
COUNT_TIMEOUT = 2 * 24 * 3600
KEY_CACHE_SECONDS = 60
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


def _key_name(prefix: str) -> str:
    return f"api:key:{prefix}"


def lookup_key(prefix: str) -> tuple[APIKey, frozenset[int] | None] | None:
    """The key of ``prefix`` and the départements it reaches (None: national), from the
    shared cache, else from the database and then cached: every call reads them, and
    they change only in the admin. Saving, revoking or deleting a key, or changing its
    départements, forgets the cached copy on every server at once (``forget_key``, on
    the models' signals); KEY_CACHE_SECONDS bounds what any other change could leave."""
    if not (prefix.isascii() and prefix.isalnum() and len(prefix) <= PREFIX_MAX_LENGTH):
        return None  # not one of ours (letters and digits): no cache key made of it
    name = _key_name(prefix)
    found = cache.get(name)
    if found is None:
        key = APIKey.objects.filter(prefix=prefix).first()
        if key is None:
            return None
        departements = (
            None
            if key.scope == APIKey.Scope.NATIONAL
            else frozenset(key.departements.values_list("pk", flat=True))
        )
        found = (key, departements)
        cache.set(name, found, timeout=KEY_CACHE_SECONDS)
    return found


def forget_key(prefix: str) -> None:
    cache.delete(_key_name(prefix))


class APIKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = read_key(request)
        if raw is None:
            return None  # the permission answers 401 « clé manquante »
        prefix, _, _ = raw.partition(".")
        found = lookup_key(prefix) if prefix else None
        key, departements = found if found else (None, None)
        if key is None or not key.is_valid(raw):
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
    """A fixed window of RATE_WINDOW seconds per key, counted in the shared cache
    (``incr`` is atomic in Redis: two servers never both let the last call through)."""

    def allow_request(self, request, view) -> bool:
        caller = request.auth
        if not isinstance(caller, Caller):
            return True
        now = time.time()
        window = int(now // RATE_WINDOW)
        calls = record_call(caller.key, window)
        self.retry_after = (window + 1) * RATE_WINDOW - now
        return calls <= caller.key.rate_limit

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
    """``name`` + 1 in the shared cache, atomically in Redis: one round trip once the
    counter exists. Of two servers creating it at once, add() lets one win and the other
    increments."""
    try:
        return cache.incr(name)
    except ValueError:  # not there yet (a new window, a new day) or evicted
        if cache.add(name, 1, timeout=timeout):
            return 1
        return cache.incr(name)


def _rate_name(key: APIKey, window: int) -> str:
    return f"api:rate:{key.prefix}:{window}"


def _flush_due_name(key: APIKey) -> str:
    return f"api:flush-due:{key.prefix}"


def _redis():
    """A client of the shared cache's Redis, or None when the cache is the database's."""
    config = settings.CACHES["default"]
    if not config["BACKEND"].endswith(".RedisCache"):
        return None
    return _redis_client(config["LOCATION"])


@functools.cache
def _redis_client(url: str):
    import redis  # what Django's Redis cache itself uses

    return redis.Redis.from_url(url)  # one connection pool per process


def record_call(key: APIKey, window: int) -> int:
    """One call more for ``key``: today's count and this window's (returned), in the
    cache; today's count written through when due (``add`` succeeds for one request a
    minute per key, whichever server it reaches).

    With Redis, the three counters are one round trip: ``SET … NX EX`` creates a counter
    with its expiry if it is not there, ``INCR`` keeps that expiry. The keys and values
    are those Django's cache reads back (its prefix, integers stored as they are)."""
    day = timezone.localdate()
    client = _redis()
    if client is None:
        _increment(_count_name(key.pk, day), COUNT_TIMEOUT)
        calls = _increment(_rate_name(key, window), RATE_WINDOW * 2)
        flush_due = cache.add(_flush_due_name(key), 1, timeout=FLUSH_EVERY)
    else:
        count, rate, due = (
            cache.make_and_validate_key(name)
            for name in (
                _count_name(key.pk, day),
                _rate_name(key, window),
                _flush_due_name(key),
            )
        )
        with client.pipeline(transaction=False) as pipe:
            pipe.set(count, 0, nx=True, ex=COUNT_TIMEOUT)
            pipe.incr(count)
            pipe.set(rate, 0, nx=True, ex=RATE_WINDOW * 2)
            pipe.incr(rate)
            pipe.set(due, 1, nx=True, ex=FLUSH_EVERY)
            *_, calls, flush_due = pipe.execute()
    if flush_due:
        flush_key(key.pk, day)
    return calls


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
        updated = APIKeyUsage.objects.filter(key_id=key_id, day=day).update(
            calls=F("calls") + delta
        )
        if not updated:
            try:
                with transaction.atomic():
                    APIKeyUsage.objects.create(key_id=key_id, day=day, calls=delta)
            except IntegrityError:  # created meanwhile by another server
                APIKeyUsage.objects.filter(key_id=key_id, day=day).update(calls=F("calls") + delta)
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


# --- the cached keys follow the admin -------------------------------------------------


@receiver(post_save, sender=APIKey, dispatch_uid="api-key-saved")
@receiver(post_delete, sender=APIKey, dispatch_uid="api-key-deleted")
def _key_changed(sender, instance: APIKey, **kwargs) -> None:
    forget_key(instance.prefix)


@receiver(m2m_changed, sender=APIKey.departements.through, dispatch_uid="api-key-departements")
def _key_departements_changed(sender, instance, action: str, **kwargs) -> None:
    # Only from the key's side: the départements have no manager of their keys
    # (related_name="+").
    if action.startswith("post_"):
        forget_key(instance.prefix)
