"""A waiting list out in the open and in spreadsheets: the public list (no personal data),
the manager's import (all or nothing) and export."""

import csv
import datetime
import io
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from mesads.exchange import parsing
from mesads.exchange.xlsx import Workbook
from mesads.waitinglists.models import Application
from mesads.waitinglists.spreadsheets import EXPORT_HEADERS

pytestmark = pytest.mark.django_db

PERSONAL = ["Léa Fabre", "lea.fabre@example.fr", "0612345678", "CP-30-1234", "rue de la Madeleine"]


def _apply(authority, departement, name, card, *, days_ago=10, priority=False, **fields):
    application = Application(
        authority=authority,
        applicant_name=name,
        card_number=card,
        card_departement=departement,
        registered_at=timezone.now() - datetime.timedelta(days=days_ago),
        proves_driving_experience=priority,
        **fields,
    )
    application.number = application.number or application.next_number()
    application.save()
    return application


@pytest.fixture
def lea(nimes, gard):
    return _apply(
        nimes,
        gard,
        "Léa Fabre",
        "CP-30-1234",
        days_ago=40,
        applicant_email="lea.fabre@example.fr",
        applicant_phone="0612345678",
        applicant_address="3 rue de la Madeleine",
    )


# --- the public list --------------------------------------------------------------------


