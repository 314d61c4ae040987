"""Load the reference geography from ``fixtures/geography.json.gz`` into the database.

The fixture is built by ``scripts/build_geography_fixture.py`` from the npm package
``@etalab/decoupage-administratif``. Loading is an upsert keyed by natural keys
(``Departement.code``, ``Commune`` (``insee_code``, ``type``), ``EPCI.siren``,
``Airport.code``): a renamed commune keeps its row (and whatever refers to it), a
commune or EPCI absent from the new vintage is set inactive, never deleted.

It must stay fast on ~37,000 communes: every table is read in one query, compared in
Python, and only rows that differ are written, with bulk queries.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models, transaction

from .models import EPCI, Airport, Commune, Departement

DEFAULT_FIXTURE: Path = settings.BASE_DIR / "fixtures" / "geography.json.gz"
FIXTURE_FORMAT = 1

# Small enough for SQLite's limit on query parameters once Django splits it further,
# large enough that a full load is a few hundred queries.
BATCH_SIZE = 1000

# Airports whose taxi licences are issued by the State (the prefecture) rather than a
# commune. Not in the INSEE data, so kept here by hand: (OACI code, name, département).
AIRPORTS: list[tuple[str, str, str]] = [
    ("LFPG", "Paris-Charles-de-Gaulle", "95"),
    ("LFPO", "Paris-Orly", "94"),
    ("LFMN", "Nice-Côte d'Azur", "06"),
    ("LFLL", "Lyon-Saint-Exupéry", "69"),
    ("LFML", "Marseille-Provence", "13"),
    ("LFBO", "Toulouse-Blagnac", "31"),
    ("LFBD", "Bordeaux-Mérignac", "33"),
    ("LFSB", "Bâle-Mulhouse", "68"),
    ("LFRS", "Nantes-Atlantique", "44"),
    ("LFQQ", "Lille-Lesquin", "59"),
]

Progress = Callable[[str], None]


class GeographyDataError(ValueError):
    """The fixture is not in the expected format or is inconsistent."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Rows absent from the data, now inactive (only communes and EPCIs have the flag).
    deactivated: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


@dataclass
class LoadReport:
    source: str = ""
    departements: Counts = field(default_factory=Counts)
    communes: Counts = field(default_factory=Counts)
    epcis: Counts = field(default_factory=Counts)
    airports: Counts = field(default_factory=Counts)
    memberships_added: int = 0
    memberships_removed: int = 0

    @property
    def changed(self) -> bool:
        return (
            any(counts.changed for _, counts in self.models())
            or bool(self.memberships_added)
            or bool(self.memberships_removed)
        )

    def models(self) -> list[tuple[str, Counts]]:
        return [
            ("departements", self.departements),
            ("communes", self.communes),
            ("epcis", self.epcis),
            ("airports", self.airports),
        ]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_fixture(path: Path | str = DEFAULT_FIXTURE) -> dict[str, Any]:
    """Return the content of a (gzipped or plain) geography fixture."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        content = json.load(f)
    if content.get("format") != FIXTURE_FORMAT:
        raise GeographyDataError(
            f"{path} : format {content.get('format')!r} inconnu (attendu : {FIXTURE_FORMAT})."
        )
    return content


def load_geography(
    path: Path | str = DEFAULT_FIXTURE, progress: Progress | None = None
) -> LoadReport:
    """Create or update départements, communes, EPCIs, memberships and airports.

    Runs in one transaction; a second run with the same file writes nothing.
    """
    say = progress or (lambda message: None)
    content = read_fixture(path)
    report = LoadReport(source=content["source"])
    say(f"Source : {report.source}")

    with transaction.atomic():
        departement_ids = _sync(
            Departement,
            key_fields=("code",),
            wanted={
                (row["code"],): {
                    "name": row["name"],
                    "region_code": row["region_code"],
                    "chef_lieu_code": row["chef_lieu_code"],
                    "zone": row["zone"],
                }
                for row in content["departements"]
            },
            counts=report.departements,
        )
        say(f"Départements : {_summary(report.departements)}")
        departement_id = {code: pk for (code,), pk in departement_ids.items()}

        commune_ids = _sync(
            Commune,
            key_fields=("insee_code", "type"),
            wanted={
                (row["insee_code"], row["type"]): {
                    "name": row["name"],
                    "departement_id": _lookup(departement_id, row["departement"], "département"),
                    "siren": row["siren"],
                    "population": row["population"],
                    "postal_codes": row["postal_codes"],
                    "parent_code": row["parent_code"],
                    "former_codes": row["former_codes"],
                    "is_active": True,
                }
                for row in content["communes"]
            },
            counts=report.communes,
            deactivate=True,
        )
        say(f"Communes : {_summary(report.communes, feminine=True, deactivation=True)}")

        # EPCI members are current communes only.
        current = {
            row["insee_code"]: row
            for row in content["communes"]
            if row["type"] == Commune.Type.ACTUELLE
        }
        epci_ids = _sync(
            EPCI,
            key_fields=("siren",),
            wanted={
                (row["siren"],): {
                    "name": row["name"],
                    "type": row["type"],
                    "population": row["population"],
                    "departement_id": departement_id[_main_departement(row, current)],
                    "is_active": True,
                }
                for row in content["epcis"]
            },
            counts=report.epcis,
            deactivate=True,
        )
        say(f"EPCI : {_summary(report.epcis, deactivation=True)}")

        _sync_memberships(
            wanted={
                epci_ids[(row["siren"],)]: {
                    _lookup(commune_ids, (code, Commune.Type.ACTUELLE), "commune membre")
                    for code in row["members"]
                }
                for row in content["epcis"]
            },
            report=report,
        )
        say(
            f"Communes membres des EPCI : {report.memberships_added} ajoutées, "
            f"{report.memberships_removed} retirées"
        )

        _sync(
            Airport,
            key_fields=("code",),
            wanted={
                (code,): {
                    "name": name,
                    "departement_id": _lookup(departement_id, departement, "département"),
                }
                for code, name, departement in AIRPORTS
            },
            counts=report.airports,
        )
        say(f"Aéroports : {_summary(report.airports)}")
    return report


def _summary(counts: Counts, *, feminine: bool = False, deactivation: bool = False) -> str:
    e = "e" if feminine else ""
    text = (
        f"{counts.created} créé{e}s, {counts.updated} modifié{e}s, {counts.unchanged} inchangé{e}s"
    )
    if deactivation:
        text += f", {counts.deactivated} désactivé{e}s"
    return text


def _lookup(mapping: dict, key: Any, what: str) -> int:
    try:
        return mapping[key]
    except KeyError:
        raise GeographyDataError(f"{what} inconnu : {key}") from None


def _main_departement(epci: dict[str, Any], current: dict[str, dict[str, Any]]) -> str:
    """The département holding most of the EPCI's population: its prefecture oversees it."""
    population: dict[str, int] = defaultdict(int)
    for code in epci["members"]:
        commune = _lookup(current, code, f"commune membre de l'EPCI {epci['siren']}")
        population[commune["departement"]] += commune["population"] or 0
    if not population:
        raise GeographyDataError(f"EPCI {epci['siren']} sans commune membre.")
    # Ties go to the smallest code, so that the result never depends on ordering.
    return max(sorted(population), key=population.__getitem__)


