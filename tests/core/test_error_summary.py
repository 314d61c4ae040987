"""After a failed submit (issue 10, point 4): an error summary at the top lists each
error with a link to its field, the keyboard starts on it, the page title says
« Erreur : », and a field in error still announces its hint."""

import re

from django.urls import reverse

from tests.ads.test_ads_documents import post_document
from tests.ads.test_ads_edit import edit


def summary_of(page: str) -> list[tuple[str, str]]:
    block = page[page.index("data-error-summary") :]
    block = block[: block.index("</div>")]
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', block)


def test_a_manager_who_saves_a_wrong_ads_starts_on_the_list_of_its_errors(
    client, manager, complete_ads
):
    client.force_login(manager)

    response = edit(client, complete_ads, number="", creation_date="2099-13-45")

    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"<title>Erreur : Modifier l’ADS", page)
    links = summary_of(page)
    assert [anchor for anchor, _ in links][:2] == ["id_number", "id_creation_date"]
    assert links[0][1].startswith("Numéro de l’ADS : ")
    assert "Le formulaire contient 2 erreurs" in page
    # Every anchor is a field of the page, and the summary comes before the form.
    for anchor, _ in links:
        assert f'id="{anchor}"' in page
    assert page.index("data-error-summary") < page.index('id="id_number"')
    # The focus moves there: a script of ours, under the page's CSP nonce.
    assert re.search(r'<script src="/static/js/error_summary.js" nonce="[^"]+" defer>', page)


def test_a_drivers_error_names_the_driver(client, manager, complete_ads):
    client.force_login(manager)
    response = edit(client, complete_ads, **{"drivers-0-name": ""})
    labels = [label for _, label in summary_of(response.content.decode())]
    assert any(label.startswith("Conducteur 1 – ") for label in labels), labels


def test_a_page_without_errors_has_no_summary_and_a_plain_title(client, manager, complete_ads):
    client.force_login(manager)
    page = client.get(reverse("ads:edit", args=[complete_ads.pk])).content.decode()
    assert "data-error-summary" not in page
    assert "<title>Erreur" not in page


def test_a_refused_document_is_listed_too(client, manager, complete_ads):
    client.force_login(manager)
    response = post_document(client, complete_ads, content=b"not a pdf at all")
    page = response.content.decode()
    assert [anchor for anchor, _ in summary_of(page)] == ["id_file"]
    assert "<title>Erreur : " in page
