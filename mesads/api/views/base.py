import datetime
import re

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.views import APIView

from ..errors import ErrorSerializer

ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    429: ErrorSerializer,
}


class KeyedView(APIView):
    """A read-only API view behind a key (``mesads.api.keys``).

    Not in the request's transaction (ATOMIC_REQUESTS): the change feed numbers changes in
    transactions of its own (``changes.stamp``), and a call counter written now and then
    must not hold a lock until the response is sent.
    """

    http_method_names = ["get", "head", "options"]

    @classmethod
    def as_view(cls, **initkwargs):
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def params(self, serializer_class: type[serializers.Serializer]) -> dict:
        """The query's parameters, validated. An unknown one (a typo: ``departemnt``), an
        empty one or one given twice (``curseur=1&curseur=9``) is refused rather than
        ignored or read as one of its values: the re-user would otherwise get another list
        than the one asked for and believe it filtered. Every parameter takes one value."""
        serializer = serializer_class(data=self.request.query_params)
        errors = {}
        for name, values in self.request.query_params.lists():
            if name not in serializer.fields:
                errors[name] = ["Paramètre inconnu."]
            elif any(value == "" for value in values):
                errors[name] = ["Ce paramètre ne peut pas être vide."]
            elif len(values) > 1:
                errors[name] = ["Ce paramètre ne peut être donné qu’une fois."]
        if errors:
            raise serializers.ValidationError(errors)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# Codes as the register writes them. A pattern says in the schema what a plain CharField
# does unsaid: it strips white space (control characters such as \x1d too) and refuses
# what is left blank.
INSEE_CODE = r"^[0-9][0-9ABab][0-9]{3}$"
DEPARTEMENT_CODE = r"^(?:[0-9]{2,3}|2[ABab])$"
# Free text (an ADS number, a plate): no NUL character, and not white space alone.
TEXT = r"^[^\x00]*[^\x00\s][^\x00]*$"

# Ids and positions are 64-bit integers in the database: a larger value is refused here
# rather than by the database.
MAX_ID = 2**62


# Ids, positions and sizes are written in ASCII digits: ``int()`` (and DRF's IntegerField,
# and ``str.isdigit``) also read Arabic-Indic or superscript digits (``١٥`` is 15), which
# would give one resource two addresses, or a server error where ``isdigit`` and ``int``
# disagree (``¹``).
ASCII_NUMBER = re.compile(r"[0-9]+")


def cursor_page(request, queryset, params: dict) -> tuple[list, int | None, str | None]:
    """One page of ``queryset`` in primary-key order, after the ``curseur`` parameter and
    ``taille`` long: its rows, the cursor of the next page and that page's address (both
    None on the last page)."""
    if after := params.get("curseur"):
        queryset = queryset.filter(pk__gt=after)
    size = params["taille"]
    rows = list(queryset.order_by("pk")[: size + 1])
    if len(rows) <= size:
        return rows, None, None
    rows = rows[:size]
    next_cursor = rows[-1].pk
    query = request.query_params.copy()
    query["curseur"] = str(next_cursor)
    return rows, next_cursor, request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def ascii_number(text: str) -> int | None:
    """The number written in ASCII digits, or None."""
    return int(text) if ASCII_NUMBER.fullmatch(text) else None


class NumberField(serializers.IntegerField):
    """A whole number in ASCII digits (see ``ASCII_NUMBER``)."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not ASCII_NUMBER.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class YesNoField(serializers.ChoiceField):
    """``true`` or ``false`` (absent: no filter). DRF's BooleanField reads an absent query
    parameter as false."""

    def __init__(self, **kwargs):
        super().__init__(choices=["true", "false"], required=False, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(str(data).lower()) == "true"


class MomentField(serializers.DateTimeField):
    """A date and time. One that cannot be converted to UTC (``0001-01-01T00:00+01:00`` is
    before the first representable moment) means "since forever" or "never": it is
    clamped to the first or last moment rather than refused."""

    def enforce_timezone(self, value):
        if timezone.is_aware(value):
            try:
                value.astimezone(datetime.UTC)
            except OverflowError:
                edge = datetime.datetime.min if value.year == 1 else datetime.datetime.max
                return edge.replace(tzinfo=datetime.UTC)
        return super().enforce_timezone(value)


class PageParams(serializers.Serializer):
    curseur = NumberField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        help_text="Le « curseur_suivant » de la page précédente.",
    )
    taille = NumberField(
        required=False, min_value=1, max_value=1000, default=100, help_text="1 à 1 000."
    )