def _batched(items: Iterable, size: int = BATCH_SIZE) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _sync(
    model: type[models.Model],
    *,
    key_fields: tuple[str, ...],
    wanted: dict[tuple, dict[str, Any]],
    counts: Counts,
    deactivate: bool = False,
) -> dict[tuple, int]:
    """Make the table hold ``wanted`` (natural key -> field values), writing only changes.

    Rows of the table absent from ``wanted`` are set inactive when ``deactivate``, left
    alone otherwise. Returns the primary key of every row, by natural key.
    """
    value_fields = list(next(iter(wanted.values()), {}))
    if deactivate and "is_active" not in value_fields:
        value_fields.append("is_active")  # wanted is empty: every row is to deactivate
    n_keys = len(key_fields)
    existing: dict[tuple, tuple[int, tuple]] = {}
    # order_by(): the models' default ordering would only slow this query down.
    rows = model.objects.order_by().values_list("pk", *key_fields, *value_fields)
    for pk, *values in rows:
        existing[tuple(values[:n_keys])] = (pk, tuple(values[n_keys:]))

    to_create = []
    # Grouped by the set of fields that changed: a new vintage mostly changes the
    # population, and updating one column is much cheaper than all of them.
    to_update: dict[tuple[str, ...], list[models.Model]] = defaultdict(list)
    for key, values in wanted.items():
        if key not in existing:
            to_create.append(model(**dict(zip(key_fields, key, strict=True)), **values))
            continue
        pk, current = existing[key]
        changed = tuple(
            name for name, old in zip(value_fields, current, strict=True) if values[name] != old
        )
        if changed:
            to_update[changed].append(model(pk=pk, **values))
        else:
            counts.unchanged += 1

    for batch in _batched(to_create):
        model.objects.bulk_create(batch)
    counts.created = len(to_create)
    for changed, objs in to_update.items():
        model.objects.bulk_update(objs, list(changed), batch_size=BATCH_SIZE)
        counts.updated += len(objs)

    if deactivate:
        active = value_fields.index("is_active")
        gone = [pk for key, (pk, row) in existing.items() if key not in wanted and row[active]]
        for batch in _batched(gone):
            model.objects.filter(pk__in=batch).update(is_active=False)
        counts.deactivated = len(gone)

    ids = {key: pk for key, (pk, _) in existing.items()}
    if any(obj.pk is None for obj in to_create):
        # Backends that cannot return ids from a bulk insert: read them back.
        return {
            tuple(values): pk
            for pk, *values in model.objects.order_by().values_list("pk", *key_fields)
        }
    ids.update({tuple(getattr(obj, name) for name in key_fields): obj.pk for obj in to_create})
    return ids


def _sync_memberships(wanted: dict[int, set[int]], report: LoadReport) -> None:
    """Make the EPCIs of the data have exactly their members, through bulk queries.

    EPCIs absent from the data (now inactive) keep their last known members.
    """
    through = EPCI.members.through
    existing: dict[tuple[int, int], int] = {
        (epci_id, commune_id): pk
        for pk, epci_id, commune_id in through.objects.order_by().values_list(
            "pk", "epci_id", "commune_id"
        )
    }
    wanted_pairs = {
        (epci_id, commune_id) for epci_id, members in wanted.items() for commune_id in members
    }
    to_add = sorted(wanted_pairs - existing.keys())
    to_remove = sorted(
        pk for pair, pk in existing.items() if pair[0] in wanted and pair not in wanted_pairs
    )
    for batch in _batched(to_add):
        through.objects.bulk_create(
            [through(epci_id=epci_id, commune_id=commune_id) for epci_id, commune_id in batch]
        )
    for batch in _batched(to_remove):
        through.objects.filter(pk__in=batch).delete()
    report.memberships_added = len(to_add)
    report.memberships_removed = len(to_remove)
