"""The preview of an import shows what each modified ADS becomes (issue 10, point 16).

National staff check a file before confirming it: the list of modified ADS said which
columns change (« Titulaire ») but not to what. It now shows each change as old → new,
written for a reader (dates as 01/03/2005, Oui/Non, « (vide) » for an empty cell), and
names the drivers added, removed or changed. The values are stored with the preview, for
the first ``MAX_DIFFS_KEPT`` modified ADS only, and shown only to who may see the job.
"""

import csv
import io

import pytest
from django.urls import reverse

from mesads.exchange import importing
from mesads.exchange.import_views import PAGE_SIZE
from mesads.exchange.models import ImportJob, ImportJobRow
from tests.exchange.test_import import (
    csv_file,
    exported,
    national_admin,  # noqa: F401 (a fixture)
    nimes_row,
    register,  # noqa: F401 (a fixture)
    run,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.exchange.test_import")]


def upload(client, data: bytes, capture, name: str = "semaine.csv") -> ImportJob:
    """National staff upload a file in the admin; its check runs (immediate backend)."""
    file = io.BytesIO(data)
    file.name = name
    with capture(execute=True):
        client.post(
            reverse("admin:exchange_importjob_import"),
            {"import_file": file, "format": "0", "resource": "0"},
        )
    job = ImportJob.objects.latest("pk")
    assert job.status == ImportJob.Status.READY, list(job.errors.values_list("message"))
    return job


def modified_page(client, job: ImportJob) -> str:
    response = client.get(reverse("imports:progress", args=[job.pk]), {"effet": "updated"})
    assert response.status_code == 200
    return response.content.decode()


def export_with(change) -> bytes:
    """The register's own export, with ``change(number, cells, headers)`` applied."""
    rows = list(csv.reader(io.StringIO(exported("csv").decode("utf-8-sig")), delimiter=";"))
    headers = rows[0]
    for cells in rows[1:]:
        change(cells[headers.index("Numéro de l’ADS")], cells, headers)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(rows)
    return buffer.getvalue().encode()


def test_the_preview_shows_the_old_and_new_value_of_each_change(
    client,
    national_admin,  # noqa: F811
    manager,
    register,  # noqa: F811
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    client.force_login(national_admin)
    row = nimes_row(
        "12",
        **{
            "Titulaire": "Nouveau nom",
            "Immatriculation du véhicule": "EF-456-GH",
            "Conducteur 2 – statut": "Salarié",
            "Conducteur 2 – nom": "Paul Durand",
            "Conducteur 2 – carte professionnelle": "CP-30-0002",
        },
    )

    job = upload(client, csv_file([row]), django_capture_on_commit_callbacks)

    assert job.updated_count == 1
    with django_assert_max_num_queries(12):  # the values come with the rows
        content = modified_page(client, job)
    assert "Titulaire : Taxi Arènes SARL → Nouveau nom" in content
    assert "Immatriculation du véhicule : AB-123-CD → EF-456-GH" in content
    assert "Conducteur 2 ajouté : Paul Durand (Salarié)" in content
    # The unchanged columns and the unchanged driver say nothing.
    assert "SIRET du titulaire :" not in content
    assert "Jean Martin" not in content

    # The report after confirming keeps them.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:exchange_importjob_process_import"), {"job": job.pk})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert "Titulaire : Taxi Arènes SARL → Nouveau nom" in modified_page(client, job)

    # Holders' names are personal data: the page stays national staff's (and the uploader's).
    client.force_login(manager)
    page = client.get(reverse("imports:progress", args=[job.pk]), {"effet": "updated"})
    assert page.status_code == 404


def test_dates_booleans_and_empty_cells_are_written_for_a_reader(
    client,
    national_admin,  # noqa: F811
    register,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    client.force_login(national_admin)
    row = nimes_row(
        "12",
        **{
            "Date de création": "2005-03-02",  # as a spreadsheet may write it
            "Véhicule accessible (PMR)": "x",
            "Notes": "Voir le dossier papier",
            "SIRET du titulaire": "",
        },
    )

    job = upload(client, csv_file([row]), django_capture_on_commit_callbacks)

    content = modified_page(client, job)
    assert "Date de création : 01/03/2005 → 02/03/2005" in content
    assert "Véhicule accessible (PMR) : Non → Oui" in content
    assert "Notes : (vide) → Voir le dossier papier" in content
    assert "SIRET du titulaire : 73282932000074 → (vide)" in content


def test_a_removed_or_changed_driver_is_named(
    client,
    national_admin,  # noqa: F811
    register,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    """ADS 10 has Léa Petit and Marc Roux: the file keeps Léa Petit, with another
    card, and drops Marc Roux."""
    client.force_login(national_admin)

    def change(number, cells, headers):
        if number == "10":
            cells[headers.index("Conducteur 1 – carte professionnelle")] = "CP-10-9"
            for index, header in enumerate(headers):
                if header.startswith("Conducteur 2 – "):
                    cells[index] = ""

    job = upload(client, export_with(change), django_capture_on_commit_callbacks)

    assert job.updated_count == 1
    content = modified_page(client, job)
    assert "Conducteur 1 (Léa Petit) – carte professionnelle : CP-10-1 → CP-10-9" in content
    assert "Conducteur 2 retiré : Marc Roux (Locataire-gérant)" in content


def test_an_unchanged_ads_shows_nothing(
    client,
    national_admin,  # noqa: F811
    register,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    client.force_login(national_admin)

    job = upload(client, export_with(lambda *_: None), django_capture_on_commit_callbacks)

    assert (job.updated_count, job.unchanged_count) == (0, 5)
    assert not ImportJobRow.objects.filter(job=job).exclude(diff=[]).exists()
    unchanged = client.get(reverse("imports:progress", args=[job.pk]), {"effet": "unchanged"})
    content = unchanged.content.decode()
    assert "Taxi Arènes SARL" not in content
    assert "→" not in content


def test_only_the_first_thousand_modified_ads_keep_their_values(
    client,
    national_admin,  # noqa: F811
    nimes,
    django_capture_on_commit_callbacks,
):
    """A national file may modify tens of thousands of ADS: the values of the first ones
    are enough to check it, the others list their columns only."""
    count = importing.MAX_DIFFS_KEPT + 1
    assert run(csv_file([nimes_row(str(n)) for n in range(count)]), commit=True).committed
    client.force_login(national_admin)
    rows = [nimes_row(str(n), Notes=f"Note de l’ADS {n}") for n in range(count)]

    job = upload(client, csv_file(rows), django_capture_on_commit_callbacks)

    assert job.updated_count == count
    assert ImportJobRow.objects.filter(job=job).exclude(diff=[]).count() == count - 1
    first = modified_page(client, job).replace("\u202f", " ").replace("\xa0", " ")
    assert "Notes : (vide) → Note de l’ADS 0" in first
    assert "ne sont détaillées que pour les 1 000 premières ADS modifiées" in first
    last_page = -(-count // PAGE_SIZE)
    last = client.get(
        reverse("imports:progress", args=[job.pk]), {"effet": "updated", "page": last_page}
    ).content.decode()
    assert f"Note de l’ADS {count - 1}" not in last
    assert "<td>Notes</td>" in last  # its columns, as before
