"""A fake national register for demos and benchmarks: ``generate_registry``."""

import re
from collections import Counter
from io import StringIO

import pytest
import reversion
from django.core.management import CommandError, call_command
from reversion.models import Revision, Version

from mesads.ads import validators
from mesads.ads.generation import HISTORY_COMMENT, generate_registry
from mesads.ads.models import ADS, Driver
from mesads.authorities.models import Authority
from mesads.authorities.territories import ensure_authorities
from mesads.geo.models import EPCI, Commune, Departement

# (INSEE code, name, département, population): enough to see Paris, big and small towns.
COMMUNES = [
    ("75056", "Paris", "75", 2_113_705),
    ("13055", "Marseille", "13", 873_076),
    ("13001", "Aix-en-Provence", "13", 147_478),
    ("13041", "Gardanne", "13", 21_000),
    ("13004", "Arles", "13", 51_000),
    ("69123", "Lyon", "69", 520_774),
    ("69266", "Villeurbanne", "69", 156_000),
    ("69001", "Affoux", "69", 380),
    ("35238", "Rennes", "35", 225_081),
    ("2A004", "Ajaccio", "2A", 73_000),
]
# And sixty small towns of Ille-et-Vilaine, as most of France: a few ADS each, or none.
COMMUNES += [(f"35{n:03d}", f"Commune {n}", "35", 800 + 300 * n) for n in range(1, 61)]


@pytest.fixture
def geography(db):
    """A handful of real communes; Aix and Gardanne delegate their ADS to an EPCI;
    Villeurbanne declares it has none."""
    departements = {
        code: Departement.objects.create(code=code, name=name)
        for code, name in [
            ("75", "Paris"),
            ("13", "Bouches-du-Rhône"),
            ("69", "Rhône"),
            ("35", "Ille-et-Vilaine"),
            ("2A", "Corse-du-Sud"),
        ]
    }
    communes = {
        code: Commune.objects.create(
            insee_code=code,
            type=Commune.Type.ACTUELLE,
            name=name,
            departement=departements[departement],
            population=population,
        )
        for code, name, departement, population in COMMUNES
    }
    epci = EPCI.objects.create(
        siren="200000001",
        name="CA du Pays d’Aix",
        type=EPCI.Type.CA,
        departement=departements["13"],
    )
    epci.members.set([communes["13001"], communes["13041"]])
    ensure_authorities()
    epci_authority = Authority.objects.get(epci=epci)
    Authority.objects.filter(commune__insee_code__in=["13001", "13041"]).update(
        delegated_to=epci_authority
    )
    Authority.objects.filter(commune__insee_code="69266").update(declares_no_ads=True)
    return epci_authority


def snapshot() -> list[tuple]:
    return list(
        ADS.objects.order_by("pk").values_list(
            "authority__name", "number", "holder_name", "creation_date", "vehicle_plate"
        )
    )


def test_the_register_looks_like_the_national_one(geography):
    report = generate_registry(300, seed=3)

    assert report.ads == ADS.objects.count() == 300
    assert report.drivers == Driver.objects.count()
    # A third in Paris, all issued by the Préfecture de police, none by the commune.
    paris = Authority.objects.get(prefecture__code="75")
    assert paris.name == "Préfecture de police de Paris"
    assert ADS.objects.filter(authority=paris).count() == 100
    assert not ADS.objects.filter(authority__commune__insee_code="75056").exists()
    # Weighted by population: Marseille has more than Affoux; Villeurbanne declared none.
    by_authority = Counter(ADS.objects.values_list("authority__name", flat=True))
    assert by_authority["Marseille"] > by_authority["Affoux"]
    assert by_authority["Villeurbanne"] == 0
    # Delegating communes' ADS are the EPCI's, each in one of its member communes.
    epci_ads = ADS.objects.filter(authority=geography)
    assert epci_ads.exists()
    assert set(epci_ads.values_list("commune__insee_code", flat=True)) <= {"13001", "13041"}
    assert not ADS.objects.filter(authority__commune__insee_code__in=["13001", "13041"]).exists()

    assert ADS.objects.old_regime().exists() and ADS.objects.new_regime().exists()
    assert 0.5 < ADS.objects.old_regime().count() / 300 < 0.7
    assert ADS.objects.filter(in_use=False).exists()
    assert ADS.objects.incomplete().exists()
    assert ADS.objects.renewal_overdue().exists()
    assert ADS.objects.new_regime().filter(last_renewal_date__isnull=False).exists()
    assert 1.3 < Driver.objects.count() / 300 < 1.7
    small_towns = [count for name, count in by_authority.items() if name.startswith("Commune")]
    assert small_towns and max(small_towns) <= 5
    # Numbers are unique per authority: mostly 1, 2, 3…, some authorities use A-07.
    numbers = list(ADS.objects.values_list("authority", "number"))
    assert len(set(numbers)) == len(numbers)
    assert any(number.isdigit() for _, number in numbers)
    assert any(re.fullmatch(r"[A-Z]-\d{2}", number) for _, number in numbers)


