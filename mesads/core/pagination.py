"""Keyset ("seek") pagination: a page costs the same wherever it is in the list.

``OFFSET 19950`` makes the database read and throw away 19,950 rows before it returns
the last page of Paris. Here a page starts *after* (or ends *before*) the sort key of a
row the user has seen, so the database seeks in the sort index and reads only the page's
rows. The user still sees « page N sur M »: the links carry the page number for display
and a cursor (the sort key of the first or last row shown) for the query.

- page 1 and the last page need no cursor: the first page reads the index forwards, the
  last one backwards, taking what remains after the full pages (so the boundaries are
  those of an offset pagination, and walking back from the end meets them exactly);
- « Page suivante » carries ``apres=<key of the last row>``, « Page précédente »
  ``avant=<key of the first row>``;
- a page number typed by hand (no cursor) falls back to an offset, which stays correct.

The ordering must be total: the last key is unique (the primary key), so rows sharing a
date or a name never shift between pages. Keys may not be NULL.
"""

import base64
import binascii
import datetime
import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

from django.core import paginator
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, QueryDict

PAGE = "page"
AFTER = "apres"
BEFORE = "avant"
CURSOR_PARAMETERS = (PAGE, AFTER, BEFORE)


def _encode(values: list[Any]) -> str:
    def default(value: Any) -> str:
        if isinstance(value, datetime.date | datetime.datetime):
            return value.isoformat()
        raise TypeError(f"cannot encode {type(value).__name__} in a page cursor")

    raw = json.dumps(values, default=default, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str) -> list[Any] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return values if isinstance(values, list) else None


class Key:
    """One column of the ordering: a field path (``authority__name``), ascending or not."""

    def __init__(self, spec: str, model: type[Model]):
        self.descending = spec.startswith("-")
        self.path = spec.lstrip("-")
        self.field = self._resolve(model)

    def _resolve(self, model: type[Model]):
        field = None
        for name in self.path.split("__"):
            try:
                field = model._meta.pk if name == "pk" else model._meta.get_field(name)
            except FieldDoesNotExist as error:
                raise ValueError(
                    f"{self.path!r} is not a field path of {model.__name__}"
                ) from error
            if field.is_relation and name != self.path.split("__")[-1]:
                model = field.related_model
        return field

    def value(self, row: Model) -> Any:
        value = row
        for name in self.path.split("__"):
            value = getattr(value, name)
        return value.pk if isinstance(value, Model) else value

    def parse(self, value: Any) -> Any:
        if value is None:
            raise ValidationError("no NULL in a page cursor")
        field = self.field.target_field if self.field.is_relation else self.field
        return field.to_python(value)

    def order(self, reverse: bool = False) -> str:
        return ("-" if self.descending != reverse else "") + self.path


def _beyond(keys: list[Key], values: list[Any], forwards: bool) -> Q:
    """Rows strictly after (``forwards``) or before ``values`` in the ordering of ``keys``.

    (k1, k2, k3) > (v1, v2, v3) spelled out as k1 > v1 OR (k1 = v1 AND k2 > v2) OR …, so
    that it works with mixed directions on every database; the redundant bound k1 >= v1
    in front lets the index range scan start at the cursor.
    """

    def lookup(key: Key, strict: bool) -> str:
        greater = forwards != key.descending
        return f"{key.path}__{'g' if greater else 'l'}{'t' if strict else 'te'}"

    condition = Q()
    for index in range(len(keys) - 1, -1, -1):
        step = Q(**{lookup(keys[index], strict=True): values[index]})
        condition = (
            step
            if index == len(keys) - 1
            else step | (Q(**{keys[index].path: values[index]}) & condition)
        )
    return Q(**{lookup(keys[0], strict=False): values[0]}) & condition


class Paginator(paginator.Paginator):
    """Django's paginator, reading a page number in ASCII digits only: its ``int()``
    reads ``?page=٢`` (Arabic-Indic two) as page 2, a second address for each page."""

    def validate_number(self, number):
        if isinstance(number, str) and not (number.isascii() and number.isdigit()):
            raise paginator.PageNotAnInteger("Ce numéro de page n’est pas un nombre.")
        return super().validate_number(number)


