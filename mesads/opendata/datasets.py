"""What the two open-data files hold, row by row, and the Table Schema of each.

The schemas (``schemas/*.json``, Frictionless Table Schema) are the contract published
beside the files: the columns of a file are its schema's fields, in their order.

No personal data: the rows are read with ``values_list`` on an explicit list of columns,
none of which is a holder's, a driver's or a vehicle's identifier. Each file is one query
read through a server-side cursor (``iterator``), whatever the size of the register; the
counts per authority are aggregated by the database.

Values are written as they are stored, without the apostrophe that the spreadsheet
exports put before a cell starting with = + - @ (``mesads.exchange.columns``): these files
are read by programs, and an ADS number must reach them exactly as le.taxi knows it. The
authorities' names come from the official geography and never start with those signs;
an ADS number is free text. The public page says how to open the files in a spreadsheet.
"""

import datetime
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import CharField, Count, Max, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from mesads.ads.models import ADS
from mesads.authorities.models import Authority

from .models import Publication

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
CHUNK_SIZE = 2000

# Authority.Type values as the open data writes them (French, without accents).
AUTHORITY_TYPES = {
    Authority.Type.COMMUNE: "commune",
    Authority.Type.EPCI: "epci",
    Authority.Type.PREFECTURE: "prefecture",
    Authority.Type.AIRPORT: "aeroport",
}


@functools.cache
def schema(dataset: str) -> dict[str, Any]:
    """The Table Schema of ``dataset`` (a ``Publication.Dataset`` value), as published."""
    return json.loads((SCHEMAS_DIR / f"{dataset}.json").read_text(encoding="utf-8"))


def schema_path(dataset: str) -> Path:
    return SCHEMAS_DIR / f"{dataset}.json"


def columns(dataset: str) -> list[str]:
    return [field["name"] for field in schema(dataset)["fields"]]


# --- cells ------------------------------------------------------------------------------


def _boolean(value: bool | None) -> str:
    return "" if value is None else "true" if value else "false"


def _date(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def _local_date(value: datetime.datetime | None) -> str:
    return timezone.localdate(value).isoformat() if value else ""


def _authority_code(prefix: str = "") -> Coalesce:
    """``Authority.code`` in SQL: INSEE code, SIREN, département code or OACI code."""
    return Coalesce(
        f"{prefix}commune__insee_code",
        f"{prefix}epci__siren",
        f"{prefix}prefecture__code",
        f"{prefix}airport__code",
        Value(""),
        output_field=CharField(),
    )


# --- the authorities file ---------------------------------------------------------------


def authority_queryset() -> QuerySet:
    """Every authority with the counts of its live ADS, in one grouped query.

    Each ADS is counted once, under the authority that issued it (``ADS.authority``): a
    commune that delegated to an EPCI has its territory's ADS counted on the EPCI's row,
    and says to which EPCI it delegates.
    """
    live = Q(ads__deleted_at__isnull=True)
    return (
        Authority.objects.annotate(
            code=_authority_code(),
            siren=Coalesce(NullIf("commune__siren", Value("")), "epci__siren"),
            ads_total=Count("ads", filter=live),
            ads_in_use=Count("ads", filter=live & Q(ads__in_use=True)),
            ads_vacant=Count("ads", filter=live & Q(ads__in_use=False)),
            ads_pmr=Count("ads", filter=live & Q(ads__vehicle_pmr=True)),
            ads_low_emission=Count("ads", filter=live & Q(ads__vehicle_low_emission=True)),
            ads_cpam=Count("ads", filter=live & Q(ads__cpam_agreement=True)),
            # A deletion is a change of the register too (it saves updated_at).
            last_update=Max("ads__updated_at"),
        )
        .order_by("code", "pk")
        .values_list(
            "code",
            "siren",
            "name",
            "type",
            "departement__code",
            "ads_total",
            "ads_in_use",
            "ads_vacant",
            "ads_pmr",
            "ads_low_emission",
            "ads_cpam",
            "declares_no_ads",
            "delegated_to__epci__siren",
            "expected_ads_count",
            "last_update",
        )
    )


def authority_rows() -> Iterator[list[str]]:
    for (
        code,
        siren,
        name,
        type_,
        departement,
        total,
        in_use,
        vacant,
        pmr,
        low_emission,
        cpam,
        declares_no_ads,
        delegated_to,
        expected,
        last_update,
    ) in authority_queryset().iterator(chunk_size=CHUNK_SIZE):
        yield [
            code,
            siren or "",
            name,
            AUTHORITY_TYPES.get(type_, type_),
            departement or "",
            str(total),
            str(in_use),
            str(vacant),
            str(pmr),
            str(low_emission),
            str(cpam),
            _boolean(declares_no_ads),
            delegated_to or "",
            "" if expected is None else str(expected),
            _local_date(last_update),
        ]


# --- the ADS file -----------------------------------------------------------------------


def ads_queryset() -> QuerySet:
    """The live ADS, by authority code then number as people sort it; only the columns
    the file publishes (no holder, driver, SIRET, contact or plate is even read)."""
    return (
        ADS.objects.live()
        .annotate(
            authority_code=_authority_code("authority__"),
            # The member commune an EPCI indicated, else the commune that issued the ADS,
            # else a prefecture's chef-lieu (Paris: 75056): the code the API answers with.
            commune_code=Coalesce(
                "commune__insee_code",
                "authority__commune__insee_code",
                NullIf("authority__prefecture__chef_lieu_code", Value("")),
            ),
        )
        .order_by("authority_code", "number_sort_key", "pk")
        .values_list(
            "authority_code",
            "commune_code",
            "number",
            "creation_date",
            "in_use",
            "vehicle_pmr",
            "vehicle_low_emission",
            "cpam_agreement",
        )
    )


def ads_rows() -> Iterator[list[str]]:
    # The model says which regime a creation date falls in: a throw-away instance lends
    # its property to every row.
    probe = ADS()
    regimes = {True: "nouveau", False: "ancien", None: ""}
    for (
        authority_code,
        commune_code,
        number,
        creation_date,
        in_use,
        pmr,
        low_emission,
        cpam,
    ) in ads_queryset().iterator(chunk_size=CHUNK_SIZE):
        probe.creation_date = creation_date
        yield [
            authority_code,
            commune_code or "",
            number,
            regimes[probe.is_new_regime],
            _date(creation_date),
            _boolean(in_use),
            _boolean(pmr),
            _boolean(low_emission),
            _boolean(cpam),
        ]


@dataclass(frozen=True)
class Dataset:
    slug: str  # a Publication.Dataset value: the file's and the schema's public name
    rows: Callable[[], Iterator[list[str]]]  # in the schema's column order

    @property
    def label(self) -> str:
        return Publication.Dataset(self.slug).label

    @property
    def schema(self) -> dict[str, Any]:
        return schema(self.slug)

    @property
    def columns(self) -> list[str]:
        return columns(self.slug)


DATASETS = [
    Dataset(Publication.Dataset.AUTHORITIES.value, authority_rows),
    Dataset(Publication.Dataset.ADS.value, ads_rows),
]
BY_SLUG = {dataset.slug: dataset for dataset in DATASETS}