def test_every_row_satisfies_the_rules_of_the_models(geography):
    generate_registry(300, seed=3)

    for ads in ADS.objects.select_related("authority__epci").prefetch_related("drivers"):
        drivers = list(ads.drivers.all())
        ads.full_clean()
        for driver in drivers:
            driver.full_clean()
        assert ads.validate_drivers(drivers) == []
        if ads.holder_siret:
            validators.validate_siret(ads.holder_siret)
        if ads.vehicle_plate:
            assert re.fullmatch(validators.PLATE_SIV_RE, ads.vehicle_plate)
        if ads.holder_phone:
            assert re.fullmatch(r"0[67]\d{8}", ads.holder_phone)
        if ads.is_new_regime:
            assert ads.attribution_date is None
            expected = [] if not ads.in_use else [Driver.Status.TITULAIRE]
            assert [d.status for d in drivers] == expected
        else:
            assert ads.last_renewal_date is None
            assert ads.attribution_date >= ads.creation_date
            assert len(drivers) in ((0,) if not ads.in_use else (1, 2, 3))
        # The derived columns bulk_create could not compute are there.
        stored = (ads.number_sort_key, ads.plate_search, ads.drivers_search, ads.is_complete)
        ads.refresh_derived(drivers)
        assert stored == (
            ads.number_sort_key,
            ads.plate_search,
            ads.drivers_search,
            ads.is_complete,
        )


def test_the_same_seed_gives_the_same_register(geography):
    generate_registry(120, seed=7)
    first = snapshot()
    ADS.objects.all().delete()

    generate_registry(120, seed=7)
    assert snapshot() == first
    ADS.objects.all().delete()

    generate_registry(120, seed=8)
    assert snapshot() != first


def test_a_second_run_adds_to_the_register_without_reusing_numbers(geography):
    generate_registry(40, seed=1)
    generate_registry(40, seed=1)

    assert ADS.objects.count() == 80
    numbers = list(ADS.objects.values_list("authority", "number"))
    assert len(set(numbers)) == 80


def test_history_stores_one_revision_per_ads_with_its_drivers(geography):
    report = generate_registry(60, seed=2, history=True)

    assert Revision.objects.count() == report.revisions == 60
    assert set(Revision.objects.values_list("comment", flat=True)) == {HISTORY_COMMENT}
    assert Version.objects.count() == report.versions == 60 + Driver.objects.count()
    ads = ADS.objects.filter(drivers__isnull=False).distinct().first()
    (version,) = Version.objects.get_for_object(ads)
    assert version.field_dict["number"] == ads.number
    revision_objects = {
        (v.content_type.model, v.object_id) for v in version.revision.version_set.all()
    }
    assert revision_objects == {("ads", str(ads.pk))} | {
        ("driver", str(pk)) for pk in ads.drivers.values_list("pk", flat=True)
    }

    # Byte for byte what django-reversion itself writes for the same objects.
    with reversion.create_revision():
        reversion.add_to_revision(ads)
    latest = Version.objects.get_for_object(ads).first()
    for name in ("content_type_id", "object_id", "db", "format", "serialized_data"):
        assert getattr(latest, name) == getattr(version, name)
    assert latest.object_repr == version.object_repr


def test_command_reports_progress_and_dry_run_writes_nothing(geography):
    out = StringIO()
    call_command("generate_registry", "--ads=30", "--seed=1", "--batch-size=10", stdout=out)
    output = out.getvalue()
    assert "10/30 ADS écrites" in output
    assert "Registre généré : 30 ADS" in output
    assert ADS.objects.count() == 30

    out = StringIO()
    call_command("generate_registry", "--ads=30", "--dry-run", "--history", stdout=out)
    assert "Simulation (--dry-run)" in out.getvalue()
    assert ADS.objects.count() == 30
    assert not Revision.objects.exists()

    out = StringIO()
    call_command("generate_registry", "--ads=5", "--verbosity=0", stdout=out)
    assert out.getvalue() == ""
    assert ADS.objects.count() == 35


def test_command_needs_the_geography(db):
    with pytest.raises(CommandError, match="load_geography"):
        call_command("generate_registry", "--ads=10", stdout=StringIO())
    assert not ADS.objects.exists()
