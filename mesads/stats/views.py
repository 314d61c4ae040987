"""The public « Chiffres clés » page: the register's figures, as charts and tables."""

import datetime
import json
from functools import cached_property

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject

from mesads.core.http import read_only

from .current import FRESH_SECONDS, current_key_figures
from .figures import Counts, KeyFigures

# The shares shown as bars, in this order: (label, Counts property).
SHARES = [
    ("Fiches complètes", "complete_rate"),
    ("Fiches attestées depuis moins d’un an", "attested_rate"),
    ("Fiches certifiées par la préfecture", "certified_rate"),
    ("Véhicules accessibles en fauteuil roulant", "pmr_rate"),
    ("Véhicules à faibles émissions", "low_emission_rate"),
    ("Taxis conventionnés CPAM", "cpam_rate"),
]
# The shares followed month by month from the daily snapshots.
SHARES_OVER_TIME = [
    ("Gestionnaires ayant déclaré", "declaration_rate"),
    ("Fiches complètes", "complete_rate"),
    ("Fiches attestées", "attested_rate"),
    ("Fiches certifiées", "certified_rate"),
]


def _json(value) -> str:
    # Rendered in an attribute, which Django's autoescaping quotes: no mark_safe needed.
    return json.dumps(value, ensure_ascii=False)


def _month(day: datetime.date) -> str:
    return f"{day:%m/%Y}"


def _shares(counts: Counts, shares: list[tuple[str, str]]) -> list[tuple[str, float | None]]:
    return [(label, getattr(counts, name)) for label, name in shares]


class KeyFiguresPage:
    """What the template shows: the figures, and the attributes of the charts (JSON
    strings, the format of the design system's chart components)."""

    share_labels = [label for label, _ in SHARES_OVER_TIME]

    def __init__(self, figures: KeyFigures):
        self.figures = figures
        self.national = figures.national

    @cached_property
    def shares(self) -> list[tuple[str, float | None]]:
        return _shares(self.national, SHARES)

    @cached_property
    def shares_over_time(self) -> list[tuple[datetime.date, list[tuple[str, float | None]]]]:
        return [
            (month, _shares(counts, SHARES_OVER_TIME))
            for month, counts in self.figures.snapshots_by_month
        ]

    @cached_property
    def charts(self) -> dict[str, dict[str, str]]:
        figures, national = self.figures, self.national
        snapshot_months = [_month(month) for month, _ in figures.snapshots_by_month]
        mapped = {
            d.code: d.counts.declaration_rate
            for d in figures.departements
            if d.counts.declaration_rate is not None
        }
        rate = national.declaration_rate
        return {
            "ads_by_month": {
                "x": _json([[_month(month) for month, _ in figures.ads_by_month]]),
                "y": _json([[count for _, count in figures.ads_by_month]]),
                "name": _json(["ADS déclarées"]),
            },
            "shares": {
                "x": _json([[label for label, _ in self.shares]]),
                "y": _json([[value or 0 for _, value in self.shares]]),
                "name": _json(["Part (%)"]),
            },
            "shares_over_time": {
                "x": _json([snapshot_months] * len(SHARES_OVER_TIME)),
                "y": _json(
                    [
                        [getattr(counts, name) or 0 for _, counts in figures.snapshots_by_month]
                        for _, name in SHARES_OVER_TIME
                    ]
                ),
                "name": _json(self.share_labels),
            },
            "map": {
                "data": _json(mapped),
                # A string: the template would write a float the French way (« 45,3 »).
                "value": "" if rate is None else str(rate),
            },
        }


@read_only  # its computation's lock then lasts only as long as the computation
def key_figures_page(request: HttpRequest) -> HttpResponse:
    figures = current_key_figures()
    # Lazy: the charts' attributes are built only when the rendered fragment of these
    # figures is not in the cache yet (the template's {% cache %}, keyed on them).
    page = SimpleLazyObject(lambda: KeyFiguresPage(figures))
    return render(
        request,
        "stats/key_figures.html",
        {
            "page": page,
            "computed_at": figures.computed_at.isoformat(),
            "refresh_minutes": FRESH_SECONDS // 60,
        },
    )
