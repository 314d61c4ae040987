"""Bad files: each one is refused with a clear French message that names the line and the
column where it can, and nothing at all is written to the register."""

import datetime
import io
import zipfile

import pytest
from django.urls import reverse
from reversion.models import Revision, Version

from mesads.ads.models import ADS, Driver, RegisterChange
from mesads.exchange import importing, parsing, tasks
from mesads.exchange.models import ImportJob
from tests.exchange.test_import import (
    HEADERS,
    csv_file,
    make_ads,
    messages_of,
    nimes_row,
    run,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.exchange.test_import")]


@pytest.fixture
def existing(nimes) -> ADS:
    """An ADS already in the register, that no failed import may touch."""
    return make_ads(
        nimes,
        "12",
        creation_date=datetime.date(2005, 3, 1),
        holder_name="Avant l’import",
        drivers=[{"status": Driver.Status.SALARIE, "name": "Jean Martin"}],
    )


def counts() -> tuple[int, ...]:
    return (
        ADS.objects.count(),
        Driver.objects.count(),
        Revision.objects.count(),
        Version.objects.count(),
        RegisterChange.objects.count(),
    )


@pytest.fixture
def nothing_written(existing):
    """Asserts, after the test, that the register is exactly as it was."""
    before = counts()
    yield
    assert counts() == before
    existing.refresh_from_db()
    assert (existing.holder_name, existing.version) == ("Avant l’import", 1)


def refused(data: bytes, name: str, **options) -> list[tuple]:
    result = run(data, name, commit=True, **options)
    assert not result.ok and not result.committed
    return messages_of(result)


# --- not a spreadsheet ------------------------------------------------------------------


def test_wrong_file_type_is_refused_by_its_extension(nothing_written):
    assert refused(b"%PDF-1.7 ...", "registre.pdf") == [
        (
            None,
            "",
            "Type de fichier non pris en charge (« .pdf ») : envoyez un tableur au format XLSX "
            "(Excel, LibreOffice) ou CSV (extension .xlsx ou .csv).",
        )
    ]


def test_wrong_file_type_is_refused_by_its_content(nothing_written):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    [(line, column, message)] = refused(png, "registre.csv")

    assert message.startswith("Ce fichier n’est pas un tableur (contenu de type PNG")


def test_a_word_document_renamed_xlsx_is_refused(nothing_written):
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")

    [(_, _, message)] = refused(output.getvalue(), "registre.xlsx")

    assert message.startswith("Cette archive n’est pas un classeur XLSX")


def test_an_old_excel_file_is_refused_with_what_to_do(nothing_written):
    [(_, _, message)] = refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "ads.xlsx")

    assert "Excel 97-2003 (.xls)" in message and "enregistrez-le au format .xlsx" in message


@pytest.mark.parametrize("name", ["registre.xlsx", "registre.csv"])
def test_a_renamed_exe_is_refused(nothing_written, name):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200

    assert refused(exe, name) == [
        (
            None,
            "",
            "Ce fichier est un programme (exécutable), pas un tableur : envoyez un tableur au "
            "format XLSX (Excel, LibreOffice) ou CSV.",
        )
    ]


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n"])
def test_an_empty_file_is_refused(nothing_written, data):
    assert refused(data, "registre.csv") == [(None, "", "Le fichier est vide.")]


def test_a_file_with_headers_only_has_nothing_to_import(nothing_written):
    assert refused(csv_file([]), "registre.csv") == [
        (None, "", "Le fichier ne contient aucune ADS à importer.")
    ]


def test_a_corrupt_workbook_is_refused(nothing_written):
    [(_, _, message)] = refused(b"PK\x03\x04 truncated", "registre.xlsx")

    assert "archive endommagée ou incomplète" in message


# --- headers ----------------------------------------------------------------------------


