"""French typography: « de » elides before a vowel (« d’Alès », « de Nîmes »), and an ADS
number does not break at its hyphen in the lists."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.urls import reverse

from mesads.ads.models import ADS
from mesads.core.text import de

ELISIONS = [
    ("Alès", "d’Alès"),
    ("Aast", "d’Aast"),
    ("Évry", "d’Évry"),
    ("Yerres", "d’Yerres"),
    ("Nîmes", "de Nîmes"),
]


@pytest.mark.parametrize(("name", "expected"), ELISIONS)
def test_de_elides_before_a_vowel_in_python_and_in_templates(name, expected):
    template = Template("{% load french %}{{ name|de }}")

    assert de(name) == expected
    assert template.render(Context({"name": name})) == expected


def test_the_filter_still_escapes_the_name():
    template = Template("{% load french %}{{ name|de }}")

    assert template.render(Context({"name": "Aix & <Co>"})) == "d’Aix &amp; &lt;Co&gt;"


@pytest.fixture
def ales_ads(ales) -> ADS:
    ads = ADS(authority=ales, number="2021-0042", holder_name="Taxi Cévennes")
    ads.save()
    return ads


def test_the_manager_of_ales_reads_les_ads_d_ales_and_unbroken_numbers(
    client, other_manager, ales, ales_ads
):
    client.force_login(other_manager)

    response = client.get(reverse("ads:list", args=[ales.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Les ADS d’Alès</h1>" in page
    assert "de Alès" not in page
    assert re.search(
        r'<th scope="row" class="mesads-nowrap"><a href="[^"]+">ADS n° 2021-0042</a></th>', page
    )
    css = open(finders.find("css/mesads.css"), encoding="utf-8").read()
    assert ".mesads-nowrap { white-space: nowrap; }" in css


def test_the_mail_sending_an_ales_ads_back_says_d_ales(
    client,
    other_manager,
    prefecture_agent,
    ales_ads,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client.force_login(prefecture_agent)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("prefecture:send_back", args=[ales_ads.pk]),
            {"comment": "Le titulaire manque."},
        )

    [mail] = mailoutbox
    assert mail.subject == "[Mes ADS] L’ADS n° 2021-0042 d’Alès vous est renvoyée par la préfecture"
    assert "La préfecture vous renvoie l’ADS n° 2021-0042 d’Alès" in mail.body
