"""Importing the register from a spreadsheet: national staff upload a file in the admin,
see what it would change, confirm; the history keeps one revision of it all.

An export re-imports with zero changes; files as people really make them (CSV in
Windows-1252 with commas, dates typed in three ways, "x" for yes, SIRET with spaces, an
authority by its name) import too. Every row is checked with the web forms' rules, and
the result is all or nothing. Bad files are in ``test_import_bad_input.py``.
"""

import csv
import datetime
import io
import json

import openpyxl
import pytest
import reversion
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import CheckConstraint
from django.urls import include, path, reverse
from reversion.models import Revision, Version

from mesads import urls as project_urls
from mesads.ads.forms import ADSForm, DriverForm
from mesads.ads.history import ads_timeline
from mesads.ads.models import ADS, Driver, RegisterChange
from mesads.authorities.models import Authority
from mesads.exchange import export
from mesads.exchange.admin import ADSResource, RegisterFormat
from mesads.exchange.columns import ADS_COLUMNS, DRIVER_COLUMNS, driver_header
from mesads.exchange.importing import (
    ADS_FIELDS,
    DRIVER_FIELDS,
    Action,
    expected_headers,
    import_file,
)
from mesads.exchange.models import ImportJob
from mesads.users.models import User

# The import's pages, under the project's URLs (whether or not they include them yet).
urlpatterns = list(project_urls.urlpatterns)
if not any(getattr(p, "namespace", None) == "imports" for p in urlpatterns):
    urlpatterns.append(path("imports/", include("mesads.exchange.import_urls")))

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

TODAY = datetime.date.today()
HEADERS = expected_headers(2)


# --- files as people make them ----------------------------------------------------------


def row(**cells: str) -> dict[str, str]:
    """One line of the file, by header; the rest empty."""
    return cells


def nimes_row(number: str = "12", **cells: str) -> dict[str, str]:
    """A valid old-regime ADS of Nîmes in use, with one employed driver."""
    return {
        "Code INSEE ou SIREN du gestionnaire": "30189",
        "Numéro de l’ADS": number,
        "Date de création": "01/03/2005",
        "Date d’attribution au titulaire actuel": "01/06/2012",
        "ADS exploitée": "Oui",
        "Titulaire": "Taxi Arènes SARL",
        "SIRET du titulaire": "73282932000074",
        "Immatriculation du véhicule": "AB-123-CD",
        "Véhicule accessible (PMR)": "Non",
        "Véhicule à faibles émissions": "Oui",
        "Conventionnée CPAM": "Non",
        "Conducteur 1 – statut": "Salarié",
        "Conducteur 1 – nom": "Jean Martin",
        "Conducteur 1 – carte professionnelle": "CP-30-0001",
        **cells,
    }


