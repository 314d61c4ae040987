"""Open data (issue 11, point 4): every day the register publishes, without any personal
data, a file of its authorities with their figures and a file of its ADS, each with a
Table Schema beside it, downloadable by anyone from « Données ouvertes ».

A re-user downloads both files and their schemas from the public addresses and validates
them with ``frictionless``; a mairie's holder and drivers appear nowhere; the figures are
the register's (deleted ADS left out, a delegating commune's ADS counted on its EPCI).
"""

import csv
import datetime
import io
import json

import frictionless
import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS, Driver
from mesads.api.representation import insee_code
from mesads.authorities.models import Authority
from mesads.core import daily
from mesads.geo.models import Commune
from mesads.opendata import datasets, publication
from mesads.opendata.models import Publication
from tests.exchange.test_s3_storage import bucket, objects, s3_endpoint  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

# Every column the open data may ever hold: none names or reaches a person.
ALLOWED_COLUMNS = {
    "autorites": {
        "code",
        "siren",
        "nom",
        "type",
        "departement",
        "nombre_ads",
        "ads_exploitees",
        "ads_vacantes",
        "ads_pmr",
        "ads_faibles_emissions",
        "ads_conventionnees_cpam",
        "declare_aucune_ads",
        "gestion_deleguee_a",
        "nombre_ads_attendu",
        "derniere_mise_a_jour",
    },
    "ads": {
        "code_gestionnaire",
        "code_insee_commune",
        "numero",
        "regime",
        "date_creation",
        "exploitee",
        "vehicule_pmr",
        "vehicule_faibles_emissions",
        "conventionnee_cpam",
    },
}
PERSONAL_WORDS = ("titulaire", "conducteur", "telephone", "email", "mail", "siret", "immat")

# What the mairie of Nîmes knows of the people behind its ADS: none may leave the register.
PERSONAL_DATA = [
    "Jeanne Testeuse",
    "0612345678",
    "jeanne.testeuse@example.org",
    "73282932000074",
    "Marcel Conduite",
    "CP-30-4242",
    "44306184100047",
    "AB-123-CD",
    "Notes sur la famille",
    "Paul Effacé",
]


@pytest.fixture
def register(nimes, ales, montpellier, nimes_metropole, gard):
    """Nîmes: an old ADS in use held by a person (drivers, phone, e-mail), a new vacant
    one, a deleted one; Saint-Gilles delegates to Nîmes Métropole, which issued one ADS
    there; Alès declares having none; Montpellier has declared nothing yet."""
    in_use = ADS.objects.create(
        authority=nimes,
        number="1",
        creation_date=datetime.date(2005, 3, 1),
        attribution_date=datetime.date(2012, 6, 1),
        holder_name="Jeanne Testeuse",
        holder_siret="73282932000074",
        holder_phone="0612345678",
        holder_email="jeanne.testeuse@example.org",
        vehicle_plate="AB-123-CD",
        vehicle_pmr=True,
        vehicle_low_emission=False,
        cpam_agreement=True,
        notes="Notes sur la famille",
    )
    Driver.objects.create(
        ads=in_use,
        status=Driver.Status.LOCATAIRE_GERANT,
        name="Marcel Conduite",
        card_number="CP-30-4242",
        siret="44306184100047",
        lease_start_date=datetime.date(2020, 1, 1),
    )
    ADS.objects.create(
        authority=nimes,
        number="A-10",
        creation_date=datetime.date(2019, 5, 2),
        in_use=False,
        vehicle_low_emission=True,
    )
    ADS.objects.create(
        authority=nimes,
        number="3",
        holder_name="Paul Effacé",
        deleted_at=timezone.now(),
    )
    saint_gilles_commune = Commune.objects.create(
        insee_code="30258", type=Commune.Type.ACTUELLE, name="Saint-Gilles", departement=gard
    )
    nimes_metropole.epci.members.add(saint_gilles_commune)
    Authority.objects.create(
        type=Authority.Type.COMMUNE,
        name="Saint-Gilles",
        commune=saint_gilles_commune,
        departement=gard,
        delegated_to=nimes_metropole,
    )
    ADS.objects.create(
        authority=nimes_metropole,
        number="E-1",
        commune=saint_gilles_commune,
        creation_date=datetime.date(2016, 9, 1),
        cpam_agreement=True,
    )
    ales.declares_no_ads = True
    ales.expected_ads_count = 0
    ales.save()
    nimes.expected_ads_count = 3
    nimes.save()


