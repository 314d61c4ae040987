"""What an app server process does once, after loading the application and before its
first request: load what every page needs, then set it aside from the garbage collector.

Python's cyclic garbage collector walks, at each of its older-generation passes, every
object the process holds: some 150,000 once Django, the URL resolver and the templates
are loaded. Measured in the app (bench/cpu.py's pages, 60,000-ADS register), that was
2.3 ms of CPU per ADS page and 2.7 ms per list page, against 0.2 and 0.5 ms once those
long-lived objects are frozen (``gc.freeze``: they are never collected, which they would
not be anyway; what requests create is collected as before).
"""

import gc
import logging

logger = logging.getLogger(__name__)

# The templates nearly every page extends or includes: compiled now, frozen with the rest.
COMMON_TEMPLATES = ["base.html", "_header.html", "_nav_items.html", "_pagination.html"]


def warm_up_and_freeze() -> None:
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 (builds the resolver's lookup tables)
    for name in COMMON_TEMPLATES:
        try:
            get_template(name)
        except TemplateDoesNotExist:  # pragma: no cover (a renamed template)
            logger.warning("Warm-up: no template %s", name)
    gc.collect()
    gc.freeze()
    logger.info("Warm-up done: %d objects frozen", gc.get_freeze_count())