def test_anyone_finds_a_list_by_commune_and_reads_it_without_personal_data(
    client, nimes, ales, gard, lea
):
    _apply(nimes, gard, "Marc Roux", "CP-30-0002", days_ago=5, priority=True)
    removed = _apply(nimes, gard, "Radié Dupont", "CP-30-0003", days_ago=50)
    removed.state, removed.removal_reason = Application.State.REMOVED, "withdrawn"
    removed.removed_at = timezone.now()
    removed.save()

    search = client.get(reverse("waitinglists:public_search"), {"q": "nimes"})
    assert search.status_code == 200
    assert reverse("waitinglists:public_list", args=[nimes.pk]) in search.content.decode()
    assert [a.name for a in search.context["page_obj"]] == ["Nîmes"]
    # Without a search: the lists that have applications in course.
    listed = client.get(reverse("waitinglists:public_search"))
    assert [a.name for a in listed.context["page_obj"]] == ["Nîmes"]

    page = client.get(reverse("waitinglists:public_list", args=[nimes.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert page.context["rows"] == [
        [1, "2", f"{timezone.localdate() - datetime.timedelta(days=5):%d/%m/%Y}", "Active"],
        [2, "1", f"{timezone.localdate() - datetime.timedelta(days=40):%d/%m/%Y}", "Active"],
    ]
    for secret in [*PERSONAL, "Marc Roux", "CP-30-0002", "Radié"]:
        assert secret not in content

    response = client.get(reverse("waitinglists:public_csv", args=[nimes.pk]))
    body = b"".join(response).decode("utf-8-sig")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert list(csv.reader(io.StringIO(body), delimiter=";")) == [
        ["Rang", "Numéro de la demande", "Date d’inscription", "État"],
        ["1", "2", page.context["rows"][0][2], "Active"],
        ["2", "1", page.context["rows"][1][2], "Active"],
    ]
    for secret in [*PERSONAL, "Marc Roux", "CP-30-0002"]:
        assert secret not in body


def test_a_public_list_with_no_application_says_so(client, ales):
    page = client.get(reverse("waitinglists:public_list", args=[ales.pk]))
    assert "Aucune demande n’est en cours sur cette liste." in page.content.decode()
    assert client.get(reverse("waitinglists:public_list", args=[999999])).status_code == 404


# --- export -----------------------------------------------------------------------------


def test_the_manager_exports_the_list_with_formulas_escaped(client, manager, nimes, gard, lea):
    _apply(nimes, gard, '=HYPERLINK("http://x")', "CP-30-0009", days_ago=3, priority=True)
    client.force_login(manager)

    response = client.get(reverse("waitinglists:export", args=[nimes.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == EXPORT_HEADERS
    assert rows[1][0] == "1" and rows[1][4] == '\'=HYPERLINK("http://x")'
    assert rows[1][15] == "Prioritaire : 2 ans de conduite sur les 5 dernières années"
    assert rows[2][:2] == ["2", "1"] and rows[2][4] == "Léa Fabre"

    response = client.get(reverse("waitinglists:export", args=[nimes.pk, "xlsx"]))
    data = b"".join(response.streaming_content)
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    # Text that looks like a formula stays text, marked "quote prefix" (style 4).
    assert '<c r="E2" t="inlineStr" s="4"><is><t>=HYPERLINK' in sheet
    assert "<f>" not in sheet
    # And the export reads back with the import's reader.
    table = parsing.read_table(io.BytesIO(data), "liste.xlsx")
    assert table.headers == EXPORT_HEADERS
    assert client.get(reverse("waitinglists:export", args=[nimes.pk, "pdf"])).status_code == 404


# --- import -----------------------------------------------------------------------------

HEADERS = [
    "Numéro de la demande",
    "Date d’inscription",
    "Heure d’inscription",
    "Nom et prénom du demandeur",
    "Adresse électronique",
    "Téléphone",
    "Numéro de carte professionnelle",
    "Département de délivrance de la carte",
    "Deux ans de conduite sur les cinq dernières années",
]


def _csv(*rows, headers=HEADERS) -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(headers)
    writer.writerows(rows)
    return SimpleUploadedFile("liste.csv", buffer.getvalue().encode("utf-8"), "text/csv")


def test_the_manager_imports_an_existing_list(client, manager, nimes, ales, gard):
    _apply(ales, gard, "Autre liste", "CP-30-7777")
    client.force_login(manager)
    upload = _csv(
        [
            "A-1",
            "15/03/2025",
            "09:30",
            "Anne Blanc",
            "anne@example.fr",
            "06 11 22 33 44",
            "CP-30-1111",
            "30",
            "Non",
        ],
        ["", "15/03/2025", "08:00", "Bruno Noir", "", "", "CP-30-7777", "30", "oui"],
        ["", "2025-04-01", "", "Chloé Vert", "", "", "CP-34-2222", "34", ""],
    )
    herault_code = "34"
    from mesads.geo.models import Departement

    Departement.objects.get_or_create(code=herault_code, defaults={"name": "Hérault"})

    response = client.post(
        reverse("waitinglists:import", args=[nimes.pk]), {"import_file": upload}, follow=True
    )

    content = response.content.decode()
    assert "3 demande(s) importée(s)" in content
    assert "Ligne 3 : la carte professionnelle n° CP-30-7777 figure aussi sur la liste" in content
    imported = list(Application.objects.filter(authority=nimes).in_priority_order())
    assert [(a.number, a.applicant_name) for a in imported] == [
        ("1", "Bruno Noir"),  # priority; numbered after the largest plain number
        ("A-1", "Anne Blanc"),
        ("2", "Chloé Vert"),
    ]
    assert timezone.localtime(imported[1].registered_at).strftime("%d/%m/%Y %H:%M") == (
        "15/03/2025 09:30"
    )
    assert imported[1].applicant_phone == "0611223344"
    revision = Version.objects.get_for_object(imported[0]).get().revision
    assert revision.comment == "Import du fichier « liste.csv »"
    assert revision.user == manager


def test_an_import_with_one_wrong_row_writes_nothing_and_names_row_and_field(
    client, manager, nimes, gard, lea
):
    client.force_login(manager)
    upload = _csv(
        ["10", "15/03/2025", "09:30", "Anne Blanc", "anne@", "", "CP-30-1111", "30", "Non"],
        ["11", "31/02/2025", "", "Bruno Noir", "", "", "CP-30-2222", "99", "peut-être"],
        ["12", "01/04/2025", "25:00", "", "", "", "cp 30 1234", "30", ""],
        ["10", "01/04/2025", "", "Dora Gris", "", "", "CP-30-1111", "30", ""],
    )

    response = client.post(reverse("waitinglists:import", args=[nimes.pk]), {"import_file": upload})

    issues = [(i.line, i.column, i.message) for i in response.context["result"].issues]
    content = response.content.decode()
    assert "Rien n’a été importé" in content
    assert (2, "Adresse électronique", "Saisissez une adresse électronique valide.") in issues
    assert (
        3,
        "Date d’inscription",
        "« 31/02/2025 » n’est pas une date valide : le 31 février 2025 n’existe pas.",
    ) in issues
    assert any(i[:2] == (3, "Département de délivrance de la carte") for i in issues)
    assert any(i[:2] == (3, "Deux ans de conduite sur les cinq dernières années") for i in issues)
    assert any(i[:2] == (4, "Heure d’inscription") for i in issues)
    assert (4, "Nom et prénom du demandeur", "Ce champ ne peut pas être vide.") in issues
    assert (5, "Numéro de la demande", "Le numéro 10 figure déjà ligne 2 du fichier.") in issues
    assert (
        5,
        "Numéro de carte professionnelle",
        "La carte n° CP-30-1111 figure déjà ligne 2 du fichier : une personne n’a qu’une demande.",
    ) in issues
    assert Application.objects.filter(authority=nimes).count() == 1  # Léa only


def test_an_import_checks_the_list_already_there(client, manager, nimes, gard, lea):
    client.force_login(manager)
    upload = _csv(["1", "15/03/2025", "", "Léa F.", "", "", "CP301234", "30", "Non"])
    response = client.post(reverse("waitinglists:import", args=[nimes.pk]), {"import_file": upload})
    issues = [(i.line, i.column, i.message) for i in response.context["result"].issues]
    assert (2, "Numéro de la demande", "La demande n° 1 est déjà sur la liste.") in issues
    assert any(i[:2] == (2, "Numéro de carte professionnelle") for i in issues)
    assert Application.objects.count() == 1


def test_an_import_refuses_what_is_not_a_list(client, manager, nimes):
    client.force_login(manager)
    missing = _csv(["1", "x"], headers=["Numéro de la demande", "Nom et prénom du demandeur"])
    response = client.post(
        reverse("waitinglists:import", args=[nimes.pk]), {"import_file": missing}
    )
    assert "Colonne(s) manquante(s)" in response.content.decode()
    binary = SimpleUploadedFile("liste.xlsx", b"MZ\x90\x00" + b"\x00" * 100)
    response = client.post(reverse("waitinglists:import", args=[nimes.pk]), {"import_file": binary})
    assert "programme (exécutable)" in response.context["form"].errors["import_file"][0]
    assert not Application.objects.exists()


def test_an_xlsx_list_imports_too(client, manager, nimes, gard, tmp_path):
    path = tmp_path / "liste.xlsx"
    with Workbook(str(path), ["Liste"]) as workbook:
        workbook.write_sheet(
            HEADERS, [["7", "02/01/2025", "10:15", "Eve Rose", "", "", "CP-30-5", "30", "Oui"]]
        )
    client.force_login(manager)
    upload = SimpleUploadedFile("liste.xlsx", path.read_bytes())
    client.post(reverse("waitinglists:import", args=[nimes.pk]), {"import_file": upload})
    (application,) = Application.objects.all()
    assert (application.number, application.proves_driving_experience) == ("7", True)


# --- access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [
        ("manager", 200, 302),
        ("prefecture_agent", 200, 403),
        ("inspector", 200, 403),
        ("other_manager", 404, 404),
        ("other_prefecture_agent", 404, 404),
        ("staff", 200, 302),
    ],
)
def test_each_persona_reaches_what_its_role_allows(client, request, lea, persona, read, write):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("waitinglists:detail", args=[lea.pk])).status_code == read
    assert client.get(reverse("waitinglists:list", args=[lea.authority_id])).status_code == read
    response = client.post(reverse("waitinglists:renew", args=[lea.pk]))
    assert response.status_code == write
    lea.refresh_from_db()
    assert (lea.renewed_at is not None) == (write == 302)


def test_a_renewal_needs_the_csrf_token(manager, lea):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert client.post(reverse("waitinglists:renew", args=[lea.pk])).status_code == 403
    lea.refresh_from_db()
    assert lea.renewed_at is None


def test_anonymous_visitors_are_sent_to_login(client, lea):
    response = client.get(reverse("waitinglists:detail", args=[lea.pk]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- a list of 500 applications ---------------------------------------------------------


def _bulk_list(authority, departement, count: int, start: int = 1) -> None:
    now = timezone.now()
    applications = []
    for n in range(start, start + count):
        application = Application(
            authority=authority,
            number=str(n),
            applicant_name=f"Demandeur {n}",
            applicant_email=f"demandeur{n}@example.fr",
            card_number=f"CP-{n}",
            card_departement=departement,
            # Spread over 400 days: some due, some expired, in both lists.
            registered_at=now - datetime.timedelta(days=n * 35 % 400, minutes=n),
            proves_driving_experience=n % 7 == 0,
        )
        application.refresh_derived()
        applications.append(application)
    Application.objects.bulk_create(applications)


def _pages(authority) -> list[tuple[str, str, dict]]:
    return [
        ("liste du gestionnaire, page 1", reverse("waitinglists:list", args=[authority.pk]), {}),
        (
            "liste du gestionnaire, page 10",
            reverse("waitinglists:list", args=[authority.pk]),
            {"page": 10},
        ),
        (
            "liste du gestionnaire, à renouveler",
            reverse("waitinglists:list", args=[authority.pk]),
            {"etat": "a_renouveler"},
        ),
        ("liste publique, page 1", reverse("waitinglists:public_list", args=[authority.pk]), {}),
        (
            "liste publique, page 10",
            reverse("waitinglists:public_list", args=[authority.pk]),
            {"page": 10},
        ),
        ("recherche publique", reverse("waitinglists:public_search"), {"q": "nimes"}),
        ("CSV public", reverse("waitinglists:public_csv", args=[authority.pk]), {}),
        ("export CSV", reverse("waitinglists:export", args=[authority.pk, "csv"]), {}),
        ("export XLSX", reverse("waitinglists:export", args=[authority.pk, "xlsx"]), {}),
    ]


def _get(client, url, params):
    response = client.get(url, params)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    assert response.status_code == 200
    return response


def test_pages_of_a_list_of_500_cost_the_same_queries_as_of_a_list_of_10(
    client, manager, nimes, gard
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(manager)
    _bulk_list(nimes, gard, 10)
    small = {}
    for label, url, params in _pages(nimes):
        _get(client, url, params)  # templates compiled, scope cached
        with CaptureQueriesContext(connection) as queries:
            _get(client, url, params)
        small[label] = len(queries)
        assert small[label] > 3, label
    _bulk_list(nimes, gard, 490, start=11)
    timings = {}
    for label, url, params in _pages(nimes):
        _get(client, url, params)
        with CaptureQueriesContext(connection) as queries:
            _get(client, url, params)
        count = len(queries)  # read now: the next request empties the log
        assert count == small[label], label
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            _get(client, url, params)
            runs.append((time.perf_counter() - start) * 1000)
        timings[label] = (sorted(runs)[2], count)
    page = client.get(reverse("waitinglists:list", args=[nimes.pk]), {"page": 10})
    assert [a.rank for a in page.context["page_obj"]] == list(range(451, 501))
    print("\n500 demandes :")
    for label, (ms, count) in timings.items():
        print(f"  {label} : {ms:.0f} ms (médiane de 5), {count} requêtes")