class SeekPaginator:
    """Pages of ``queryset`` in the order of ``ordering`` (field paths, ``-`` for
    descending, the last one unique). ``seek=False`` keeps the ordering and the links
    but pages by offset: for an ordering on computed figures, which the database must
    compute for every row to sort them, whatever the page."""

    def __init__(
        self, queryset: QuerySet, ordering: Sequence[str], per_page: int, *, seek: bool = True
    ):
        self.queryset = queryset
        self.ordering = list(ordering)
        self.per_page = per_page
        self.seek = seek
        self.keys = [Key(spec, queryset.model) for spec in ordering] if seek else []
        self._count: int | None = None

    @property
    def count(self) -> int:
        if self._count is None:
            self._count = self.queryset.order_by().count()
        return self._count

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))

    def _ordered(self, reverse: bool = False) -> QuerySet:
        if self.seek:
            return self.queryset.order_by(*(key.order(reverse) for key in self.keys))
        queryset = self.queryset.order_by(*self.ordering)
        return queryset.reverse() if reverse else queryset

    def _cursor(self, token: str | None) -> list[Any] | None:
        if not token or not self.seek:
            return None
        values = _decode(token)
        if values is None or len(values) != len(self.keys):
            return None
        try:
            return [key.parse(value) for key, value in zip(self.keys, values, strict=True)]
        except (ValidationError, TypeError, ValueError):
            return None

    def token(self, row: Model) -> str | None:
        if not self.seek:
            return None
        values = [key.value(row) for key in self.keys]
        return None if any(value is None for value in values) else _encode(values)

    def get_page(self, params: QueryDict | dict) -> "SeekPage":
        """The page asked for by ``params`` (``page``, and ``apres`` or ``avant``); like
        Django's ``get_page``, a page number out of range gives the nearest page."""
        # ASCII digits only: int() also reads "٢" (Arabic-Indic two) as 2.
        raw = params.get(PAGE) or "1"
        number = int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else 1
        last = self.num_pages
        number = min(max(number, 1), last)
        size = self.per_page
        rows: list[Model] | None = None
        if number == 1:
            rows = list(self._ordered()[:size])
        elif number == last:
            remaining = self.count - (last - 1) * size
            rows = list(self._ordered(reverse=True)[:remaining])[::-1]
        elif (after := self._cursor(params.get(AFTER))) is not None:
            rows = list(self._ordered().filter(_beyond(self.keys, after, True))[:size])
        elif (before := self._cursor(params.get(BEFORE))) is not None:
            beyond = _beyond(self.keys, before, False)
            rows = list(self._ordered(reverse=True).filter(beyond)[:size])[::-1]
        if not rows and self.count:
            # No cursor, or the register changed under it: count from the start.
            start = (number - 1) * size
            rows = list(self._ordered()[start : start + size])
        return SeekPage(rows, number, self)


class SeekPage(Sequence):
    """A page, with what the templates of Django's ``Page`` use, and its links."""

    def __init__(self, rows: list[Model], number: int, paginator: SeekPaginator):
        self.object_list = rows
        self.number = number
        self.paginator = paginator
        self.base_query = ""

    def __iter__(self) -> Iterator[Model]:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __getitem__(self, index):
        return self.object_list[index]

    def __repr__(self) -> str:
        return f"<SeekPage {self.number} of {self.paginator.num_pages}>"

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.number < self.paginator.num_pages

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1

    def start_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + 1 if self.object_list else 0

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0

    def with_query(self, query_string: str) -> "SeekPage":
        """The GET parameters (search, filters) every link of the page keeps."""
        self.base_query = query_string
        return self

    def _link(self, number: int, cursor: tuple[str, str | None] | None = None) -> str:
        query = QueryDict(self.base_query, mutable=True)
        for name in CURSOR_PARAMETERS:
            query.pop(name, None)
        query[PAGE] = str(number)
        if cursor and cursor[1]:
            query[cursor[0]] = cursor[1]
        return "?" + query.urlencode()

    @property
    def first_link(self) -> str:
        return self._link(1)

    @property
    def last_link(self) -> str:
        return self._link(self.paginator.num_pages)

    @property
    def previous_link(self) -> str:
        number = self.number - 1
        if number == 1 or not self.object_list:
            return self._link(number)
        return self._link(number, (BEFORE, self.paginator.token(self.object_list[0])))

    @property
    def next_link(self) -> str:
        number = self.number + 1
        if number == self.paginator.num_pages or not self.object_list:
            return self._link(number)
        return self._link(number, (AFTER, self.paginator.token(self.object_list[-1])))


def paginate(
    request: HttpRequest,
    queryset: QuerySet,
    ordering: Sequence[str],
    per_page: int,
    *,
    seek: bool = True,
) -> SeekPage:
    """The page of ``queryset`` the request asks for; its links keep the other GET
    parameters (search, filters)."""
    paginator = SeekPaginator(queryset, ordering, per_page, seek=seek)
    query = request.GET.copy()
    for name in CURSOR_PARAMETERS:
        query.pop(name, None)
    return paginator.get_page(request.GET).with_query(query.urlencode())
