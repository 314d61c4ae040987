import datetime
import os
import uuid

import pytest

from mesads.ads.models import ADS, Driver
from mesads.api.models import APIKey, Profile

# Production's shared cache, for the tests that run the counters on it.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_up() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="needs Redis (TEST_REDIS_URL)")


@pytest.fixture(
    params=[
        "database",
        pytest.param("redis", marks=needs_redis),
        "redis-down",
    ]
)
def shared_cache(request, settings):
    """The counters and limits in each shared cache: the database's table; Redis
    (production), where a call's limit and counters are one script's round trip; and a
    Redis that does not answer (nothing listens on its port), where they fall back to the
    database."""
    if request.param != "database":
        if request.param == "redis":
            location = REDIS_URL
        else:
            from tests.core.test_production_serving import free_port

            location = f"redis://127.0.0.1:{free_port()}/0"
        settings.CACHES = {
            "default": {
                "BACKEND": "mesads.core.cache.ResilientRedisCache",
                "LOCATION": location,
                "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            }
        }
    return request.param


def register_sql(queries) -> list[str]:
    """The SQL a call ran on the register, from a CaptureQueriesContext: the key's own
    tables (its row, read at each call; its rate limits and call counters, in the database
    without REDIS_URL), the cache's table and savepoints aside."""
    other = ("mesads_cache", "SAVEPOINT", "api_ratelimit", '"api_apikey"')
    return [
        query["sql"]
        for query in queries.captured_queries
        if not any(name in query["sql"] for name in other)
    ]


@pytest.fixture
def make_key(db):
    """``make_key(profile, *départements)`` → (the key as given to the re-user, its row).
    No département: a national key."""

    def make(profile: str = Profile.LE_TAXI, *departements, **fields) -> tuple[str, APIKey]:
        key, raw = APIKey.objects.create_key(
            name="Production",
            organisation=fields.pop("organisation", "le.taxi"),
            profile=profile,
            scope=APIKey.Scope.DEPARTEMENTS if departements else APIKey.Scope.NATIONAL,
            **fields,
        )
        key.departements.set(departements)
        return raw, key

    return make


@pytest.fixture
def api(client):
    """GET on the API with a key: ``api(url, key, **params)``."""

    def get(url: str, key: str | None = None, **params):
        headers = {"HTTP_X_API_KEY": key} if key else {}
        return client.get(url, params, **headers)

    return get


@pytest.fixture
def montpellier_ads(montpellier) -> ADS:
    ads = ADS.objects.create(
        authority=montpellier,
        number="3",
        creation_date=datetime.date(2016, 2, 1),
        holder_name="Taxi Lez",
        holder_phone="0467000000",
        holder_email="lez@taxi.fr",
        vehicle_plate="EF-456-GH",
    )
    Driver.objects.create(
        ads=ads, status=Driver.Status.TITULAIRE, name="Taxi Lez", card_number="CP-34-7"
    )
    return ads
