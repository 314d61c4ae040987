"""A prefecture imports its existing register: preview with errors by line and column,
all or nothing, numbers kept and never repeated."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mesads.relais.models import Owner, Vehicle

from .conftest import make_vehicle

HEADER = (
    "Numéro;Immatriculation;Marque;Modèle;Motorisation;Date de première immatriculation;"
    "Places passagers;Accessible en fauteuil roulant;Commune (code INSEE);Propriétaire;"
    "SIRET du propriétaire;Adresse du propriétaire;Téléphone du propriétaire;"
    "Courriel du propriétaire"
)
GOOD = [
    "30-07;ab-111-cd;Toyota;Corolla;Hybride;01/02/2022;4;oui;30189;Taxis Import;"
    "73282932000074;1 rue A, Nîmes;0466000001;import@taxis.example",
    ";AB-222-CD;Dacia;Jogger;thermique;2021-06-30;6;non;30189;Taxis Import;"
    "732 829 320 00074;1 rue A, Nîmes;0466000001;import@taxis.example",
]


def _upload(client, lines, name="registre.csv"):
    content = ("\n".join([HEADER, *lines]) + "\n").encode()
    return client.post(
        reverse("relais:prefecture_import", args=["30"]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def test_errors_name_line_and_column_and_nothing_is_written(client, prefecture_agent, nimes):
    client.force_login(prefecture_agent)
    bad = [
        *GOOD,
        ";n'importe quoi;Skoda;Superb;hybride;01/01/2020;4;non;30189;X;73282932000074;a;"
        "0466000001;x@y.fr",
        ";CC-333-DD;Skoda;Superb;vapeur;01/01/2020;12;non;34172;X;73282932000074;a;"
        "0466000001;x@y.fr",
    ]
    page = _upload(client, bad).content.decode()
    assert "Le fichier n’a pas été importé" in page
    assert re.search(r"<td>4</td><td>Immatriculation</td><td>Immatriculation non reconnue", page)
    assert re.search(r"<td>5</td><td>Motorisation</td>", page)
    assert re.search(r"<td>5</td><td>Places passagers</td>", page)
    assert re.search(r"<td>5</td><td>Commune \(code INSEE\)</td><td>Aucune commune", page)
    assert "Confirmer l’import" not in page
    assert not Vehicle.objects.exists() and not Owner.objects.exists()


def test_preview_then_confirm_writes_everything(client, prefecture_agent, nimes, gard):
    client.force_login(prefecture_agent)
    page = _upload(client, GOOD).content.decode()
    assert "Aperçu : 2 véhicules à inscrire" in page
    assert not Vehicle.objects.exists()  # a preview writes nothing
    payload = re.search(r'name="payload" value="([^"]+)"', page).group(1)
    response = client.post(
        reverse("relais:prefecture_import_confirm", args=["30"]), {"payload": payload}
    )
    assert response.status_code == 302
    vehicles = {v.plate: v for v in Vehicle.objects.select_related("owner")}
    assert vehicles["AB-111-CD"].number == "30-07"  # kept
    assert vehicles["AB-222-CD"].number == "30-08"  # after the highest number kept
    assert vehicles["AB-111-CD"].wheelchair_accessible is True
    assert Owner.objects.count() == 1  # matched by SIRET
    # A tampered preview is refused.
    response = client.post(
        reverse("relais:prefecture_import_confirm", args=["30"]), {"payload": payload + "x"}
    )
    assert response.status_code == 302 and Vehicle.objects.count() == 2


def test_confirm_checks_again_all_or_nothing(client, prefecture_agent, nimes, gard, owner_b):
    client.force_login(prefecture_agent)
    page = _upload(client, GOOD).content.decode()
    payload = re.search(r'name="payload" value="([^"]+)"', page).group(1)
    # Meanwhile an owner registers the second plate.
    user, owner = owner_b
    make_vehicle(owner, gard, nimes.commune, "AB-222-CD", user)
    response = client.post(
        reverse("relais:prefecture_import_confirm", args=["30"]), {"payload": payload}
    )
    assert response.status_code == 409
    assert "déjà inscrit" in response.content.decode()
    assert list(Vehicle.objects.values_list("plate", flat=True)) == ["AB-222-CD"]


def test_another_prefecture_cannot_import(client, other_prefecture_agent, nimes):
    client.force_login(other_prefecture_agent)
    assert _upload(client, GOOD).status_code == 404