def stored(dataset: str) -> bytes:
    with default_storage.open(Publication.objects.get(dataset=dataset).name, "rb") as f:
        return f.read()


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def validate(content: bytes, schema: dict, folder) -> frictionless.Report:
    (folder / "fichier.csv").write_bytes(content)
    resource = frictionless.Resource(
        path="fichier.csv",
        basepath=str(folder),
        format="csv",
        encoding="utf-8",
        schema=frictionless.Schema.from_descriptor(schema),
    )
    return resource.validate()


def test_a_reuser_downloads_both_files_and_validates_them_against_the_published_schemas(
    client, register, tmp_path
):
    publication.publish()

    for dataset in ("autorites", "ads"):
        content = client.get(reverse("opendata:download", args=[dataset])).getvalue()
        schema = json.loads(client.get(reverse("opendata:schema", args=[dataset])).content)
        report = validate(content, schema, tmp_path)
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
        # The file's header is the schema's fields, in their order.
        assert content.decode().splitlines()[0] == ",".join(f["name"] for f in schema["fields"])


def test_a_file_that_breaks_its_schema_is_caught_by_the_validation(register, tmp_path):
    """The validation above proves something: a wrong value fails it."""
    publication.publish()
    broken = stored("ads").replace(b",ancien,", b",vieux,")

    report = validate(broken, datasets.schema("ads"), tmp_path)

    assert not report.valid
    assert report.flatten(["fieldName", "type"]) == [["regime", "constraint-error"]]


def test_the_files_hold_no_personal_data_neither_in_their_columns_nor_in_their_content(
    register,
):
    publication.publish()

    for dataset, allowed in ALLOWED_COLUMNS.items():
        columns = datasets.columns(dataset)
        assert set(columns) <= allowed
        assert not [c for c in columns for word in PERSONAL_WORDS if word in c]
        content = stored(dataset).decode()
        assert content.splitlines()[0].split(",") == columns
        for value in PERSONAL_DATA:
            assert value not in content, (dataset, value)


def test_the_figures_are_the_register_s(register, nimes, nimes_metropole):
    publication.publish()

    authorities = {row["code"]: row for row in rows(stored("autorites"))}
    ads = rows(stored("ads"))
    today = timezone.localdate().isoformat()

    # Nîmes: the deleted ADS is not counted.
    assert authorities["30189"] == {
        "code": "30189",
        "siren": "",
        "nom": "Nîmes",
        "type": "commune",
        "departement": "30",
        "nombre_ads": "2",
        "ads_exploitees": "1",
        "ads_vacantes": "1",
        "ads_pmr": "1",
        "ads_faibles_emissions": "1",
        "ads_conventionnees_cpam": "1",
        "declare_aucune_ads": "false",
        "gestion_deleguee_a": "",
        "nombre_ads_attendu": "3",
        "derniere_mise_a_jour": today,
    }
    # Saint-Gilles delegates: its ADS is counted once, on the EPCI's row.
    assert authorities["30258"]["nombre_ads"] == "0"
    assert authorities["30258"]["gestion_deleguee_a"] == "200035319"
    assert authorities["30258"]["derniere_mise_a_jour"] == ""
    epci = authorities["200035319"]
    assert (epci["type"], epci["siren"], epci["nombre_ads"]) == ("epci", "200035319", "1")
    assert (epci["ads_exploitees"], epci["ads_conventionnees_cpam"]) == ("1", "1")
    # Alès declares none; Montpellier has declared nothing.
    assert authorities["30007"]["declare_aucune_ads"] == "true"
    assert authorities["30007"]["nombre_ads_attendu"] == "0"
    assert authorities["34172"]["nombre_ads"] == "0"
    assert authorities["34172"]["nombre_ads_attendu"] == ""
    assert len(authorities) == Authority.objects.count()
    # Every live ADS once, and only them: the totals agree.
    assert sum(int(row["nombre_ads"]) for row in authorities.values()) == len(ads) == 3
    assert ads == [
        {
            "code_gestionnaire": "200035319",
            "code_insee_commune": "30258",
            "numero": "E-1",
            "regime": "nouveau",
            "date_creation": "2016-09-01",
            "exploitee": "true",
            "vehicule_pmr": "",
            "vehicule_faibles_emissions": "",
            "conventionnee_cpam": "true",
        },
        {
            "code_gestionnaire": "30189",
            "code_insee_commune": "30189",
            "numero": "1",
            "regime": "ancien",
            "date_creation": "2005-03-01",
            "exploitee": "true",
            "vehicule_pmr": "true",
            "vehicule_faibles_emissions": "false",
            "conventionnee_cpam": "true",
        },
        {
            "code_gestionnaire": "30189",
            "code_insee_commune": "30189",
            "numero": "A-10",
            "regime": "nouveau",
            "date_creation": "2019-05-02",
            "exploitee": "false",
            "vehicule_pmr": "",
            "vehicule_faibles_emissions": "true",
            "conventionnee_cpam": "false",
        },
    ]


