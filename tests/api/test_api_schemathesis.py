"""The API against its own OpenAPI schema (schemathesis): with a valid key, generated
requests (valid and invalid) never get a server error nor an answer the schema does not
describe. Bounded: a few dozen examples per operation, well under a minute."""

import re

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from mesads.api import changes
from mesads.api.models import Profile


@pytest.fixture
def api_key(make_key, complete_ads, montpellier_ads, nimes_metropole):
    raw, _ = make_key(Profile.COMPLET, rate_limit=1_000_000)
    return raw


@pytest.fixture
def keep_connection():
    """Django's test client keeps the test's database connection across requests; the
    real WSGI handler schemathesis calls would close it at the end of each one (as a
    server does), and the test's transaction with it (PostgreSQL)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# The schema view reads no database: it can be loaded when the module is collected.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
# The key is the test's (a valid one, below): schemathesis must not generate the security
# header itself, nor a "negative" case without it that the test's key would then make valid.
schema.config.generation.update(with_security_parameters=False)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_schema(db, keep_connection, case, api_key):
    depuis = (case.query or {}).get("depuis")
    if isinstance(depuis, str) and re.fullmatch(changes.CURSOR_PATTERN, depuis) and depuis != "0":
        # A cursor is opaque: only one the API gave is valid data, which a pattern cannot
        # say. A cursor of the API's, then (an invalid one is refused: test_api_change_cursors).
        case.query["depuis"] = changes.encode_position(1)
    case.call_and_validate(headers={"X-Api-Key": api_key})