def test_missing_and_misspelt_headers_say_which_and_what_was_expected(nothing_written):
    headers = [h for h in HEADERS if h not in ("Titulaire", "Numéro de l’ADS")]
    headers[headers.index("Date de création")] = "Date de creation"  # accents don't matter
    headers.append("Numero ADS")  # a misspelling

    issues = refused(csv_file([nimes_row()], headers), "registre.csv")

    assert (
        1,
        "Numero ADS",
        "Colonne inconnue « Numero ADS ». Vouliez-vous écrire « Numéro de l’ADS » ?",
    ) in issues
    assert (1, "Numéro de l’ADS", "Colonne manquante : « Numéro de l’ADS ».") in issues
    assert (1, "Titulaire", "Colonne manquante : « Titulaire ».") in issues
    assert not any(column.startswith("Date de cr") for _, column, _ in issues)
    *_, (line, column, expected) = issues
    assert (line, column) == (1, "")
    assert expected.startswith("La ligne d’en-tête ne correspond pas au modèle d’import.")
    assert "« Numéro de l’ADS » ; « Commune de stationnement (code INSEE) »" in expected
    assert "« Conducteur 2 – début de location-gérance »" in expected


def test_an_incomplete_driver_block_is_refused(nothing_written):
    headers = [h for h in HEADERS if h != "Conducteur 2 – SIRET"]

    issues = refused(csv_file([nimes_row()], headers), "registre.csv")

    assert (1, "Conducteur 2 – SIRET", "Colonne manquante : « Conducteur 2 – SIRET ».") in issues


def test_a_repeated_header_is_refused(nothing_written):
    issues = refused(csv_file([nimes_row()], HEADERS + ["Titulaire"]), "registre.csv")

    assert issues[0] == (
        1,
        "Titulaire",
        "La colonne « Titulaire » apparaît deux fois (colonnes K et AD) : gardez-en une seule.",
    )


# --- rows -------------------------------------------------------------------------------


def test_a_duplicate_ads_number_in_the_file(nothing_written):
    data = csv_file([nimes_row("7"), nimes_row("8"), nimes_row(" 7 ")])

    assert refused(data, "registre.csv") == [
        (
            4,
            "Numéro de l’ADS",
            "Ce gestionnaire a déjà une ADS n° 7 : chaque numéro est unique. Ce numéro figure "
            "déjà à la ligne 2 du fichier.",
        )
    ]


def test_a_row_whose_authority_does_not_exist(nothing_written):
    data = csv_file(
        [
            nimes_row("1", **{"Code INSEE ou SIREN du gestionnaire": "99999"}),
            nimes_row(
                "2",
                **{
                    "Code INSEE ou SIREN du gestionnaire": "",
                    "Gestionnaire": "Nîmes-Plage",
                    "Département": "30",
                },
            ),
        ]
    )

    assert refused(data, "registre.csv") == [
        (
            2,
            "Code INSEE ou SIREN du gestionnaire",
            "Aucun gestionnaire n’a le code « 99999 » (code INSEE d’une commune, SIREN d’un EPCI, "
            "code du département pour une préfecture, code OACI d’un aéroport).",
        ),
        (3, "Gestionnaire", "Aucun gestionnaire « Nîmes-Plage » dans le département 30."),
    ]


def test_a_date_that_does_not_exist(nothing_written):
    data = csv_file([nimes_row("5", **{"Date de création": "31/02/2020"})])

    assert refused(data, "registre.csv") == [
        (
            2,
            "Date de création",
            "« 31/02/2020 » n’est pas une date valide : le 31 février 2020 n’existe pas.",
        )
    ]


def test_a_date_in_an_unknown_form_or_in_the_future(nothing_written):
    future = (datetime.date.today() + datetime.timedelta(days=40)).strftime("%d/%m/%Y")
    data = csv_file(
        [
            nimes_row("5", **{"Date de création": "mars 2005"}),
            nimes_row("6", **{"Date d’attribution au titulaire actuel": future}),
        ]
    )

    assert refused(data, "registre.csv") == [
        (
            2,
            "Date de création",
            "« mars 2005 » n’est pas une date reconnue : écrivez-la jj/mm/aaaa (par exemple "
            "15/03/2012).",
        ),
        (3, "Date d’attribution au titulaire actuel", "Cette date ne peut pas être dans le futur."),
    ]


