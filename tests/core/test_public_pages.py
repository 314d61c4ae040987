"""The pages anyone may read without logging in: a mairie or prefecture employee learns
what the register is and how to get in; the legal pages every State service publishes
(accessibility, legal notice, personal data), the regulation, the FAQ and the site map,
all reachable from the footer of every page."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

# url name, its <h1>, and the footer link that leads to it
PUBLIC_PAGES = [
    ("accessibility", "Déclaration d’accessibilité", "Accessibilité : partiellement conforme"),
    ("legal_notice", "Mentions légales", "Mentions légales"),
    ("personal_data", "Données personnelles", "Données personnelles"),
    ("regulation", "La réglementation des ADS", "La réglementation des ADS"),
    ("faq", "Questions fréquentes", "Questions fréquentes"),
    ("site_map", "Plan du site", "Plan du site"),
]
PAGE_IDS = [name for name, _, _ in PUBLIC_PAGES]


class _Page(HTMLParser):
    """The links of a page (by the region they sit in) and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, list[tuple[str, str, dict]]] = {"main": [], "footer": []}
        self.text: list[str] = []
        self._region: list[str] = []
        self._link: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("main", "footer"):
            self._region.append(tag)
        elif tag == "a":
            self._link = {"attrs": dict(attrs), "text": ""}

    def handle_endtag(self, tag):
        if tag in ("main", "footer") and self._region:
            self._region.pop()
        elif tag == "a" and self._link is not None:
            if self._region:
                text = " ".join(self._link["text"].split())
                href = self._link["attrs"].get("href", "")
                self.links[self._region[-1]].append((text, href, self._link["attrs"]))
            self._link = None

    def handle_data(self, data):
        if self._region:
            self.text.append(data)
        if self._link is not None:
            self._link["text"] += data


def _read(response) -> _Page:
    assert response.status_code == 200
    page = _Page()
    page.feed(response.content.decode())
    return page


def _main_text(page: _Page) -> str:
    return " ".join(" ".join(page.text).split())


@pytest.mark.parametrize(("name", "h1", "footer_label"), PUBLIC_PAGES, ids=PAGE_IDS)
def test_an_anonymous_visitor_reads_each_public_page(client, name, h1, footer_label):
    response = client.get(reverse(name))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert f"<h1>{h1}</h1>" in html
    assert f"<title>{h1} – Mes ADS</title>" in html
    # The breadcrumb: back to the home page, then this page.
    breadcrumb = re.search(r'<nav[^>]*class="fr-breadcrumb".*?</nav>', html, re.S).group()
    assert f'href="{reverse("home")}">Accueil</a>' in breadcrumb
    assert f'aria-current="page">{h1}</a>' in breadcrumb


@pytest.mark.parametrize(("name", "h1", "footer_label"), PUBLIC_PAGES, ids=PAGE_IDS)
def test_the_footer_of_the_home_page_links_each_public_page(client, name, h1, footer_label):
    page = _read(client.get(reverse("home")))

    assert (footer_label, reverse(name)) in [(text, href) for text, href, _ in page.links["footer"]]


def test_the_footer_says_which_page_you_are_on(client):
    page = _read(client.get(reverse("legal_notice")))

    current = [text for text, _, attrs in page.links["footer"] if attrs.get("aria-current")]
    assert current == ["Mentions légales"]


def test_a_logged_in_manager_finds_the_same_footer_links(client, manager):
    client.force_login(manager)

    page = _read(client.get(reverse("ads:authorities")))

    hrefs = [href for _, href, _ in page.links["footer"]]
    assert all(reverse(name) in hrefs for name in PAGE_IDS)


def test_the_home_page_tells_a_mairie_employee_how_to_get_access(client):
    page = _read(client.get(reverse("home")))
    text = _main_text(page)

    # What the register is, who must declare and why, who may use it.
    assert "registre national de ces autorisations" in text
    assert "loi n° 2019-1428 du 24 décembre 2019 d’orientation des mobilités (LOM)" in text
    assert "Une commune qui n’a délivré aucune ADS" in text
    assert "Les agents des préfectures" in text
    # The steps, in their order.
    steps = [
        "Créez votre compte",
        "Demandez l’accès à votre commune ou à votre EPCI",
        "« Demander un accès »",
        "La préfecture de votre département valide votre demande",
        "Déclarez vos ADS",
    ]
    positions = [text.find(step) for step in steps]
    assert -1 not in positions, dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions)
    # Where to learn more, in the page itself (not only in the footer), and whom to ask.
    main_links = {href: label for label, href, _ in page.links["main"]}
    assert main_links[reverse("regulation")] == "La réglementation des ADS"
    assert main_links[reverse("faq")] == "Questions fréquentes"
    assert reverse("login") in main_links
    assert "Qui contacter ?" in text
    assert "la préfecture de votre département" in text


