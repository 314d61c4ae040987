"""Tables sorted by their column headers: each header is a link that sorts by its column
(« tri=ads », or « tri=-ads » for the reverse), and the sorted one says so to assistive
technologies with ``aria-sort``.

Figures are sorted biggest first on the first click, names and codes A to Z; the rows
without a figure (a rate without ADS) stay last whichever the direction.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

PARAMETER = "tri"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # A figure: biggest first on the first click.
    figure: bool = True
    hint: str = ""


@dataclass(frozen=True)
class Header:
    column: Column
    url: str
    aria_sort: str  # "ascending", "descending" or "" (not the sorted column)
    next_label: str  # what following the link does, for screen readers


class Sorting:
    """The sort asked for by ``?tri=``, among ``columns`` (the first is the default)."""

    def __init__(self, value: str | None, columns: Sequence[Column], default: str = ""):
        self.columns = {column.key: column for column in columns}
        value = (value or "").strip()
        key = value.lstrip("-")
        if key not in self.columns:
            value = default or columns[0].key
            key = value.lstrip("-")
        self.key = key
        self.descending = value.startswith("-")

    @property
    def value(self) -> str:
        return ("-" if self.descending else "") + self.key

    def headers(self, query_string: str) -> dict[str, Header]:
        """The header of each column, its link keeping the page's filters (not its page)."""
        headers = {}
        for key, column in self.columns.items():
            if key == self.key:
                descending = not self.descending
                aria = "descending" if self.descending else "ascending"
            else:
                descending = column.figure
                aria = ""
            query = QueryDict(query_string, mutable=True)
            for name in (PARAMETER, "page", "apres", "avant"):
                query.pop(name, None)
            query[PARAMETER] = ("-" if descending else "") + key
            headers[key] = Header(
                column=column,
                url="?" + query.urlencode(),
                aria_sort=aria,
                next_label="trier par ordre décroissant"
                if descending
                else "trier par ordre croissant",
            )
        return headers

    def sort_rows(self, rows: Iterable[Any], value: Callable[[Any, str], Any]) -> list[Any]:
        """Rows sorted in Python (a national table of 101 départements), by
        ``value(row, key)``; ties keep the rows' order; None is last."""
        rows = list(rows)
        present = [row for row in rows if value(row, self.key) is not None]
        missing = [row for row in rows if value(row, self.key) is None]
        present.sort(key=lambda row: value(row, self.key), reverse=self.descending)
        return present + missing