def csv_file(
    rows: list[dict[str, str]],
    headers: list[str] = HEADERS,
    *,
    encoding: str = "utf-8-sig",
    separator: str = ";",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow(headers)
    for cells in rows:
        writer.writerow([cells.get(header, "") for header in headers])
    return buffer.getvalue().encode(encoding)


def xlsx_file(rows: list[list], headers: list[str] = HEADERS, sheet: str = "ADS") -> bytes:
    """A workbook as Excel writes it (shared strings, dates as numbers with a format)."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append(headers)
    for cells in rows:
        worksheet.append(cells)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def run(data: bytes, name: str = "registre.csv", **options):
    return import_file(io.BytesIO(data), file_name=name, **options)


def messages_of(result) -> list[tuple[int | None, str, str]]:
    return [(issue.line, issue.column, issue.message) for issue in result.issues]


@pytest.fixture
def national_admin(db) -> User:
    return User.objects.create_superuser("chef@transports.gouv.fr", "mot-de-passe-de-test")


def make_ads(authority: Authority, number: str, drivers=(), **fields) -> ADS:
    ads = ADS(authority=authority, number=number, **fields)
    ads.save()
    saved = [Driver.objects.create(ads=ads, **driver) for driver in drivers]
    ads.refresh_derived(saved)
    ads.save()
    return ads


@pytest.fixture
def register(nimes, ales, nimes_metropole, complete_ads) -> list[ADS]:
    """Nîmes: ADS 12 (complete), 2 (new regime, a formula for a holder name), 10 (two
    drivers); Nîmes Métropole: A-1 used in Nîmes; Alès: 7 (vacant); a deleted ADS."""
    return [
        complete_ads,
        make_ads(
            nimes,
            "2",
            creation_date=datetime.date(2016, 5, 2),
            last_renewal_date=datetime.date(2021, 5, 2),
            # Text that starts with an apostrophe and a formula sign: the CSV export
            # doubles the apostrophe, the import takes one off.
            holder_name='\'=HYPERLINK("http://pirate.example";"clic")',
            holder_phone="+590690123456",
            holder_email="ali@example.com",
            cpam_agreement=True,
            vehicle_low_emission=False,
            drivers=[
                {"status": Driver.Status.TITULAIRE, "name": "Ali Durand", "card_number": "CP-2"}
            ],
        ),
        make_ads(
            nimes,
            "10",
            creation_date=datetime.date(1998, 1, 15),
            attribution_date=datetime.date(2010, 9, 1),
            notes="Ligne 1\nLigne 2 ; avec « guillemets »",
            drivers=[
                {"status": Driver.Status.SALARIE, "name": "Léa Petit", "card_number": "CP-10-1"},
                {
                    "status": Driver.Status.LOCATAIRE_GERANT,
                    "name": "Marc Roux",
                    "siret": "73282932000074",
                    "card_number": "CP-10-2",
                    "lease_start_date": datetime.date(2019, 4, 1),
                },
            ],
        ),
        make_ads(
            nimes_metropole,
            "A-1",
            commune=nimes.commune,
            creation_date=datetime.date(2019, 2, 1),
            vehicle_plate="1234 AB 30",
        ),
        make_ads(ales, "7", in_use=False, creation_date=datetime.date(1990, 7, 14)),
        make_ads(ales, "99", deleted_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)),
    ]


def exported(kind: str) -> bytes:
    output = io.BytesIO()
    if kind == "csv":
        export.write_csv(export.national_scope(), output)
    else:
        export.write_xlsx(export.national_scope(), output)
    return output.getvalue()


def snapshot() -> list[tuple]:
    """The register as the import sees it: every imported field, and the drivers."""
    ads_fields = [ADS._meta.get_field(name).attname for name in ADS_FIELDS]
    return [
        (
            ads.authority_id,
            *(getattr(ads, name) for name in ads_fields),
            tuple(
                tuple(getattr(driver, name) for name in DRIVER_FIELDS)
                for driver in ads.drivers.order_by("pk")
            ),
        )
        for ads in ADS.objects.live().order_by("authority_id", "number")
    ]


# --- the project's own export -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_reimports_with_zero_changes(register, kind):
    data = exported(kind)
    versions = Version.objects.count()
    before = {ads.pk: (ads.version, ads.updated_at) for ads in ADS.objects.all()}

    result = run(data, f"ads-france.{kind}", commit=True)

    assert result.ok, messages_of(result)
    assert result.counts == {"new": 0, "updated": 0, "unchanged": 5, "deleted": 0}
    assert result.revision_id is None  # nothing changed, nothing recorded
    assert Version.objects.count() == versions
    assert {ads.pk: (ads.version, ads.updated_at) for ads in ADS.objects.all()} == before


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_rebuilds_the_same_register(register, kind):
    data = exported(kind)
    before = snapshot()
    ADS.objects.all().delete()

    result = run(data, f"ads-france.{kind}", commit=True)

    assert result.ok, messages_of(result)
    assert result.counts[Action.NEW] == 5
    assert snapshot() == before
    formula = ADS.objects.get(number="2")
    assert formula.holder_name == '\'=HYPERLINK("http://pirate.example";"clic")'
    assert ADS.objects.get(number="10").notes == "Ligne 1\nLigne 2 ; avec « guillemets »"


def test_the_imported_fields_are_those_of_the_web_forms():
    """One place for the rules: the import validates the fields the forms validate."""
    assert set(ADS_FIELDS) == set(ADSForm.Meta.fields)
    # The drivers' formset adds its foreign key to the form's list: not a field people fill.
    assert set(DRIVER_FIELDS) == set(DriverForm.Meta.fields) - {"ads"}


def _violations(nimes):
    """For each database constraint, a record that breaks it."""
    old, new = datetime.date(2005, 1, 1), datetime.date(2016, 1, 1)
    ads = {
        "ads_new_regime_no_attribution_date": ADS(
            authority=nimes, number="1", creation_date=new, attribution_date=new
        ),
        "ads_old_regime_no_renewal_date": ADS(
            authority=nimes, number="1", creation_date=old, last_renewal_date=old
        ),
        "ads_attribution_after_creation": ADS(
            authority=nimes,
            number="1",
            creation_date=old,
            attribution_date=old - datetime.timedelta(days=1),
        ),
        "ads_renewal_after_creation": ADS(
            authority=nimes,
            number="1",
            creation_date=new,
            last_renewal_date=new - datetime.timedelta(days=1),
        ),
        "ads_holder_siret_format": ADS(authority=nimes, number="1", holder_siret="1234"),
        "ads_vehicle_plate_format": ADS(authority=nimes, number="1", vehicle_plate="XYZ"),
    }
    drivers = {
        "driver_siret_only_for_own_business": Driver(
            status=Driver.Status.SALARIE, name="A", siret="73282932000074"
        ),
        "driver_siret_format": Driver(status=Driver.Status.TITULAIRE, name="A", siret="12"),
        "driver_lease_date_only_for_locataire_gerant": Driver(
            status=Driver.Status.SALARIE, name="A", lease_start_date=old
        ),
    }
    return ads, drivers


def test_every_database_constraint_is_also_a_rule_of_clean(nimes):
    """The import skips Django's per-row constraint queries: each constraint must be
    checked by ``clean()`` too (or ``validate_drivers`` / the number check), as the
    project's convention wants."""
    ads_cases, driver_cases = _violations(nimes)
    checks = {c.name for c in ADS._meta.constraints if isinstance(c, CheckConstraint)}
    assert checks == set(ads_cases)
    checks = {c.name for c in Driver._meta.constraints if isinstance(c, CheckConstraint)}
    assert checks == set(driver_cases)
    for ads in ads_cases.values():
        with pytest.raises(ValidationError):
            ads.full_clean(validate_constraints=False, validate_unique=False)
    for driver in driver_cases.values():
        with pytest.raises(ValidationError):
            driver.full_clean(exclude={"ads"}, validate_constraints=False, validate_unique=False)
    two_titulaires = [Driver(status=Driver.Status.TITULAIRE, name=n) for n in "AB"]
    assert ADS(creation_date=datetime.date(2000, 1, 1)).validate_drivers(two_titulaires)


# --- files as people make them ----------------------------------------------------------


def test_the_blank_template_downloads_and_imports(client, nimes):
    response = client.get(reverse("imports:template"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="modele-import-ads.xlsx"'
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Mode d’emploi", "ADS"]
    instructions = [r[2] for r in workbook["Mode d’emploi"].iter_rows(values_only=True)]
    assert any("Tout ou rien" in (text or "") for text in instructions)
    sheet = workbook["ADS"]
    headers = [cell.value for cell in sheet[1]]
    assert headers == expected_headers(3)
    values = nimes_row()
    sheet.append([values.get(header, "") for header in headers])
    filled = io.BytesIO()
    workbook.save(filled)

    result = run(filled.getvalue(), "modele-import-ads.xlsx", commit=True)

    assert result.ok, messages_of(result)
    ads = ADS.objects.get(authority=nimes, number="12")
    assert ads.holder_name == "Taxi Arènes SARL"
    assert [d.name for d in ads.drivers.all()] == ["Jean Martin"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1252"])
@pytest.mark.parametrize("separator", [";", ","])
def test_csv_in_utf8_or_windows_1252_with_either_separator(nimes, encoding, separator):
    data = csv_file(
        [nimes_row(Titulaire="Hélène Œuvrard, « Taxis »")], encoding=encoding, separator=separator
    )

    result = run(data, commit=True)

    assert result.ok, messages_of(result)
    assert ADS.objects.get(number="12").holder_name == "Hélène Œuvrard, « Taxis »"


def test_dates_in_every_accepted_form(nimes):
    data = csv_file(
        [
            nimes_row("1", **{"Date de création": "01/03/2005"}),
            nimes_row("2", **{"Date de création": "1/3/05"}),
            nimes_row("3", **{"Date de création": "2005-03-01"}),
            nimes_row("4", **{"Date de création": "38412"}),  # Excel's serial number
            nimes_row(
                "5",
                **{"Date de création": "01.03.1998", "Date d’attribution au titulaire actuel": ""},
            ),
        ]
    )

    result = run(data, commit=True)

    assert result.ok, messages_of(result)
    dates = dict(ADS.objects.values_list("number", "creation_date"))
    assert dates == {
        "1": datetime.date(2005, 3, 1),
        "2": datetime.date(2005, 3, 1),
        "3": datetime.date(2005, 3, 1),
        "4": datetime.date(2005, 3, 1),
        "5": datetime.date(1998, 3, 1),
    }


def test_an_excel_workbook_with_real_dates_numbers_and_booleans(nimes):
    values = nimes_row()
    cells = [values.get(header, "") for header in HEADERS]
    cells[HEADERS.index("Date de création")] = datetime.datetime(2005, 3, 1)
    cells[HEADERS.index("Date d’attribution au titulaire actuel")] = 41061  # 01/06/2012
    cells[HEADERS.index("SIRET du titulaire")] = 73282932000074
    cells[HEADERS.index("Numéro de l’ADS")] = 12
    cells[HEADERS.index("Code INSEE ou SIREN du gestionnaire")] = 30189
    cells[HEADERS.index("Téléphone du titulaire")] = 612345678  # Excel ate the 0
    cells[HEADERS.index("Conventionnée CPAM")] = True

    result = run(xlsx_file([cells]), "registre.xlsx", commit=True)

    assert result.ok, messages_of(result)
    ads = ADS.objects.get(authority=nimes, number="12")
    assert (ads.creation_date, ads.attribution_date) == (
        datetime.date(2005, 3, 1),
        datetime.date(2012, 6, 1),
    )
    assert ads.holder_siret == "73282932000074"
    assert ads.holder_phone == "0612345678"
    assert ads.cpam_agreement is True


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("oui", True),
        ("NON", False),
        ("o", True),
        ("N", False),
        ("x", True),
        ("X", True),
        ("1", True),
        ("0", False),
        ("Vrai", True),
        ("faux", False),
    ],
)
def test_yes_and_no_as_people_write_them(nimes, text, value):
    data = csv_file([nimes_row(**{"Véhicule accessible (PMR)": text})])

    result = run(data, commit=True)

    assert result.ok, messages_of(result)
    assert ADS.objects.get(number="12").vehicle_pmr is value


def test_siret_plates_and_phones_with_spaces(nimes):
    data = csv_file(
        [
            nimes_row(
                **{
                    "SIRET du titulaire": "732 829 320 00074",
                    "Immatriculation du véhicule": "ab 123 cd",
                    "Téléphone du titulaire": "06 12 34 56 78",
                    "Conducteur 1 – statut": "Locataire gérant",
                    "Conducteur 1 – SIRET": " 732.829.320.00074 ",
                }
            )
        ]
    )

    result = run(data, commit=True)

    assert result.ok, messages_of(result)
    ads = ADS.objects.get(number="12")
    assert (ads.holder_siret, ads.vehicle_plate, ads.holder_phone) == (
        "73282932000074",
        "AB-123-CD",
        "0612345678",
    )
    driver = ads.drivers.get()
    assert (driver.status, driver.siret) == (Driver.Status.LOCATAIRE_GERANT, "73282932000074")


def test_the_authority_by_name_and_departement_ignoring_case_and_accents(nimes, ales, herault):
    data = csv_file(
        [
            nimes_row(
                "1",
                **{
                    "Code INSEE ou SIREN du gestionnaire": "",
                    "Gestionnaire": "NIMES",
                    "Département": "30",
                },
            ),
            nimes_row(
                "2",
                **{
                    "Code INSEE ou SIREN du gestionnaire": "",
                    "Gestionnaire": "ales",
                    "Département": "30",
                },
            ),
        ]
    )

    result = run(data, commit=True)

    assert result.ok, messages_of(result)
    assert ADS.objects.get(number="1").authority == nimes
    assert ADS.objects.get(number="2").authority == ales


def test_an_epci_by_its_siren_with_the_commune_where_the_ads_is_used(nimes, nimes_metropole):
    data = csv_file(
        [
            nimes_row(
                "A-1",
                **{
                    "Code INSEE ou SIREN du gestionnaire": "200 035 319",
                    "Commune de stationnement (code INSEE)": "30189",
                },
            )
        ]
    )

    result = run(data, commit=True)

    assert result.ok, messages_of(result)
    ads = ADS.objects.get(number="A-1")
    assert (ads.authority, ads.commune) == (nimes_metropole, nimes.commune)


def test_empty_trailing_rows_and_columns_are_ignored(nimes):
    text = csv_file([nimes_row()], HEADERS + ["", ""]).decode("utf-8-sig")
    text += ";" * (len(HEADERS) + 1) + "\r\n" + "\r\n" * 3

    result = run(text.encode(), commit=True)

    assert result.ok, messages_of(result)
    assert result.rows == 1


def test_a_workbook_with_a_notes_sheet_first_reads_the_ads_sheet(nimes):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["Fichier préparé par la mairie"])
    sheet = workbook.create_sheet("ADS")
    sheet.append(HEADERS)
    values = nimes_row()
    sheet.append([values.get(header, "") for header in HEADERS])
    sheet.append([None] * len(HEADERS))  # an empty row Excel kept
    output = io.BytesIO()
    workbook.save(output)

    result = run(output.getvalue(), "registre.xlsx", commit=True)

    assert result.ok, messages_of(result)
    assert result.details["feuille"] == "ADS"
    assert ADS.objects.filter(number="12").exists()


# --- what an import changes -------------------------------------------------------------


def test_updates_creates_and_leaves_unchanged_rows_untouched(register, nimes):
    complete_ads, new_regime, two_drivers, *_ = register
    untouched = (new_regime.version, new_regime.updated_at)
    data = exported("csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data), delimiter=";"))
    headers = rows[0]
    for cells in rows[1:]:
        if cells[headers.index("Numéro de l’ADS")] == "12":
            cells[headers.index("Immatriculation du véhicule")] = "EF-456-GH"
        if cells[headers.index("Numéro de l’ADS")] == "10":
            cells[headers.index("Conducteur 1 – nom")] = "Léa Petit-Durand"
    new = nimes_row("30", **{"Titulaire": "Nouveau Titulaire"})
    rows.append([new.get(header, "") for header in headers])
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(rows)

    preview = run(buffer.getvalue().encode(), "modifs.csv")
    assert preview.ok, messages_of(preview)
    assert preview.counts == {"new": 1, "updated": 2, "unchanged": 3, "deleted": 0}
    assert not ADS.objects.filter(number="30").exists()  # a dry run writes nothing
    updated = {o.number: o.changes for o in preview.outcomes if o.action == Action.UPDATED}
    assert updated == {"12": ["Immatriculation du véhicule"], "10": ["Conducteurs"]}

    result = run(buffer.getvalue().encode(), "modifs.csv", commit=True)

    assert result.committed
    complete_ads.refresh_from_db()
    assert complete_ads.vehicle_plate == "EF-456-GH"
    assert complete_ads.plate_search == "EF456GH"
    assert complete_ads.version == 2
    assert complete_ads.substantive_change_at is not None
    driver_ids = list(two_drivers.drivers.values_list("pk", flat=True))
    assert list(two_drivers.drivers.values_list("name", flat=True)) == [
        "Léa Petit-Durand",
        "Marc Roux",
    ]
    assert len(driver_ids) == 2 and driver_ids == sorted(driver_ids)
    new_regime.refresh_from_db()
    assert (new_regime.version, new_regime.updated_at) == untouched
    created = ADS.objects.get(authority=nimes, number="30")
    assert created.is_complete and created.drivers_search == "Jean Martin | CP-30-0001"


def test_history_is_one_revision_with_the_user_the_file_and_a_comment(register, nimes, staff):
    complete_ads = register[0]
    with reversion.create_revision():  # its creation, as the web form records it
        reversion.add_to_revision(complete_ads)
    revisions = Revision.objects.count()
    data = csv_file(
        [
            nimes_row("12", **{"Immatriculation du véhicule": "EF-456-GH"}),
            nimes_row("40"),
            nimes_row("41"),
        ]
    )

    result = run(data, "paris-semaine-12.csv", user=staff, commit=True, comment="Mise à jour")

    assert Revision.objects.count() == revisions + 1
    revision = Revision.objects.get(pk=result.revision_id)
    assert revision.user == staff
    assert "paris-semaine-12.csv" in revision.comment
    assert "2 créée(s), 1 modifiée(s)" in revision.comment
    assert revision.comment.endswith(": Mise à jour")
    # Each changed ADS with its drivers, as django-reversion itself would serialize them.
    versions = Version.objects.filter(revision=revision)
    assert versions.get_for_model(ADS).count() == 3
    assert versions.get_for_model(Driver).count() == 3
    stored = versions.get_for_object(complete_ads).get()
    complete_ads.refresh_from_db()
    assert json.loads(stored.serialized_data) == json.loads(
        serializers.serialize("json", [complete_ads])
    )
    assert stored.object_repr == str(complete_ads)
    changes = RegisterChange.objects.filter(revision=revision)
    assert changes.count() == 3
    assert set(changes.values_list("departement__code", flat=True)) == {"30"}
    # The ADS's history page shows the import as one entry, with what changed.
    entry = ads_timeline(complete_ads)[0]
    assert entry.user == staff and "paris-semaine-12.csv" in entry.comment
    assert [(c.label, c.before, c.after) for c in entry.changes] == [
        ("Immatriculation du véhicule", "AB-123-CD", "EF-456-GH")
    ]
    assert entry.drivers == []  # the same driver: no change reported


def test_sync_deletes_the_absent_ads_of_the_imported_authorities(register, nimes, ales):
    data = csv_file([nimes_row("12")])  # Nîmes's 12 only: 2 and 10 are absent

    preview = run(data, sync=True)

    assert preview.counts[Action.DELETED] == 2
    assert sorted(o.number for o in preview.outcomes if o.action == Action.DELETED) == ["10", "2"]
    assert ADS.objects.live().filter(authority=nimes).count() == 3

    result = run(data, sync=True, commit=True)

    assert result.committed
    assert sorted(ADS.objects.live().filter(authority=nimes).values_list("number", flat=True)) == [
        "12"
    ]
    deleted = ADS.objects.get(authority=nimes, number="10")
    assert deleted.deleted_at is not None and deleted.version == 2
    assert ADS.objects.live().filter(authority=ales).count() == 1  # not in the file
    assert Version.objects.get_for_object(deleted).filter(revision_id=result.revision_id).exists()


def test_without_sync_absent_ads_stay(register, nimes):
    result = run(csv_file([nimes_row("12")]), commit=True)

    assert result.counts[Action.DELETED] == 0
    assert ADS.objects.live().filter(authority=nimes).count() == 3


def test_an_ads_changing_regime_changes_its_drivers_in_a_safe_order(register, nimes):
    """Old regime with two drivers → new regime with its holder driving: the database's
    rules (one titulaire, new-regime drivers are titulaires) hold at every statement."""
    data = csv_file(
        [
            nimes_row(
                "10",
                **{
                    "Date de création": "15/01/2015",
                    "Date d’attribution au titulaire actuel": "",
                    "Titulaire": "Léa Petit",
                    "Conducteur 1 – statut": "Titulaire exploitant",
                    "Conducteur 1 – nom": "Léa Petit",
                    "Conducteur 1 – SIRET": "73282932000074",
                },
            )
        ]
    )

    result = run(data, commit=True)

    assert result.committed, messages_of(result)
    ads = ADS.objects.get(authority=nimes, number="10")
    assert ads.is_new_regime
    assert list(ads.drivers.values_list("status", flat=True)) == [Driver.Status.TITULAIRE]


def test_a_locked_authority_is_changed_by_an_import(nimes):
    Authority.objects.filter(pk=nimes.pk).update(is_locked=True, lock_reason="Fichier national")

    result = run(csv_file([nimes_row()]), commit=True)

    assert result.committed
    assert ADS.objects.filter(authority=nimes).count() == 1


def test_django_import_export_default_path_reads_the_same_file(register):
    """The row-by-row reference the benchmark compares with: same file, same verdict."""
    dataset = RegisterFormat().create_dataset(exported("csv"))

    result = ADSResource().import_data(dataset, dry_run=True)

    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["skip"] == 5


def test_django_import_export_default_path_validates_with_the_same_rules(nimes):
    data = csv_file(
        [
            nimes_row(
                "50",
                **{
                    "Date de création": "01/01/2016",
                    "Date d’attribution au titulaire actuel": "",
                    "Conducteur 2 – statut": "Salarié",
                    "Conducteur 2 – nom": "Paul Lenoir",
                },
            )
        ]
    )
    dataset = RegisterFormat().create_dataset(data)

    result = ADSResource().import_data(dataset, dry_run=True)

    assert result.has_validation_errors()
    assert not ADS.objects.exists()


# --- the admin: upload, preview, confirm --------------------------------------------------


def test_national_staff_import_from_the_admin(
    client, national_admin, register, nimes, django_capture_on_commit_callbacks
):
    client.force_login(national_admin)
    changelist = client.get(reverse("admin:exchange_importjob_changelist"))
    assert reverse("admin:exchange_importjob_import") in changelist.content.decode()
    page = client.get(reverse("admin:exchange_importjob_import"))
    assert page.status_code == 200
    assert reverse("imports:template") in page.content.decode()
    upload = io.BytesIO(csv_file([nimes_row("12", Titulaire="Nouveau nom"), nimes_row("60")]))
    upload.name = "semaine.csv"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:exchange_importjob_import"),
            {"import_file": upload, "format": "0", "resource": "0", "sync": "on"},
        )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:progress", args=[job.pk])
    assert job.status == ImportJob.Status.READY
    assert (job.user, job.sync, job.rows_total) == (national_admin, True, 2)
    preview = client.get(reverse("imports:progress", args=[job.pk]))
    content = preview.content.decode()
    assert "Le fichier est valide" in content
    assert "1 ADS à créer, 1 à modifier, 0 inchangée" in content
    assert "2 à supprimer" in content  # Nîmes's 2 and 10, absent from the file
    assert "Confirmer l’import" in content
    modified = client.get(reverse("imports:progress", args=[job.pk]), {"effet": "updated"})
    assert "Titulaire" in modified.content.decode()
    assert ADS.objects.get(number="12").holder_name == "Taxi Arènes SARL"

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("admin:exchange_importjob_process_import"), {"job": job.pk})

    assert confirmed["Location"] == reverse("imports:progress", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.updated_count, job.deleted_count) == (1, 1, 2)
    assert job.revision.user == national_admin
    assert "semaine.csv" in job.revision.comment
    assert ADS.objects.get(number="12").holder_name == "Nouveau nom"
    assert (
        "Import terminé" in client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    )


