"""The figures the « Chiffres clés » page shows, kept in the shared cache.

At 60,000 ADS their queries take about 200 ms, twice what the page may take. So no
visitor waits for them: the page shows the last figures computed, and once they are
older than FRESH_SECONDS, the first request to notice asks the worker to compute new ones
(one request across every app server: ``cache.add`` takes the turn) and still answers
with what it has. Only the very first request, when the cache holds nothing, computes
them itself.
"""

from django.core.cache import cache
from django_tasks import task

from .figures import KeyFigures, compute_key_figures

FRESH_SECONDS = 300
FIGURES_KEY = "stats:key-figures"
FRESH_KEY = "stats:key-figures:fresh"
# Held while a refresh is queued or running; it lapses by itself if the worker dies.
REFRESHING_KEY = "stats:key-figures:refreshing"
REFRESH_TIMEOUT = 120


def current_key_figures() -> KeyFigures:
    figures = cache.get(FIGURES_KEY)
    if figures is None:
        return refresh()
    if cache.get(FRESH_KEY) is None and cache.add(REFRESHING_KEY, 1, timeout=REFRESH_TIMEOUT):
        refresh_key_figures.enqueue()
    return figures


def refresh() -> KeyFigures:
    figures = compute_key_figures()
    cache.set(FIGURES_KEY, figures, timeout=None)
    cache.set(FRESH_KEY, 1, timeout=FRESH_SECONDS)
    cache.delete(REFRESHING_KEY)
    return figures


@task()
def refresh_key_figures() -> None:
    refresh()
