"""Panels that feature apps add to the ADS page, without the register importing them.

A feature app (the relay taxis…) registers, in its ``AppConfig.ready()``, a function
``panel(request, ads) -> str`` returning HTML (rendered by a template, so escaped) or an
empty string; the ADS page shows them in order (``{% ads_panels ads %}``). The arrows
keep pointing down: ``ads`` knows only this list.
"""

from collections.abc import Callable

from django.http import HttpRequest

Panel = Callable[[HttpRequest, object], str]

_panels: list[Panel] = []


def register_ads_panel(panel: Panel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def ads_panels() -> tuple[Panel, ...]:
    return tuple(_panels)
