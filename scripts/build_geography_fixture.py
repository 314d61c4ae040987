"""Build ``fixtures/geography.json.gz`` from ``@etalab/decoupage-administratif``.

The npm package ships the INSEE *Code officiel géographique* as large JSON files
(~12 MB). We keep only what ``mesads.geo`` stores, in one small gzipped file that is
committed and loaded by ``manage.py load_geography``. The output is deterministic
(sorted rows, gzip mtime 0): rebuilding from the same package version gives the same
bytes, so a diff in git means the data really changed.

Usage, from the project root:

    python scripts/build_geography_fixture.py
        # runs `npm pack @etalab/decoupage-administratif@6.0.0` in a temporary folder
    python scripts/build_geography_fixture.py --package-dir /tmp/geo/package
        # uses an already unpacked package (the folder holding package.json and data/)

To move to a newer vintage, change ``PACKAGE_VERSION``, rebuild, run the tests and
load it (``manage.py load_geography``): renamed communes are updated in place and
communes that merged are kept inactive.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE_NAME = "@etalab/decoupage-administratif"
PACKAGE_VERSION = "6.0.0"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "fixtures" / "geography.json.gz"
FORMAT_VERSION = 1


def _read(data_dir: Path, name: str) -> list[dict[str, Any]]:
    with open(data_dir / name, encoding="utf-8") as f:
        return json.load(f)


def _departements(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        (
            {
                "code": row["code"],
                "name": row["nom"],
                "region_code": row.get("region") or "",
                "chef_lieu_code": row.get("chefLieu") or "",
                "zone": row.get("zone") or "",
            }
            for row in rows
        ),
        key=lambda row: row["code"],
    )


def _communes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    communes = []
    for row in rows:
        # A delegated or associated commune points to its current commune with
        # `chefLieu`; a municipal district (Paris, Lyon, Marseille) with `commune`.
        parent_code = row.get("chefLieu") or row.get("commune") or ""
        communes.append(
            {
                "insee_code": row["code"],
                "type": row["type"],
                "name": row["nom"],
                "departement": row["departement"],
                "siren": row.get("siren") or "",
                "population": row.get("population"),
                "postal_codes": row.get("codesPostaux") or [],
                "parent_code": parent_code,
                "former_codes": row.get("anciensCodes") or [],
            }
        )
    return sorted(communes, key=lambda row: (row["insee_code"], row["type"]))


def _epcis(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        (
            {
                "siren": row["code"],
                "name": row["nom"],
                "type": row["type"],
                # The municipal population is the legal reference figure, the same
                # measure as the communes' population.
                "population": row.get("populationMunicipale"),
                "members": sorted(member["code"] for member in row["membres"]),
            }
            for row in rows
        ),
        key=lambda row: row["siren"],
    )


def build(package_dir: Path) -> dict[str, Any]:
    """Return the fixture's content built from an unpacked npm package."""
    with open(package_dir / "package.json", encoding="utf-8") as f:
        package = json.load(f)
    if package["name"] != PACKAGE_NAME:
        raise SystemExit(f"{package_dir} holds {package['name']}, not {PACKAGE_NAME}")
    data_dir = package_dir / "data"
    return {
        "format": FORMAT_VERSION,
        "source": f"{package['name']}@{package['version']}",
        "departements": _departements(_read(data_dir, "departements.json")),
        "communes": _communes(_read(data_dir, "communes.json")),
        "epcis": _epcis(_read(data_dir, "epci.json")),
    }


def write(content: dict[str, Any], output: Path) -> None:
    """Write gzipped JSON whose bytes depend on the content only."""
    output.parent.mkdir(parents=True, exist_ok=True)
    # One row per line keeps the file readable once gunzipped.
    lines = ["{"]
    lines.append(f'"format":{json.dumps(content["format"])},')
    lines.append(f'"source":{json.dumps(content["source"])},')
    tables = ["departements", "communes", "epcis"]
    for index, table in enumerate(tables):
        rows = ",\n".join(
            json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in content[table]
        )
        comma = "," if index < len(tables) - 1 else ""
        lines.append(f'"{table}":[\n{rows}\n]{comma}')
    lines.append("}\n")
    data = "\n".join(lines).encode("utf-8")
    with open(output, "wb") as raw:
        # mtime=0 and an empty file name: the gzip header must not vary between builds.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(data)


def _npm_pack(destination: Path) -> Path:
    spec = f"{PACKAGE_NAME}@{PACKAGE_VERSION}"
    subprocess.run(["npm", "pack", spec], cwd=destination, check=True)  # noqa: S603, S607
    (archive,) = destination.glob("*.tgz")
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter="data")
    return destination / "package"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--package-dir",
        type=Path,
        help="unpacked npm package (holding package.json and data/); default: npm pack",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    if args.package_dir:
        content = build(args.package_dir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            content = build(_npm_pack(Path(tmp)))
    write(content, args.output)
    print(
        f"{args.output}: {content['source']}, {len(content['departements'])} départements, "
        f"{len(content['communes'])} communes, {len(content['epcis'])} EPCI, "
        f"{args.output.stat().st_size:,} octets",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
