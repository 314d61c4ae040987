"""Expensive figures computed once, not once per visitor (OPERATIONS.md, review of
2026-12-07, O7: sixteen requests to « Chiffres clés » on a cold cache each computed the
figures). Real concurrency: threads, each with its own connection to PostgreSQL, as app
servers are; the lock is PostgreSQL's, so it holds across servers."""

import dataclasses
import datetime
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection

from mesads.core.computed import kept
from mesads.deployment import followup
from mesads.stats import current

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent computations need connections of their own to one database "
        "(PostgreSQL; CI runs it)",
    ),
    pytest.mark.django_db(transaction=True),
]

VISITORS = 16


def at_once(function, count: int = VISITORS) -> list:
    """``function()`` in ``count`` threads released together; their results."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def visitor(index: int) -> None:
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def counted(monkeypatch, module, name: str) -> list:
    """Count the calls of ``module.name`` (slowed down a little, as on a large register,
    so that the visitors really do arrive during the computation)."""
    calls = []
    real = getattr(module, name)

    def computing(*args, **kwargs):
        calls.append(1)
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, computing)
    return calls


@pytest.fixture(autouse=True)
def _cold(db):
    cache.clear()
    yield
    cache.clear()


def test_sixteen_visitors_on_a_cold_cache_compute_the_key_figures_once(monkeypatch, nimes):
    computations = counted(monkeypatch, current, "compute_key_figures")

    figures = at_once(current.current_key_figures)

    assert len(computations) == 1
    assert len({f.computed_at for f in figures}) == 1  # all got that computation's figures


def test_without_a_shared_cache_the_figures_come_from_the_database(monkeypatch, settings, nimes):
    """Redis down or emptied: the figures cannot be kept in the cache. The last ones are
    kept in the database, so visitors neither all compute them nor queue to."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    computations = counted(monkeypatch, current, "compute_key_figures")

    at_once(current.current_key_figures)
    assert len(computations) == 1
    at_once(current.current_key_figures)
    assert len(computations) == 1  # read from the database

    # Older than FRESH_SECONDS: one visitor computes new ones, the others are answered
    # at once with the last ones.
    last = kept.get(current.FIGURES_KEY)
    stale = last.computed_at - datetime.timedelta(seconds=current.FRESH_SECONDS + 1)
    kept.set(current.FIGURES_KEY, dataclasses.replace(last, computed_at=stale))
    figures = at_once(current.current_key_figures)
    assert len(computations) == 2
    assert kept.get(current.FIGURES_KEY).computed_at > last.computed_at
    assert {f.computed_at for f in figures} <= {stale, kept.get(current.FIGURES_KEY).computed_at}


def test_the_deployment_tables_are_computed_once_for_visitors_arriving_together(
    monkeypatch, gard, nimes
):
    computations = counted(monkeypatch, followup, "departement_figures")

    tables = at_once(followup.shared_departement_figures, count=8)

    # The first computation, then at most one more for those who arrived after it began.
    assert 1 <= len(computations) <= 2
    assert all([row.code for row in rows] == ["30"] for rows in tables)


def test_a_visitor_never_gets_tables_computed_before_they_arrived(monkeypatch, gard, nimes):
    computations = counted(monkeypatch, followup, "departement_figures")
    followup.shared_departement_figures()
    followup.shared_departement_figures()

    assert len(computations) == 2  # one after the other: each computes its own
