"""Real town-hall spreadsheets (issue 10): national staff import the files town halls
make, not our template. A title and a note sit above the header row; the workbook opens
on a notice and the register is on its second sheet; the type of authority is written
« Mairie » or « Communauté d’agglomération ». Such files import; the result says where
the header row was found and which sheet was read, and every error names the real line
of the file, and the column at fault."""

import io

import openpyxl
import pytest
from django.urls import reverse

from mesads.ads.models import ADS
from mesads.exchange.models import ImportJob
from tests.exchange.test_import import (
    HEADERS,
    csv_file,
    messages_of,
    national_admin,  # noqa: F401 (a fixture)
    nimes_row,
    run,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.exchange.test_import")]

TITLE = "Registre des autorisations de stationnement – Ville de Nîmes"
# A note with a comma and no semicolon: the separator is the header's, not the note's.
NOTE = "Mis à jour le 15/01/2024, par le service des taxis"
BAD_DATE = "« 31/02/2005 » n’est pas une date valide : le 31 février 2005 n’existe pas."


def csv_with_titles(rows: list[dict[str, str]]) -> bytes:
    """The CSV a town hall saves from its spreadsheet: a title (Excel pads it with
    separators) and a note, then the header on line 3."""
    body = csv_file(rows, encoding="utf-8").decode()
    return (f"{TITLE};;;;\r\n{NOTE}\r\n" + body).encode("utf-8-sig")


def cells(values: dict[str, str]) -> list[str]:
    return [values.get(header, "") for header in HEADERS]


def saved(workbook: openpyxl.Workbook) -> bytes:
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def register_sheet(sheet, rows: list[dict[str, str]]) -> None:
    """A title merged across the columns, a note, then the header on line 3."""
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet.append([NOTE])
    sheet.append(HEADERS)
    for values in rows:
        sheet.append(cells(values))


def notice_sheet(sheet) -> None:
    """The notice many town halls put first: a few lines naming some columns."""
    sheet.title = "Notice"
    sheet.append(["Notice du registre des ADS de Nîmes"])
    sheet.append(["Colonne", "Signification"])
    sheet.append(["Numéro de l’ADS", "Le numéro donné par l’arrêté"])
    sheet.append(["Titulaire", "Nom ou raison sociale"])


# --- a title above the header row -------------------------------------------------------


def test_a_csv_with_two_title_lines_imports_and_says_its_header_line(nimes):
    result = run(csv_with_titles([nimes_row("12"), nimes_row("13")]), commit=True)

    assert result.ok, messages_of(result)
    assert result.details["ligne d’en-tête"] == "3"
    assert result.details["séparateur"] == "point-virgule"
    assert [outcome.line for outcome in result.outcomes] == [4, 5]
    assert set(ADS.objects.values_list("number", flat=True)) == {"12", "13"}


def test_an_error_below_the_titles_names_the_line_of_the_file(nimes):
    data = csv_with_titles([nimes_row("12"), nimes_row("13", **{"Date de création": "31/02/2005"})])

    result = run(data, commit=True)

    assert messages_of(result) == [(5, "Date de création", BAD_DATE)]
    assert not ADS.objects.exists()


def test_the_preview_tells_national_staff_where_the_header_was_found(
    client,
    national_admin,  # noqa: F811 (the fixture imported above)
    nimes,
    django_capture_on_commit_callbacks,
):
    client.force_login(national_admin)
    upload = io.BytesIO(csv_with_titles([nimes_row("12")]))
    upload.name = "registre-nimes.csv"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:exchange_importjob_import"),
            {"import_file": upload, "format": "0", "resource": "0"},
        )

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.READY
    preview = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert "ligne d’en-tête : 3" in preview
    assert "1 ADS à créer" in preview


def test_a_workbook_with_a_merged_title_cell_imports_with_the_real_line_numbers(nimes):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Registre"
    register_sheet(workbook.active, [nimes_row("12"), nimes_row("13")])

    result = run(saved(workbook), "registre.xlsx", commit=True)

    assert result.ok, messages_of(result)
    assert result.details == {"feuille": "Registre", "ligne d’en-tête": "3"}
    assert [outcome.line for outcome in result.outcomes] == [4, 5]

    workbook = openpyxl.Workbook()
    rows = [nimes_row("14"), nimes_row("15", **{"Date de création": "31/02/2005"})]
    register_sheet(workbook.active, rows)

    result = run(saved(workbook), "registre.xlsx", commit=True)

    assert messages_of(result) == [(5, "Date de création", BAD_DATE)]