def _queries_to_generate() -> int:
    with CaptureQueriesContext(connection) as queries:
        for item in publication.generate():
            item.file.close()
    return len(queries)


def test_generation_streams_its_queries_do_not_grow_with_the_register(register, gard):
    before = _queries_to_generate()

    for index in range(30):
        commune = Commune.objects.create(
            insee_code=f"30{index + 300:03d}",
            type=Commune.Type.ACTUELLE,
            name=f"Commune {index}",
            departement=gard,
        )
        authority = Authority.objects.create(
            type=Authority.Type.COMMUNE, name=commune.name, commune=commune, departement=gard
        )
        ADS.objects.bulk_create(
            ADS(authority=authority, number=str(n), number_sort_key=f"{n:012d}")
            for n in range(1, 6)
        )

    assert _queries_to_generate() == before
    # One query per file, read through a cursor: rows come as they are written.
    with CaptureQueriesContext(connection) as queries:
        rows = datasets.ads_rows()
        assert next(rows)[0] == "200035319"
    (sql,) = [q["sql"] for q in queries.captured_queries]
    # The personal columns are not even read.
    for column in ("holder_", "vehicle_plate", "notes", "drivers_search", "ads_driver"):
        assert column not in sql


def test_the_public_page_says_the_files_are_not_generated_yet(client):
    response = client.get(reverse("opendata:index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert "<title>Données ouvertes – Mes ADS</title>" in html
    assert html.count("Ce fichier n’a pas encore été généré") == 2
    assert f'href="{reverse("opendata:download", args=["ads"])}"' not in html
    # The schemas are published anyway, and documented.
    assert reverse("opendata:schema", args=["ads"]) in html
    assert "<code>numero</code>" in html
    assert client.get(reverse("opendata:download", args=["ads"])).status_code == 404


def test_an_anonymous_visitor_reads_the_documentation_and_downloads_both_files(client, register):
    published = {p.dataset: p for p in publication.publish()}

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("opendata:index"))
    # One query, whatever the size of the register (the request's savepoint aside).
    selects = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(selects) == 1

    html = response.content.decode()
    assert "Licence Ouverte / Open Licence version 2.0 (Etalab)" in html
    assert "quotidienne" in html
    assert "Ce fichier n’a pas encore été généré" not in html
    assert f"Généré le {timezone.localtime(published['ads'].generated_at):%-d}" in html
    assert "3 lignes" in html
    assert "<caption>Colonnes du fichier « Autorisations de stationnement (ADS) de taxi »" in html
    assert '<th scope="row"><code>gestion_deleguee_a</code></th>' in html
    assert "<code>commune</code>, <code>epci</code>, <code>prefecture</code>" in html
    for dataset in ("autorites", "ads"):
        url = reverse("opendata:download", args=[dataset])
        assert f'href="{url}" download' in html

        response = client.get(url)

        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        day = timezone.localdate(published[dataset].generated_at)
        assert response["Content-Disposition"] == (
            f'attachment; filename="mesads-{dataset}-{day}.csv"'
        )
        assert response["Cache-Control"] == "public, max-age=3600"
        assert response["Access-Control-Allow-Origin"] == "*"
        content = response.getvalue()
        assert content == stored(dataset)
        assert int(response["Content-Length"]) == len(content) == published[dataset].size
        # A cache that checks again gets a 304, without the file.
        again = client.get(url, headers={"if-none-match": response["ETag"]})
        assert again.status_code == 304
        assert again.content == b""

    schema = client.get(reverse("opendata:schema", args=["autorites"]))
    assert schema["Content-Type"] == "application/json; charset=utf-8"
    assert "public" in schema["Cache-Control"]
    assert schema.json()["primaryKey"] == ["code"]
    assert client.get("/donnees-ouvertes/conducteurs.csv").status_code == 404


def test_the_page_points_re_users_who_need_fresher_data_to_the_api(client):
    html = client.get(reverse("opendata:index")).content.decode()
    assert f'<a href="{reverse("api:documentation")}">API de réutilisation</a>' in html


def test_every_page_links_the_open_data_from_its_footer(client, manager):
    link = f'href="{reverse("opendata:index")}"'
    assert link in client.get(reverse("home")).content.decode()
    assert (
        f'{link} aria-current="page">Données ouvertes'
        in client.get(reverse("opendata:index")).content.decode()
    )
    assert link in client.get(reverse("site_map")).content.decode()
    client.force_login(manager)
    response = client.get(reverse("opendata:index"))
    assert response.status_code == 200
    # A logged-in user's pages are never cached, this one included.
    assert "no-store" in response["Cache-Control"]


def test_the_daily_job_publishes_and_running_it_twice_the_same_day_is_harmless(
    register, monkeypatch
):
    assert "mesads.opendata.publication.daily_step" in daily.STEPS
    # Only this step: the other steps have their own tests.
    monkeypatch.setattr(daily, "STEPS", ["mesads.opendata.publication.daily_step"])
    out = io.StringIO()

    call_command("run_daily", stdout=out)
    first = {dataset: stored(dataset) for dataset in ("autorites", "ads")}
    call_command("run_daily", stdout=out)
    call_command("run_daily", stdout=out)

    assert "données ouvertes publiées : autorites.csv (" in out.getvalue()
    assert "ads.csv (3 lignes" in out.getvalue()
    assert Publication.objects.count() == 2
    assert {dataset: stored(dataset) for dataset in first} == first
    # The current file and the previous one, for downloads in progress; no more.
    _, files = default_storage.listdir("opendata")
    assert len(files) == 4
    assert set(files) == {
        name.removeprefix("opendata/")
        for p in Publication.objects.all()
        for name in (p.name, p.previous_name)
    }


def test_the_command_publishes_and_its_dry_run_publishes_nothing(register):
    out = io.StringIO()
    call_command("export_opendata", "--dry-run", stdout=out)
    assert "ads.csv : 3 lignes" in out.getvalue()
    assert "non publié" in out.getvalue()
    assert not Publication.objects.exists()

    call_command("export_opendata", stdout=out)
    assert Publication.objects.get(dataset="ads").rows == 3


def test_a_download_in_progress_finishes_with_the_file_it_started(client, register, nimes):
    publication.publish()
    before = stored("ads")
    response = client.get(reverse("opendata:download", args=["ads"]))
    stream = iter(response.streaming_content)

    ADS.objects.create(authority=nimes, number="99")
    publication.publish()

    assert b"".join(stream) == before
    assert b",99," in stored("ads")


class SecondSaveFails(FileSystemStorage):
    """A disk that fills up after the first file."""

    saved = 0

    def save(self, name, content, *args, **kwargs):
        self.saved += 1
        if self.saved == 2:
            raise OSError("disque plein")
        return super().save(name, content, *args, **kwargs)


def test_a_storage_failure_leaves_the_published_files_as_they_were(register, nimes):
    publication.publish()
    published = list(Publication.objects.values_list("dataset", "name", "sha256"))
    ADS.objects.create(authority=nimes, number="99")

    with pytest.raises(OSError):
        publication.publish(storage=SecondSaveFails())

    assert list(Publication.objects.values_list("dataset", "name", "sha256")) == published
    # The first file of the failed run was removed: only the published ones are left.
    _, files = default_storage.listdir("opendata")
    assert sorted(files) == sorted(name.removeprefix("opendata/") for _, name, _ in published)


def test_with_an_s3_bucket_the_files_go_to_it_and_are_streamed_from_it(
    client,
    register,
    bucket,  # noqa: F811
    settings,
    tmp_path,
):
    publication.publish()

    stored_objects = objects(bucket)
    assert sorted(key.split("-")[0] for key in stored_objects) == [
        "opendata/ads",
        "opendata/autorites",
    ]
    assert not (tmp_path / "media" / "opendata").exists()
    response = client.get(reverse("opendata:download", args=["ads"]))
    content = response.getvalue()
    assert content == stored_objects[Publication.objects.get(dataset="ads").name]
    assert b"E-1" in content


def test_a_prefecture_s_ads_is_attached_to_the_chef_lieu_as_in_the_api(paris_prefecture):
    ads = ADS.objects.create(authority=paris_prefecture, number="12345")
    publication.publish()

    [row] = rows(stored("ads"))
    assert (row["numero"], row["code_insee_commune"]) == ("12345", "75056")
    assert insee_code(ads) == "75056"
