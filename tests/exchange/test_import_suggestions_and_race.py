"""Real town-hall spreadsheets (issue 10): headers written in the mairie's own words get a
« Vouliez-vous écrire… ? » only when it is a close match, never a wrong one; and of two
``import_ads --commit`` creating the same ADS at once, the second stops with a French
message and nothing written, instead of an IntegrityError traceback."""

import datetime
import io
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from reversion.models import Revision

from mesads.ads.models import ADS, Driver, RegisterChange
from mesads.exchange.importing import HISTORY, import_file
from tests.exchange.test_import import HEADERS, csv_file, make_ads, messages_of, nimes_row, run
from tests.support.concurrency import needs_postgresql, waiting_on_a_lock

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.exchange.test_import")]

NO_SUGGESTION = " Retirez-la, ou renommez-la comme l’une des colonnes attendues."


def header_messages(headers: list[str]) -> dict[str, str]:
    """The refused file's message for each of its headers."""
    result = run(csv_file([nimes_row()], headers), commit=True)
    assert not result.committed and not ADS.objects.exists()
    return {column: message for line, column, message in messages_of(result) if line == 1}


# --- « Vouliez-vous écrire… ? » ---------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "column"),
    [
        ("Numero ADS", "Numéro de l’ADS"),
        ("Num ADS", "Numéro de l’ADS"),
        ("Titulair", "Titulaire"),
        ("Siret titulaire", "SIRET du titulaire"),
        ("Tel titulaire", "Téléphone du titulaire"),
        ("Date de renouvellement", "Date du dernier renouvellement"),
        ("Immat vehicule", "Immatriculation du véhicule"),
        ("Conventionne CPAM", "Conventionnée CPAM"),
        ("Conducteur 2 - carte pro", "Conducteur 2 – carte professionnelle"),
    ],
)
def test_a_misspelt_or_shortened_header_gets_the_column_it_means(nimes, written, column):
    headers = [written if header == column else header for header in HEADERS]

    messages = header_messages(headers)

    assert messages[written] == (
        f"Colonne inconnue « {written} ». Vouliez-vous écrire « {column} » ?"
    )
    assert messages[column] == f"Colonne manquante : « {column} »."


def test_a_column_of_the_mairie_s_own_gets_no_suggestion(nimes):
    messages = header_messages([*HEADERS, "Remarques du service"])

    assert messages["Remarques du service"] == (
        "Colonne inconnue « Remarques du service »." + NO_SUGGESTION
    )


def test_the_holder_s_name_and_first_name_are_not_taken_for_his_siret(nimes):
    """The file names the holder « Nom du titulaire » (the column is « Titulaire ») and
    adds his first name, mobile and an end date. They share « du titulaire » or « Date
    de » with real columns: letter for letter, « Prénom du titulaire » was 81 % like
    « SIRET du titulaire », and the import suggested it for the first three."""
    headers = ["Nom du titulaire" if header == "Titulaire" else header for header in HEADERS] + [
        "Prénom du titulaire",
        "Portable du titulaire",
        "Date de fin",
    ]

    messages = header_messages(headers)

    for written in ("Nom du titulaire", "Prénom du titulaire", "Portable du titulaire"):
        assert messages[written] == f"Colonne inconnue « {written} »." + NO_SUGGESTION
    assert messages["Date de fin"] == "Colonne inconnue « Date de fin »." + NO_SUGGESTION
    # The list of expected columns, last, shows the right one.
    assert "« Titulaire »" in messages[""]


# --- two imports at once ----------------------------------------------------------------


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_of_two_imports_creating_the_same_ads_the_second_stops_with_nothing_written(
    tmp_path, nimes, staff, capsys
):
    """Two people import files listing the new ADS 13 of Nîmes at the same time. The first
    import has written and is finishing when the second one checks its file: the ADS 13 is
    not committed yet, so the second takes it for a new one too, and the database refuses
    the second ADS 13 once the first commits. The second used to die with an
    IntegrityError traceback."""
    make_ads(
        nimes,
        "12",
        creation_date=datetime.date(2005, 3, 1),
        holder_name="Avant l’import",
        drivers=[{"status": Driver.Status.SALARIE, "name": "Jean Martin"}],
    )
    registre = tmp_path / "registre.csv"
    registre.write_bytes(csv_file([nimes_row("12"), nimes_row("13"), nimes_row("14")]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [second_pid] = cursor.fetchone()

    first_has_written = threading.Event()
    first_failed: list[BaseException] = []

    def first_import() -> None:
        def finishing(stage: str, done: int, total: int | None) -> None:
            # Its transaction is still open: it commits once the second import waits on it.
            if stage == HISTORY and done == total:
                first_has_written.set()
                deadline = time.monotonic() + 30
                while not waiting_on_a_lock(second_pid) and time.monotonic() < deadline:
                    time.sleep(0.05)

        try:
            result = import_file(
                io.BytesIO(csv_file([nimes_row("13", Titulaire="Taxi de l’autre import")])),
                file_name="autre.csv",
                user=staff,
                commit=True,
                progress=finishing,
            )
            assert result.committed, messages_of(result)
        except BaseException as error:  # reported by the test's thread
            first_failed.append(error)
            first_has_written.set()
        finally:
            connection.close()

    first = threading.Thread(target=first_import)
    first.start()
    try:
        assert first_has_written.wait(30)
        with pytest.raises(CommandError) as stopped:
            call_command("import_ads", str(registre), "--commit", "--user", staff.email)
    finally:
        first.join(60)
    assert not first_failed, first_failed

    assert str(stopped.value) == (
        f"Un autre import a créé entre-temps des ADS nouvelles de {registre} (lignes "
        "ci-dessus) : rien n’a été enregistré. Relancez l’import."
    )
    assert capsys.readouterr().err.splitlines() == [
        "ligne 3, colonne « Numéro de l’ADS » : Pendant cet import, un autre import (ou un "
        "gestionnaire) a créé l’ADS n° 13 de Nîmes (30189) : rien n’a été enregistré. "
        "Relancez l’import : cette ligne mettra alors à jour l’ADS créée entre-temps."
    ]
    # Only the first import's work is in the register: not ADS 12's update, nor ADS 14.
    assert ADS.objects.get(number="12").holder_name == "Avant l’import"
    assert ADS.objects.get(number="13").holder_name == "Taxi de l’autre import"
    assert not ADS.objects.filter(number="14").exists()
    assert Revision.objects.count() == RegisterChange.objects.count() == 1

    # As the message says, running it again imports the file.
    call_command("import_ads", str(registre), "--commit", "--user", staff.email)

    assert "1 ADS nouvelles, 2 modifiées" in capsys.readouterr().out
    assert set(ADS.objects.values_list("number", "holder_name")) == {
        ("12", "Taxi Arènes SARL"),
        ("13", "Taxi Arènes SARL"),
        ("14", "Taxi Arènes SARL"),
    }