def test_a_running_import_shows_its_progress(client, national_admin, nimes):
    job = ImportJob.objects.create(
        original_name="gros.xlsx",
        user=national_admin,
        status=ImportJob.Status.VALIDATING,
        stage=ImportJob.Stage.VALIDATING,
        rows_total=60_000,
        rows_validated=15_000,
    )
    client.force_login(national_admin)

    content = client.get(reverse("imports:progress", args=[job.pk])).content.decode()

    assert '<meta http-equiv="refresh"' in content
    assert 'value="25"' in content
    assert "15 000 lignes vérifiées sur 60 000" in content.replace("\u202f", " ").replace(
        "\xa0", " "
    )


def test_the_progress_page_ladder(
    client, national_admin, manager, prefecture_agent, inspector, staff, nimes
):
    job = ImportJob.objects.create(original_name="f.csv", user=national_admin)
    url = reverse("imports:progress", args=[job.pk])

    assert client.get(url)["Location"].startswith(reverse("login"))
    for outsider in (manager, prefecture_agent, inspector):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.get(reverse("imports:errors", args=[job.pk])).status_code == 404
    for national in (national_admin, staff):  # national staff follow every import
        client.force_login(national)
        assert client.get(url).status_code == 200


def test_only_national_staff_upload_or_confirm(client, manager, prefecture_agent, nimes):
    job = ImportJob.objects.create(original_name="f.csv", user=manager, status="ready")
    for user in (manager, prefecture_agent):
        client.force_login(user)

        upload = client.get(reverse("admin:exchange_importjob_import"))
        confirm = client.post(reverse("admin:exchange_importjob_process_import"), {"job": job.pk})

        for response in (upload, confirm):
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.READY
    client.force_login(manager)
    page = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert "Confirmer l’import" not in page  # its uploader, were they not staff


