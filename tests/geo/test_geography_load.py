"""Loading the reference geography: full vintage, idempotence, renames and merges."""

import importlib.util
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from mesads.geo.loading import AIRPORTS, DEFAULT_FIXTURE, load_geography
from mesads.geo.models import EPCI, Airport, Commune, Departement

BASE_DIR = Path(__file__).resolve().parents[2]


def _build_script():
    # scripts/ is not a package: load the build script by path, to write small
    # fixtures in exactly the format it produces.
    spec = importlib.util.spec_from_file_location(
        "build_geography_fixture", BASE_DIR / "scripts" / "build_geography_fixture.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_script = _build_script()


def departement(code, name):
    return {"code": code, "name": name, "region_code": "", "chef_lieu_code": "", "zone": "metro"}


def commune(code, name, departement="01", population=100, type="commune-actuelle", parent=""):
    return {
        "insee_code": code,
        "type": type,
        "name": name,
        "departement": departement,
        "siren": "",
        "population": population,
        "postal_codes": [],
        "parent_code": parent,
        "former_codes": [],
    }


def epci(siren, name, members):
    return {"siren": siren, "name": name, "type": "CC", "population": 1000, "members": members}


def write_fixture(path, communes, epcis=(), extra_departements=()):
    """A small fixture in the real format, with the départements of the fixed airports
    as in the real data."""
    departements = [
        departement("01", "Ain"),
        departement("2A", "Corse-du-Sud"),
        *(departement(code, f"Département {code}") for _, _, code in AIRPORTS),
        *extra_departements,
    ]
    build_script.write(
        {
            "format": 1,
            "source": "test@1",
            "departements": departements,
            "communes": list(communes),
            "epcis": list(epcis),
        },
        path,
    )
    return path


@pytest.fixture(scope="class")
def full_geography(django_db_setup, django_db_blocker):
    """The real vintage, loaded once for the class (a full load takes a few seconds),
    then removed so that other tests start from an empty geography."""
    with django_db_blocker.unblock():
        report = load_geography()
        yield report
        EPCI.members.through.objects.all().delete()
        EPCI.objects.all().delete()
        Airport.objects.all().delete()
        Commune.objects.all().delete()
        Departement.objects.all().delete()


@pytest.mark.django_db
@pytest.mark.usefixtures("full_geography")
class TestFullVintage:
    def test_counts_match_the_pinned_data(self, full_geography):
        assert full_geography.source == "@etalab/decoupage-administratif@6.0.0"
        assert full_geography.communes.created == 37_590
        assert Commune.objects.current().count() == 34_969
        assert EPCI.objects.filter(is_active=True).count() == 1_255
        assert Departement.objects.count() == 109
        assert Airport.objects.count() == len(AIRPORTS) == 10
        assert full_geography.memberships_added == EPCI.members.through.objects.count() > 34_000

    def test_corsica_and_special_codes_are_kept(self):
        ajaccio = Commune.objects.current().select_related("departement").get(insee_code="2A004")
        assert ajaccio.name == "Ajaccio"
        assert ajaccio.departement.code == "2A"
        assert ajaccio.former_codes == ["20004"]
        assert "20000" in ajaccio.postal_codes
        paris_1er = Commune.objects.get(insee_code="75101")
        assert paris_1er.type == Commune.Type.ARRONDISSEMENT
        assert paris_1er.parent_code == "75056"
        assert Airport.objects.get(code="LFSB").departement.code == "68"

    def test_epci_departement_is_the_one_with_most_population(self):
        # Only 1 of its 130 communes is in Paris, but Paris holds most of its population.
        grand_paris = EPCI.objects.get(siren="200054781")
        assert grand_paris.departement.code == "75"
        # 10 communes in Savoie, 7 in Isère, but more inhabitants in Isère.
        chartreuse = EPCI.objects.get(siren="200040111")
        assert chartreuse.departement.code == "38"
        assert chartreuse.members.count() == 17

    def test_second_load_changes_nothing(self, django_assert_max_num_queries):
        before = (Commune.objects.count(), EPCI.objects.count(), Departement.objects.count())
        # Every table is read once and nothing is written.
        with django_assert_max_num_queries(10):
            report = load_geography()
        for _, counts in report.models():
            assert (counts.created, counts.updated, counts.deactivated) == (0, 0, 0)
        assert report.communes.unchanged == 37_590
        assert (report.memberships_added, report.memberships_removed) == (0, 0)
        assert not report.changed
        after = (Commune.objects.count(), EPCI.objects.count(), Departement.objects.count())
        assert after == before

    def test_staff_browse_and_search_communes(self, admin_client, django_assert_max_num_queries):
        url = reverse("admin:geo_commune_changelist")
        with django_assert_max_num_queries(12):
            response = admin_client.get(url, {"q": "69123"})
        assert response.status_code == 200
        assert "Lyon" in response.content.decode()

        response = admin_client.get(url, {"q": "13001"})  # a postal code
        assert "Marseille 1er Arrondissement" in response.content.decode()

        with django_assert_max_num_queries(12):
            response = admin_client.get(reverse("admin:geo_epci_changelist"), {"q": "Lyon"})
        assert "Métropole de Lyon" in response.content.decode()

        response = admin_client.get(reverse("admin:geo_departement_changelist"), {"q": "2A"})
        assert "Corse-du-Sud" in response.content.decode()
        response = admin_client.get(reverse("admin:geo_airport_changelist"))
        assert "Paris-Charles-de-Gaulle" in response.content.decode()

    def test_official_data_cannot_be_edited_in_the_admin(self, admin_client):
        assert admin_client.get(reverse("admin:geo_commune_add")).status_code == 403
        lyon = Commune.objects.get(insee_code="69123", type=Commune.Type.ACTUELLE)
        response = admin_client.get(reverse("admin:geo_commune_change", args=[lyon.pk]))
        assert response.status_code == 200
        assert "Métropole de Lyon" in response.content.decode()  # its EPCI, read-only
        assert 'name="name"' not in response.content.decode()
        delete_url = reverse("admin:geo_commune_delete", args=[lyon.pk])
        assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403


@pytest.mark.django_db
def test_renamed_commune_is_updated_in_place(tmp_path):
    load_geography(write_fixture(tmp_path / "v1.json.gz", [commune("01001", "Ancien nom")]))
    before = Commune.objects.get(insee_code="01001")

    report = load_geography(
        write_fixture(tmp_path / "v2.json.gz", [commune("01001", "Nouveau nom")])
    )

    after = Commune.objects.get(insee_code="01001")
    assert (after.pk, after.name) == (before.pk, "Nouveau nom")
    assert Commune.objects.count() == 1
    assert (report.communes.created, report.communes.updated) == (0, 1)


@pytest.mark.django_db
def test_merged_commune_is_kept_inactive(tmp_path):
    v1 = [commune("01001", "Absorbante"), commune("01002", "Absorbée")]
    load_geography(
        write_fixture(tmp_path / "v1.json.gz", v1, [epci("200000001", "CC", ["01001", "01002"])])
    )
    absorbed = Commune.objects.get(insee_code="01002")

    # The next vintage: 01002 merged into 01001 and became its delegated commune.
    v2 = [
        commune("01001", "Absorbante"),
        commune("01002", "Absorbée", type="commune-deleguee", parent="01001", population=None),
    ]
    report = load_geography(
        write_fixture(tmp_path / "v2.json.gz", v2, [epci("200000001", "CC", ["01001"])])
    )

    absorbed.refresh_from_db()  # same row: whatever refers to it still does
    assert not absorbed.is_active
    assert Commune.objects.get(insee_code="01002", type="commune-deleguee").parent_code == "01001"
    assert list(Commune.objects.current().values_list("insee_code", flat=True)) == ["01001"]
    assert [c.insee_code for c in EPCI.objects.get().members.all()] == ["01001"]
    assert (report.communes.created, report.communes.deactivated) == (1, 1)
    assert (report.memberships_added, report.memberships_removed) == (0, 1)

    # Loading the old vintage again brings it back, still the same row.
    load_geography(tmp_path / "v1.json.gz")
    absorbed.refresh_from_db()
    assert absorbed.is_active


@pytest.mark.django_db
def test_dissolved_epci_is_kept_inactive(tmp_path):
    communes = [commune("01001", "Une")]
    load_geography(
        write_fixture(tmp_path / "v1.json.gz", communes, [epci("200000001", "CC", ["01001"])])
    )
    report = load_geography(write_fixture(tmp_path / "v2.json.gz", communes))

    dissolved = EPCI.objects.get(siren="200000001")
    assert not dissolved.is_active
    assert report.epcis.deactivated == 1


@pytest.mark.django_db
def test_epci_departement_follows_population_not_member_count(tmp_path):
    communes = [
        commune("01001", "Petite", departement="01", population=100),
        commune("01002", "Petite aussi", departement="01", population=100),
        commune("2A004", "Ajaccio", departement="2A", population=70_000),
    ]
    load_geography(
        write_fixture(
            tmp_path / "g.json.gz", communes, [epci("200000001", "CC", ["01001", "01002", "2A004"])]
        )
    )
    assert EPCI.objects.get().departement.code == "2A"


@pytest.mark.django_db
def test_command_loads_then_says_nothing_changed(tmp_path):
    path = write_fixture(tmp_path / "g.json.gz", [commune("01001", "Une")])

    out = StringIO()
    call_command("load_geography", file=path, stdout=out)
    assert "Communes : 1 créées" in out.getvalue()
    assert "Géographie chargée depuis test@1" in out.getvalue()

    out = StringIO()
    call_command("load_geography", file=path, stdout=out)
    assert "Communes : 0 créées, 0 modifiées, 1 inchangées" in out.getvalue()
    assert "Géographie inchangée" in out.getvalue()
    assert Commune.objects.count() == 1

    out = StringIO()
    call_command("load_geography", file=str(path), stdout=out, verbosity=0)
    assert out.getvalue() == ""


@pytest.mark.django_db
def test_command_dry_run_writes_nothing(tmp_path):
    path = write_fixture(tmp_path / "g.json.gz", [commune("01001", "Une")])
    out = StringIO()
    call_command("load_geography", file=path, dry_run=True, stdout=out)
    assert "Communes : 1 créées" in out.getvalue()
    assert "aucune modification enregistrée" in out.getvalue()
    assert not Commune.objects.exists()
    assert not Departement.objects.exists()


def test_fixture_build_is_byte_identical(tmp_path):
    first = write_fixture(tmp_path / "a.json.gz", [commune("01001", "Une")])
    second = write_fixture(tmp_path / "b.json.gz", [commune("01001", "Une")])
    assert first.read_bytes() == second.read_bytes()
    assert DEFAULT_FIXTURE.stat().st_size < 2_000_000
