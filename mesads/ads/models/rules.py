"""The register's rules that are plain values, dates and conditions: the new regime's
five-year validity (L3121-1-2), the yearly attestation, certification, and ADS numbers
as people sort and search them. Shared by the models and the queries of every app."""

import calendar
import datetime
import re

from django.db import models
from django.db.models import (
    F,
    Q,
    Value,
)
from django.db.models.functions import Coalesce, Replace, Upper

# ADS created on or after this date are personal, free, and valid five years (L3121-1-2).
NEW_REGIME_START = datetime.date(2014, 10, 1)
RENEWAL_YEARS = 5


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def renewal_limit(today: datetime.date) -> datetime.date:
    """A new-regime ADS whose validity started (creation or last renewal) on or before
    this day is due on ``today``."""
    limit = add_years(today, -RENEWAL_YEARS)
    if (today.month, today.day) == (2, 28) and calendar.isleap(limit.year):
        # ``add_years`` makes an ADS created on 29 February due on 28 February: the
        # query must reach it that day too, or the lists and the ADS page disagree.
        limit += datetime.timedelta(days=1)
    return limit


def validity_start() -> Coalesce:
    """When a new-regime ADS's five years started: its last renewal, else its creation
    (``renewal_overdue_q`` spelt as one expression, which an index holds)."""
    return Coalesce("last_renewal_date", "creation_date")


def renewal_overdue_q(today: datetime.date, prefix: str = "") -> Q:
    """New-regime ADS whose five-year validity, since creation or last renewal, has ended.

    ``prefix`` lets an aggregate over a relation reuse the rule (``prefix="ads__"``).
    """
    limit = renewal_limit(today)
    return Q(**{f"{prefix}creation_date__gte": NEW_REGIME_START}) & (
        Q(**{f"{prefix}last_renewal_date__lte": limit})
        | Q(**{f"{prefix}last_renewal_date__isnull": True, f"{prefix}creation_date__lte": limit})
    )


ATTESTATION_VALIDITY = datetime.timedelta(days=365)


def attestation_due_q(now: datetime.datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}attested_at__isnull": True}) | Q(
        **{f"{prefix}attested_at__lt": now - ATTESTATION_VALIDITY}
    )


def certified_q(prefix: str = "") -> Q:
    """Certified by the prefecture, with no substantive change since."""
    return Q(**{f"{prefix}certified_at__isnull": False}) & (
        Q(**{f"{prefix}substantive_change_at__isnull": True})
        | Q(**{f"{prefix}substantive_change_at__lte": F(f"{prefix}certified_at")})
    )


def to_recertify_q(prefix: str = "") -> Q:
    """Certified once, then changed: the prefecture must look again."""
    return Q(
        **{
            f"{prefix}certified_at__isnull": False,
            f"{prefix}substantive_change_at__gt": F(f"{prefix}certified_at"),
        }
    )


def natural_sort_key(number: str) -> str:
    """A key that sorts ADS numbers as people do: ``2`` before ``10``, ``A-7`` before ``A-12``.

    Every run of digits is left-padded to 12 characters, so that a plain string index
    gives the natural order on every database.
    """
    return re.sub(r"\d+", lambda m: m.group(0).lstrip("0").rjust(12, "0"), number.strip().upper())


def number_search_key(number: str) -> str:
    """An ADS number as a search compares it: upper case, without dashes, spaces, dots or
    slashes, so that ``ux42`` finds ``UX-42`` (as ``plate_search`` does for plates)."""
    return re.sub(r"[- ./]", "", (number or "").upper())


def number_search_expression() -> models.Func:
    """``number_search_key`` in SQL, on both databases; indexed (``ads_number_search_idx``)."""
    expression = Upper("number")
    for character in ("-", " ", ".", "/"):
        expression = Replace(expression, Value(character), Value(""))
    return expression