# --- the register on the second sheet ---------------------------------------------------


def test_a_notice_first_and_the_register_second_reads_the_register_and_names_it(nimes):
    workbook = openpyxl.Workbook()
    notice_sheet(workbook.active)
    register_sheet(workbook.create_sheet("Registre"), [nimes_row("12")])

    result = run(saved(workbook), "registre.xlsx", commit=True)

    assert result.ok, messages_of(result)
    assert result.details == {"feuille": "Registre", "ligne d’en-tête": "3"}
    assert ADS.objects.get().number == "12"


def test_every_error_of_the_second_sheet_names_it(nimes):
    workbook = openpyxl.Workbook()
    notice_sheet(workbook.active)
    rows = [nimes_row("12"), nimes_row("13", **{"Date de création": "31/02/2005"})]
    register_sheet(workbook.create_sheet("Registre"), rows)

    result = run(saved(workbook), "registre.xlsx", commit=True)

    assert messages_of(result) == [(5, "Date de création", f"Feuille « Registre » : {BAD_DATE}")]
    assert not ADS.objects.exists()


def test_a_workbook_where_no_sheet_has_the_headers_is_refused_naming_its_sheets(nimes):
    workbook = openpyxl.Workbook()
    notice_sheet(workbook.active)
    other = workbook.create_sheet("Données 2023")
    other.append(["N°", "Nom", "Adresse"])
    other.append(["12", "Taxi Arènes SARL", "1 place des Arènes"])

    result = run(saved(workbook), "registre.xlsx", commit=True)

    [(line, column, message)] = messages_of(result)
    assert (line, column) == (None, "")
    assert message.startswith("Aucune feuille de ce classeur n’a les en-têtes du modèle d’import")
    assert "(feuilles examinées : « Notice », « Données 2023 »)" in message
    assert not ADS.objects.exists()


# --- the type of authority as people write it -------------------------------------------


@pytest.mark.parametrize("written", ["Mairie", "VILLE", "commune", "Municipalité"])
def test_a_commune_written_as_people_write_it(nimes, written):
    result = run(csv_file([nimes_row("12", **{"Type de gestionnaire": written})]), commit=True)

    assert result.ok, messages_of(result)
    assert ADS.objects.get().authority == nimes


@pytest.mark.parametrize(
    "written",
    [
        "Communauté d’agglomération",
        "communaute d'agglomeration",
        "CA",
        "C.A.",
        "Communauté de communes",
        "CC",
        "Métropole",
        "EPCI",
    ],
)
def test_an_epci_written_as_people_write_it(nimes, nimes_metropole, written):
    row = nimes_row(
        "A-1",
        **{
            "Type de gestionnaire": written,
            "Code INSEE ou SIREN du gestionnaire": "200035319",
            "Commune de stationnement (code INSEE)": "30189",
        },
    )

    result = run(csv_file([row]), commit=True)

    assert result.ok, messages_of(result)
    assert ADS.objects.get().authority == nimes_metropole


def test_the_type_tells_a_commune_found_by_name(nimes):
    row = nimes_row(
        "12",
        **{
            "Type de gestionnaire": "Mairie",
            "Gestionnaire": "NÎMES",
            "Département": "30",
            "Code INSEE ou SIREN du gestionnaire": "",
        },
    )

    result = run(csv_file([row]), commit=True)

    assert result.ok, messages_of(result)
    assert ADS.objects.get().authority == nimes


def test_an_unknown_type_is_an_error_of_the_type_column(nimes):
    result = run(csv_file([nimes_row("12", **{"Type de gestionnaire": "Syndicat mixte"})]))

    [(line, column, message)] = messages_of(result)
    assert (line, column) == (2, "Type de gestionnaire")
    assert message.startswith("Type de gestionnaire inconnu « Syndicat mixte » : attendu ")
    assert "« Commune », « EPCI », « Préfecture », « Aéroport »" in message


def test_a_name_without_departement_is_an_error_of_the_departement_column(nimes):
    row = nimes_row("12", **{"Gestionnaire": "Nîmes", "Code INSEE ou SIREN du gestionnaire": ""})

    result = run(csv_file([row]))

    [(line, column, message)] = messages_of(result)
    assert (line, column) == (2, "Département")
    assert message.startswith("Pour trouver le gestionnaire « Nîmes » par son nom")
