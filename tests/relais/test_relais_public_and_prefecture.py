"""The public register (no personal data beyond the owner's public contact), the
prefecture's desk (its département only), and the uses seen on the ADS page and by a
controller."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse

from mesads.relais import services
from mesads.relais.models import Requirements, Use, Vehicle

from .conftest import make_vehicle

PERSONAL = ("73282932000074", "12 rue des Arènes", "gerant@taxis-a.fr")


@pytest.fixture
def register(vehicle_a, vehicle_b, vehicle_herault, owner_a):
    user, _ = owner_a
    services.set_status(vehicle_b, None, Vehicle.Status.SUSPENDED, "contrôle technique", "Suspendu")
    return vehicle_a


def test_public_register_shows_the_active_vehicles_and_no_personal_data(client, register, gard):
    response = client.get(reverse("relais:public_register", args=["30"]))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<h1") == 1
    assert "30-01" in page and "AB-123-CD" in page and "Taxis A" in page
    assert "0466000000" in page and "contact@taxis-a.fr" in page  # the public contact
    assert "EF-456-GH" not in page  # suspended
    assert "JK-789-LM" not in page  # another département
    for value in PERSONAL:
        assert value not in page


def test_public_search_by_number_or_plate(client, register, owner_a, gard, nimes_commune):
    user, owner = owner_a
    make_vehicle(owner, gard, nimes_commune, "QQ-111-QQ", user)
    url = reverse("relais:public_register", args=["30"])
    for query in ("30-01", "30 01", "ab123cd", "AB-123"):
        page = client.get(url, {"q": query}).content.decode()
        assert "AB-123-CD" in page and "QQ-111-QQ" not in page, query


def test_public_csv_has_no_personal_data(client, register):
    response = client.get(reverse("relais:public_csv", args=["30"]))
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = content.strip().split("\r\n")
    assert lines[0].startswith("Numéro;Département;Immatriculation")
    assert len(lines) == 2 and lines[1].startswith("30-01;30;AB-123-CD;Toyota;Corolla;Hybride;4")
    for value in PERSONAL:
        assert value not in content


def test_public_page_query_count_does_not_grow(
    client, owner_a, gard, nimes_commune, django_assert_max_num_queries
):
    user, owner = owner_a
    Vehicle.objects.bulk_create(
        Vehicle(
            owner=owner,
            departement=gard,
            commune=nimes_commune,
            number=f"30-{n:02d}",
            sequence=n,
            plate=f"AA-{n:03d}-AA",
            plate_search=f"AA{n:03d}AA",
            make="Dacia",
            model="Jogger",
            engine="thermique",
            first_registration_date=datetime.date(2022, 1, 1),
            seats=6,
        )
        for n in range(1, 121)
    )
    with django_assert_max_num_queries(6):
        response = client.get(reverse("relais:public_register", args=["30"]))
    assert response.content.decode().count("AA-0") == 50


def test_prefecture_sees_its_departement_only(client, register, prefecture_agent, vehicle_herault):
    client.force_login(prefecture_agent)
    page = client.get(reverse("relais:prefecture_register", args=["30"])).content.decode()
    assert "AB-123-CD" in page and "EF-456-GH" in page  # suspended ones too
    assert "73282932000074" in page  # the SIRET, for the prefecture
    assert client.get(reverse("relais:prefecture_register", args=["34"])).status_code == 404
    url = reverse("relais:prefecture_vehicle", args=[vehicle_herault.pk])
    assert client.get(url).status_code == 404
    url = reverse("relais:prefecture_suspend", args=[vehicle_herault.pk])
    assert client.post(url, {"reason": "x"}).status_code == 404
    vehicle_herault.refresh_from_db()
    assert vehicle_herault.status == Vehicle.Status.ACTIVE


def test_prefecture_exports(client, register, prefecture_agent):
    client.force_login(prefecture_agent)
    response = client.get(reverse("relais:prefecture_export_csv", args=["30"]))
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Suspendu par la préfecture" in content and "contrôle technique" in content
    assert "JK-789-LM" not in content
    response = client.get(reverse("relais:prefecture_export_xlsx", args=["30"]))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Numéro" and [row[0] for row in rows[1:]] == ["30-01", "30-02"]


def test_prefecture_suspends_with_a_reason_and_the_owner_is_told(
    client, register, prefecture_agent, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(prefecture_agent)
    url = reverse("relais:prefecture_suspend", args=[register.pk])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "Véhicule de plus de 8 ans"})
    assert response.status_code == 302
    register.refresh_from_db()
    assert (register.status, register.status_reason) == ("suspendu", "Véhicule de plus de 8 ans")
    [mail] = mailoutbox
    assert mail.to == ["gerant@taxis-a.fr"] and "suspendu" in mail.subject
    assert "Véhicule de plus de 8 ans" in mail.body
    # Gone from the public register; the owner may not edit it meanwhile.
    assert (
        "AB-123-CD"
        not in client.get(reverse("relais:public_register", args=["30"])).content.decode()
    )
    client.post(reverse("relais:prefecture_reinstate", args=[register.pk]))
    register.refresh_from_db()
    assert register.status == "actif"
    client.post(reverse("relais:prefecture_remove", args=[register.pk]), {"reason": "Fraude"})
    register.refresh_from_db()
    assert (register.status, register.number) == ("radie", "30-01")


def test_requirements_shown_to_owners(client, prefecture_agent, owner_a, gard):
    client.force_login(prefecture_agent)
    client.post(
        reverse("relais:prefecture_requirements", args=["30"]),
        {"text": "Véhicules de moins de 6 ans."},
    )
    assert Requirements.objects.get(departement=gard).text == "Véhicules de moins de 6 ans."
    user, owner = owner_a
    client.force_login(user)
    page = client.get(reverse("relais:vehicle_create", args=[owner.pk])).content.decode()
    assert "Véhicules de moins de 6 ans." in page
    assert (
        "Véhicules de moins de 6 ans."
        in client.get(reverse("relais:public_register", args=["30"])).content.decode()
    )


def test_use_on_the_ads_page_and_at_a_roadside_check(
    client, owner_a, vehicle_a, complete_ads, manager, inspector, other_manager
):
    user, _ = owner_a
    client.force_login(user)
    today = datetime.date.today()
    response = client.post(
        reverse("relais:use_create", args=[vehicle_a.pk]),
        {
            "ads_commune": "30189",
            "ads_number": complete_ads.number,
            "start": today.isoformat(),
            "end": (today + datetime.timedelta(days=3)).isoformat(),
            "reason": "panne",
        },
    )
    assert response.status_code == 302
    use = Use.objects.get()
    assert use.ads == complete_ads
    # Overlap refused with a French message.
    response = client.post(
        reverse("relais:use_create", args=[vehicle_a.pk]),
        {
            "ads_commune": "30189",
            "ads_number": complete_ads.number,
            "start": (today + datetime.timedelta(days=2)).isoformat(),
            "end": (today + datetime.timedelta(days=5)).isoformat(),
            "reason": "panne",
        },
    )
    assert "remplace déjà un autre taxi" in response.content.decode()
    # The ADS's manager sees it on the ADS page.
    client.force_login(manager)
    page = client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode()
    assert "Actuellement remplacé" in page and "taxi relais n° 30-01" in page
    # A controller checks the plate, in any spelling.
    client.force_login(inspector)
    page = client.get(reverse("relais:control"), {"immatriculation": "ab123cd"}).content.decode()
    assert "AB-123-CD est le taxi relais n° 30-01" in page
    assert f"remplace actuellement l’ADS n° {complete_ads.number}" in page
    page = client.get(reverse("relais:control"), {"immatriculation": "ZZ-000-ZZ"}).content.decode()
    assert "n’est pas inscrit" in page
    # A manager (no controller role) may not check.
    client.force_login(other_manager)
    assert (
        client.get(reverse("relais:control"), {"immatriculation": "AB-123-CD"}).status_code == 403
    )


def test_open_data_validates_against_its_table_schema(client, register, tmp_path):
    import json

    import frictionless

    schema = json.loads(b"".join(client.get(reverse("relais:open_data_schema")).streaming_content))
    content = b"".join(client.get(reverse("relais:open_data")).streaming_content)
    (tmp_path / "taxis-relais.csv").write_bytes(content)
    report = frictionless.Resource(
        path="taxis-relais.csv",
        basepath=str(tmp_path),
        format="csv",
        encoding="utf-8",
        schema=frictionless.Schema.from_descriptor(schema),
    ).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    text = content.decode()
    assert text.splitlines()[1] == (
        "30-01,30,AB-123-CD,Toyota,Corolla,hybride,4,false,30189,Taxis A,0466000000,"
        "contact@taxis-a.fr"
    )
    assert "EF-456-GH" not in text  # suspended
    for value in PERSONAL:
        assert value not in text


def test_open_data_page_lists_the_relay_register(client, db):
    page = client.get(reverse("opendata:index")).content.decode()
    assert "Registre des taxis relais" in page
    assert reverse("relais:open_data") in page and reverse("relais:open_data_schema") in page