def test_a_logged_in_user_gets_their_own_home_not_the_visitor_s_explanations(client, manager):
    client.force_login(manager)

    text = _main_text(_read(client.get(reverse("home"))))

    assert "Mes gestionnaires d’ADS" in text
    assert "Obtenir un accès, étape par étape" not in text


def test_the_contact_address_comes_from_the_settings_never_invented(client, settings):
    settings.CONTACT_EMAIL = ""
    html = client.get(reverse("home")).content.decode()
    assert "mailto:" not in html
    assert "l’équipe Mes ADS de la Direction générale des infrastructures" in html

    settings.CONTACT_EMAIL = "equipe@mesads.example"
    for name in ("home", "accessibility", "legal_notice", "personal_data", "faq"):
        html = client.get(reverse(name)).content.decode()
        assert '<a href="mailto:equipe@mesads.example">equipe@mesads.example</a>' in html, name


def test_the_legal_notice_names_the_publisher_and_a_configured_host(client, settings):
    settings.HOSTING_PROVIDER = ""
    text = _main_text(_read(client.get(reverse("legal_notice"))))
    assert "Direction générale des infrastructures, des transports et des mobilités" in text
    assert "Tour Séquoia 92055 La Défense cedex" in text
    assert "Le directeur général des infrastructures, des transports et des mobilités." in text
    assert "hébergé par l’opérateur désigné par la DGITM" in text

    settings.HOSTING_PROVIDER = "Hébergeur Exemple, 1 rue de l’Exemple, 75000 Paris"
    text = _main_text(_read(client.get(reverse("legal_notice"))))
    assert "hébergé par Hébergeur Exemple, 1 rue de l’Exemple, 75000 Paris." in text
    assert "opérateur désigné" not in text


def test_the_accessibility_statement_gives_the_level_and_the_recourse(client):
    text = _main_text(_read(client.get(reverse("accessibility"))))

    assert "partiellement conforme avec le référentiel général" in text
    assert "RGAA), version 4.1" in text
    assert "Non-conformités connues" in text
    assert "Retour d’information et contact" in text
    assert "Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07" in text


def test_the_personal_data_page_says_what_why_how_long_who_and_the_rights(client):
    text = _main_text(_read(client.get(reverse("personal_data"))))

    for expected in [
        "numéro SIRET",
        "numéro de leur carte professionnelle",
        "immatriculation",
        "les comptes des gestionnaires",
        "obligation légale",
        "Combien de temps",
        "le.taxi",
        "droit d’accès",
        "droit de rectification",
        "droit à la limitation du traitement",
        "Le droit d’opposition ne s’applique pas",
    ]:
        assert expected in text, expected


def test_the_regulation_page_explains_both_regimes(client):
    text = _main_text(_read(client.get(reverse("regulation"))))

    for expected in [
        "ADS créée avant le 1er octobre 2014",
        "loi Thévenoud",
        "Valable 5 ans, renouvelable",
        "après quinze ans d’exploitation effective depuis sa délivrance, "
        "ou cinq ans après un premier transfert",
        "ne se transfère jamais",
        "en principe dans un délai de trois mois",
    ]:
        assert expected in text, expected


def test_the_faq_answers_real_questions_of_managers(client):
    html = client.get(reverse("faq")).content.decode()

    questions = re.findall(r"<h3>(.*?)</h3>", html)
    assert 8 <= len(questions) <= 10
    assert "Notre commune n’a délivré aucune ADS : devons-nous faire quelque chose ?" in questions


def test_the_site_map_links_every_public_page(client):
    page = _read(client.get(reverse("site_map")))

    hrefs = [href for _, href, _ in page.links["main"]]
    for name in ["home", "login", "password_reset", "api:documentation", *PAGE_IDS]:
        assert reverse(name) in hrefs, name
    # Re-users find the API's documentation from every page.
    assert reverse("api:documentation") in [href for _, href, _ in page.links["footer"]]
    # A visitor is not sent to pages that would only ask them to log in.
    assert reverse("ads:authorities") not in hrefs


def test_the_site_map_of_a_logged_in_user_lists_their_main_entries(
    client, manager, prefecture_agent
):
    client.force_login(manager)
    hrefs = [href for _, href, _ in _read(client.get(reverse("site_map"))).links["main"]]
    for name in ["ads:authorities", "access:search", "exchange:index", "profile"]:
        assert reverse(name) in hrefs, name
    assert reverse("prefecture:index") not in hrefs

    client.force_login(prefecture_agent)
    hrefs = [href for _, href, _ in _read(client.get(reverse("site_map"))).links["main"]]
    assert reverse("prefecture:index") in hrefs
    assert reverse("access:requests") in hrefs


@pytest.mark.parametrize("name", ["home", *PAGE_IDS])
def test_public_pages_use_typographic_apostrophes(client, name):
    text = _main_text(_read(client.get(reverse(name))))

    assert "'" not in text
