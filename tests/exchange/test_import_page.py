"""National staff import from a page in the design system (issue 10, point 17): upload,
preview, confirm and progress without the Django admin, whose English « Task Results »
is gone."""

import io

from django.urls import reverse

from mesads.ads.models import ADS
from mesads.exchange.models import ImportJob
from tests.exchange.test_import import csv_file, nimes_row


def spreadsheet(*rows, name="semaine.csv"):
    upload = io.BytesIO(csv_file(list(rows)))
    upload.name = name
    return upload


def test_national_staff_import_a_file_from_the_design_system_page(
    client, staff, complete_ads, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    page = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("imports:index")}"' in page  # « Importer » in the menu
    page = client.get(reverse("imports:index")).content.decode()
    assert page.count("<h1") == 1 and "Aucun import pour l’instant." in page
    assert reverse("imports:template") in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imports:index"),
            {
                "import_file": spreadsheet(nimes_row("12", Titulaire="Nouveau nom")),
                "comment": "Mise à jour hebdomadaire",
            },
        )

    job = ImportJob.objects.get()
    assert response["Location"] == reverse("imports:progress", args=[job.pk])
    assert (job.user, job.comment, job.status) == (staff, "Mise à jour hebdomadaire", "ready")
    preview = client.get(response["Location"]).content.decode()
    assert f'action="{reverse("imports:confirm", args=[job.pk])}"' in preview
    assert "admin" not in preview.split("<main", 1)[1]

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("imports:confirm", args=[job.pk]))

    assert confirmed["Location"] == reverse("imports:progress", args=[job.pk])
    assert ADS.objects.get(number="12").holder_name == "Nouveau nom"
    again = client.post(reverse("imports:confirm", args=[job.pk]), follow=True)
    assert "Cet import ne peut plus être confirmé." in again.content.decode()
    listed = client.get(reverse("imports:index")).content.decode()
    assert "semaine.csv" in listed and "<td>Importé</td>" in listed


def test_a_file_that_is_no_spreadsheet_is_refused_on_the_form(client, staff):
    client.force_login(staff)
    upload = io.BytesIO(b"\x00\x01 not a spreadsheet")
    upload.name = "registre.pdf"
    response = client.post(reverse("imports:index"), {"import_file": upload})
    assert response.status_code == 200
    assert "data-error-summary" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_import_page_is_for_national_staff(client, manager):
    client.force_login(manager)
    assert client.get(reverse("imports:index")).status_code == 404


def test_the_admin_no_longer_shows_task_results_in_english(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Task Results" not in page and "Tasks Database Backend" not in page
