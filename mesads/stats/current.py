"""The figures the « Chiffres clés » page shows, kept in the shared cache.

At 60,000 ADS their queries take about 200 ms, twice what the page may take. So no
visitor waits for them: the page shows the last figures computed, and once they are
older than FRESH_SECONDS, the first request to notice asks the worker to compute new ones
(one request across every app server: ``cache.add`` takes the turn) and still answers
with what it has.

When the shared cache has nothing (cold, emptied, or Redis down), the last figures are
read from the database (``mesads.core.computed.kept``), where every computation also
writes them. Only when there are none, or none fresh, are they computed in the request,
one computation at a time across every server (``one_at_a_time``): on a cold start the
other requests wait for it and read its result; with stale figures, the others answer at
once with them. So Redis being down costs one computation per FRESH_SECONDS, not one per
request (OPERATIONS.md, review of 2026-12-07, O7).
"""

import datetime

from django.core.cache import cache
from django.utils import timezone
from django_tasks import task

from mesads.core.computed import kept, one_at_a_time

from .figures import KeyFigures, compute_key_figures

FRESH_SECONDS = 300
FIGURES_KEY = "stats:key-figures"
FRESH_KEY = "stats:key-figures:fresh"
# Held while a refresh is queued or running; it lapses by itself if the worker dies.
REFRESHING_KEY = "stats:key-figures:refreshing"
REFRESH_TIMEOUT = 120
# The lock of their computation, shared by every server and the worker.
LOCK = "stats:key-figures"


def current_key_figures() -> KeyFigures:
    figures = cache.get(FIGURES_KEY)
    if figures is None:
        return _without_the_cache()
    if cache.get(FRESH_KEY) is None and cache.add(REFRESHING_KEY, 1, timeout=REFRESH_TIMEOUT):
        refresh_key_figures.enqueue()
    return figures


def _age(figures: KeyFigures) -> datetime.timedelta:
    return timezone.now() - figures.computed_at


def _fresh(figures: KeyFigures | None) -> bool:
    return figures is not None and _age(figures).total_seconds() < FRESH_SECONDS


def _without_the_cache() -> KeyFigures:
    figures = kept.get(FIGURES_KEY)
    if _fresh(figures):
        _share(figures)
        return figures
    # None (a cold start: the others wait for the computation) or stale (one request
    # computes new ones, the others answer at once with these).
    with one_at_a_time(LOCK, wait=figures is None) as mine:
        if mine:
            # Whoever held the lock just before may have computed them.
            latest = kept.get(FIGURES_KEY)
            if _fresh(latest):
                _share(latest)
                return latest
            return refresh()
    return figures


def _share(figures: KeyFigures) -> None:
    """Put figures read from the database back in the shared cache, fresh for what is
    left of their FRESH_SECONDS."""
    cache.set(FIGURES_KEY, figures, timeout=None)
    left = FRESH_SECONDS - int(_age(figures).total_seconds())
    if left > 0:
        cache.set(FRESH_KEY, 1, timeout=left)


def refresh() -> KeyFigures:
    figures = compute_key_figures()
    kept.set(FIGURES_KEY, figures)
    cache.set(FIGURES_KEY, figures, timeout=None)
    cache.set(FRESH_KEY, 1, timeout=FRESH_SECONDS)
    cache.delete(REFRESHING_KEY)
    return figures


@task()
def refresh_key_figures() -> None:
    with one_at_a_time(LOCK):
        refresh()