def test_a_new_regime_ads_with_two_drivers(nothing_written):
    data = csv_file(
        [
            nimes_row(
                "30",
                **{
                    "Date de création": "02/05/2016",
                    "Date d’attribution au titulaire actuel": "",
                    "Conducteur 1 – statut": "Titulaire exploitant",
                    "Conducteur 2 – statut": "Titulaire exploitant",
                    "Conducteur 2 – nom": "Paul Lenoir",
                },
            )
        ]
    )

    assert refused(data, "registre.csv") == [
        (
            2,
            "Conducteur 2 – statut",
            "Une ADS créée à partir du 1er octobre 2014 est exploitée personnellement par son "
            "titulaire : elle ne peut avoir qu’un seul conducteur.",
        ),
        (2, "Conducteur 2 – statut", "Une ADS ne peut avoir qu’un seul titulaire exploitant."),
    ]


def test_a_siret_with_a_wrong_check_digit(nothing_written):
    data = csv_file(
        [
            nimes_row(
                "12",
                **{
                    "SIRET du titulaire": "732 829 320 00075",
                    "Conducteur 1 – statut": "Locataire-gérant",
                    "Conducteur 1 – SIRET": "73282932000076",
                },
            )
        ]
    )
    message = (
        "Ce numéro SIRET n’est pas valide (la clé de contrôle ne correspond pas) : vérifiez "
        "qu’aucun chiffre n’a été inversé ou oublié."
    )

    assert refused(data, "registre.csv") == [
        (2, "SIRET du titulaire", message),
        (2, "Conducteur 1 – SIRET", message),
    ]


def test_every_error_of_every_row_at_once(nothing_written):
    """The valid rows are not written either: all or nothing."""
    data = csv_file(
        [
            nimes_row("1"),
            nimes_row("2", **{"Immatriculation du véhicule": "AB123", "ADS exploitée": "?"}),
            nimes_row("3"),
            nimes_row(
                "4",
                **{"Conducteur 1 – statut": "Chauffeur", "Adresse électronique du titulaire": "@"},
            ),
        ]
    )

    issues = refused(data, "registre.csv")

    assert [(line, column) for line, column, _ in issues] == [
        (3, "ADS exploitée"),
        (3, "Immatriculation du véhicule"),
        (5, "Adresse électronique du titulaire"),
        (5, "Conducteur 1 – statut"),
    ]
    assert issues[0][2].startswith("« ? » n’est pas une réponse reconnue : écrivez Oui ou Non")


def test_a_cell_under_no_header_is_refused(nothing_written):
    text = csv_file([nimes_row()]).decode("utf-8-sig").rstrip("\r\n") + ";oublié\r\n"

    assert refused(text.encode(), "registre.csv") == [
        (
            2,
            "colonne AD (sans en-tête)",
            "Cette cellule est remplie mais sa colonne n’a pas d’en-tête.",
        )
    ]


def test_a_new_ads_for_an_authority_that_declared_none(nothing_written, ales):
    ales.declares_no_ads = True
    ales.save()
    data = csv_file([nimes_row("1", **{"Code INSEE ou SIREN du gestionnaire": "30007"})])

    assert refused(data, "registre.csv") == [
        (
            2,
            "Code INSEE ou SIREN du gestionnaire",
            "Ce gestionnaire a déclaré n’avoir aucune ADS sur son territoire : retirez d’abord "
            "cette déclaration pour en enregistrer une.",
        )
    ]


# --- size -------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_with_the_limit_named(nothing_written, settings):
    settings.IMPORT_MAX_SIZE = 2048
    data = csv_file([nimes_row(str(n)) for n in range(20)])
    assert len(data) > 2048

    [(_, _, message)] = refused(data, "registre.csv")

    assert message.startswith("Le fichier pèse ")
    assert "la taille maximale autorisée est de 2 Ko" in message