def test_ten_thousand_errors_are_counted_and_the_first_thousand_listed(
    client, national_admin, nimes, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    rows = [nimes_row(str(n), **{"SIRET du titulaire": "73282932000075"}) for n in range(10_000)]
    upload = io.BytesIO(csv_file(rows))
    upload.name = "erreurs.csv"
    client.force_login(national_admin)

    # The work of 10,000 rows in error does not grow with them (17 queries): no query,
    # no error row written, per line.
    with (
        django_assert_max_num_queries(30),
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post(
            reverse("admin:exchange_importjob_import"),
            {"import_file": upload, "format": "0", "resource": "0"},
        )

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.INVALID
    assert (job.error_count, job.invalid_rows) == (10_000, 10_000)
    assert job.errors.count() == 1_000  # OPERATIONS.md #7: errors kept are bounded
    with django_assert_max_num_queries(12):
        page = client.get(reverse("imports:progress", args=[job.pk]), {"page": 20})
    content = page.content.decode()
    assert "Page 20 sur 20" in content
    assert "premières erreurs sont listées" in content
    assert "Fichier refusé : rien n’a été enregistré" in content
    report = client.get(reverse("imports:errors", args=[job.pk]))
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "Ligne;Colonne;Erreur"
    assert len(lines) == 1_001
    assert lines[1].startswith("2;SIRET du titulaire;Ce numéro SIRET n’est pas valide")
    assert not ADS.objects.exists()


# --- the command --------------------------------------------------------------------------


def test_the_command_is_a_dry_run_unless_commit(tmp_path, nimes, staff, capsys):
    path_ = tmp_path / "registre.csv"
    path_.write_bytes(csv_file([nimes_row()]))

    call_command("import_ads", str(path_))
    assert "rien n’a été enregistré" in capsys.readouterr().out
    assert not ADS.objects.exists()

    call_command("import_ads", str(path_), "--commit", "--user", staff.email)
    assert "1 ADS nouvelles" in capsys.readouterr().out
    assert Revision.objects.get().user == staff


def test_the_command_lists_errors_and_fails(tmp_path, nimes, capsys):
    path_ = tmp_path / "registre.csv"
    path_.write_bytes(csv_file([nimes_row(**{"Date de création": "31/02/2020"})]))

    with pytest.raises(CommandError, match="rien n’a été enregistré"):
        call_command("import_ads", str(path_), "--commit")

    assert "ligne 2, colonne « Date de création »" in capsys.readouterr().err
    assert not ADS.objects.exists()


def test_the_command_with_sync(tmp_path, register, nimes, capsys):
    path_ = tmp_path / "nimes.csv"
    path_.write_bytes(csv_file([nimes_row("12")]))

    call_command("import_ads", str(path_), "--commit", "--sync")

    assert "2 supprimées" in capsys.readouterr().out
    assert ADS.objects.live().filter(authority=nimes).count() == 1


def test_driver_headers_follow_the_shared_format():
    assert HEADERS[-1] == driver_header(2, DRIVER_COLUMNS[-1])
    assert all(c.header in HEADERS for c in ADS_COLUMNS if c.imported)


def test_the_upload_returns_at_once_with_the_check_queued_in_the_background(
    client, national_admin, nimes, settings, django_capture_on_commit_callbacks
):
    """In production a worker (``manage.py db_worker``) runs the queue "imports"."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "QUEUES": ["default", "emails", "imports"],
        }
    }
    from django_tasks import default_task_backend

    client.force_login(national_admin)
    upload = io.BytesIO(csv_file([nimes_row()]))
    upload.name = "registre.csv"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:exchange_importjob_import"),
            {"import_file": upload, "format": "0", "resource": "0"},
        )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.status == ImportJob.Status.QUEUED
    [queued] = default_task_backend.results
    assert (queued.task.name, queued.task.queue_name, queued.args) == (
        "validate_import",
        "imports",
        [job.pk],
    )
    page = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert '<meta http-equiv="refresh"' in page and "L’import va commencer." in page


def test_an_imported_change_keeps_the_documents_in_the_history(register, nimes, staff):
    """The revision follows the ADS's documents too: otherwise its history page would
    report them deleted by the import."""
    from django.core.files.base import ContentFile

    from mesads.ads.models import ADSDocument

    complete_ads = register[0]
    document = ADSDocument(
        ads=complete_ads, kind=ADSDocument.Kind.ATTRIBUTION, original_name="arrete.pdf"
    )
    document.file.save("arrete.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
    document.save()
    with reversion.create_revision():
        reversion.add_to_revision(complete_ads)

    result = run(csv_file([nimes_row("12", Notes="Vu en préfecture")]), user=staff, commit=True)

    revision = Revision.objects.get(pk=result.revision_id)
    assert Version.objects.filter(revision=revision).get_for_object(document).exists()
    entry = ads_timeline(complete_ads)[0]
    assert entry.comment.startswith("Import du fichier « registre.csv »")
    assert entry.documents == []
    assert [c.label for c in entry.changes] == ["Notes"]


def test_a_double_confirmation_queues_the_writing_once(
    national_admin, nimes, settings, django_capture_on_commit_callbacks
):
    """Two clicks on « Confirmer », each request having read the job while it was ready:
    two writing tasks would run the same file twice, concurrently with several workers."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "QUEUES": ["default", "emails", "imports"],
        }
    }
    from django_tasks import default_task_backend

    from mesads.exchange import tasks

    job = ImportJob.objects.create(original_name="f.csv", user=national_admin, status="ready")
    first, second = ImportJob.objects.get(pk=job.pk), ImportJob.objects.get(pk=job.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.confirm_import(first) is True
        assert tasks.confirm_import(second) is False

    assert [result.task.name for result in default_task_backend.results] == ["commit_import"]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMIT_QUEUED