def test_the_default_limit_is_50_mb():
    with pytest.raises(parsing.FileRefused, match="la taille maximale autorisée est de 50 Mo"):
        parsing.check_upload("registre.csv", 50 * 1024 * 1024 + 1, b"a;b")


def test_the_admin_refuses_a_big_or_wrong_file_at_once(client, db, settings, nothing_written):
    from mesads.users.models import User

    client.force_login(User.objects.create_superuser("chef@transports.gouv.fr", "x" * 12))
    settings.IMPORT_MAX_SIZE = 2048
    for name, data, expected in [
        ("gros.csv", b"a;b\r\n" * 1000, "la taille maximale autorisée est de 2 Ko"),
        ("programme.xlsx", b"MZ\x90\x00" + b"\x00" * 100, "programme (exécutable)"),
        ("photo.png", b"\x89PNG", "Type de fichier non pris en charge"),
    ]:
        upload = io.BytesIO(data)
        upload.name = name

        response = client.post(
            reverse("admin:exchange_importjob_import"),
            {"import_file": upload, "format": "0", "resource": "0"},
        )

        assert response.status_code == 200
        assert expected in response.content.decode()
    assert not ImportJob.objects.exists()


# --- formulas ---------------------------------------------------------------------------


def test_a_formula_in_a_cell_is_refused_naming_its_row_and_column(nothing_written):
    """A value a spreadsheet would run (the open data publishes the register) is refused,
    like any other invalid value; our own export's escaping apostrophe is taken off first,
    so an escaped formula is refused too. Text that only contains such signs stays."""
    data = csv_file(
        [
            nimes_row("1", **{"Titulaire": '=HYPERLINK("http://pirate.example";"clic")'}),
            nimes_row("2", **{"Titulaire": "'=1+2", "Notes": "'-- à revoir"}),
            nimes_row("3", **{"Conducteur 1 – nom": "@SOMME(A1)", "Notes": "+33 en tête"}),
            nimes_row("4", **{"Titulaire": "'Les Taxis d’Alain'", "Notes": "Taxi = 1+1 -2"}),
        ]
    )

    issues = refused(data, "registre.csv")

    assert [(line, column) for line, column, _ in issues] == [
        (2, "Titulaire"),
        (3, "Titulaire"),
        (3, "Notes"),
        (4, "Notes"),
        (4, "Conducteur 1 – nom"),
    ]
    assert all("un tableur le prendrait pour une formule" in message for *_, message in issues)


# --- interrupted ------------------------------------------------------------------------


def test_an_import_interrupted_halfway_leaves_the_register_unchanged(nothing_written, monkeypatch):
    """The ADS and drivers are written, then the history fails: everything rolls back."""
    calls = []

    def crash(self, revision, records, now):
        calls.append(ADS.objects.count())
        raise RuntimeError("coupure du serveur")

    monkeypatch.setattr(importing.Importer, "write_history", crash)
    data = csv_file([nimes_row("12", Titulaire="Après l’import"), nimes_row("13")])

    with pytest.raises(RuntimeError):
        run(data, commit=True)

    assert calls == [2]  # the new ADS was in the database when it stopped


def test_a_background_import_interrupted_says_so(
    client, nimes, existing, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from mesads.users.models import User

    admin = User.objects.create_superuser("chef@transports.gouv.fr", "x" * 12)
    before = counts()
    upload = SimpleUploadedFile("semaine.csv", csv_file([nimes_row("12", Titulaire="Nouveau")]))
    with django_capture_on_commit_callbacks(execute=True):
        job = tasks.start_import(upload, user=admin)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.READY

    def crash(self, rows):
        ADS.objects.filter(pk=existing.pk).update(holder_name="à moitié")
        raise OSError("disque plein")

    monkeypatch.setattr(importing.Importer, "write", crash)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.confirm_import(job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.message.startswith("L’import s’est arrêté sur une erreur technique : rien n’a été")
    assert counts() == before
    existing.refresh_from_db()
    assert existing.holder_name == "Avant l’import"
    client.force_login(admin)
    page = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert "Import interrompu" in page
