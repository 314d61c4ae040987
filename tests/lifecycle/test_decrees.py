"""Decrees prepared from the register, as the mairie's manager lives it.

From the ADS page, « Préparer un arrêté »: the manager downloads a Word document filled
in from the record (authority, legal references for the ADS's regime, number, holder,
dates), has it signed, then files the signed PDF with the ADS's documents. National
staff may replace each shipped template in the admin; a file that is not a template
that renders is refused.
"""

import datetime
import importlib.util
import io
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from docx import Document

from mesads.ads.models import ADS, AuthorityDecree, Driver
from mesads.lifecycle import decrees
from mesads.lifecycle.models import DecreeTemplate, Transfer

pytestmark = pytest.mark.django_db

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ROOT = Path(__file__).resolve().parents[2]


def docx_text(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == DOCX
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]
    document = Document(io.BytesIO(response.content))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    # Every field was filled: no Jinja tag is left for the signatory to find.
    assert "{{" not in text and "{%" not in text
    return text


def download(client, ads: ADS, kind: str):
    return client.get(reverse("lifecycle:ads_decree_docx", args=[ads.pk, kind]))


@pytest.fixture
def new_ads(nimes) -> ADS:
    """A new-regime ADS (created after 1 October 2014), operated by its holder."""
    ads = ADS.objects.create(
        authority=nimes,
        number="A-7",
        creation_date=datetime.date(2019, 6, 3),
        holder_name="Léa Dubois",
        holder_siret="44306184100047",
        vehicle_plate="EF-456-GH",
        vehicle_pmr=True,
        vehicle_low_emission=True,
    )
    Driver.objects.create(
        ads=ads, status=Driver.Status.TITULAIRE, name="Léa Dubois", card_number="CP-30-7"
    )
    return ads


def test_the_ads_page_offers_the_decrees_to_its_manager_only(
    client, manager, inspector, complete_ads
):
    client.force_login(manager)
    page = client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode()
    assert '<h2 class="fr-h4">Actes</h2>' in page
    for kind in ("attribution", "cession", "retrait"):
        assert reverse("lifecycle:ads_decree", args=[complete_ads.pk, kind]) in page
    # An old-regime ADS is not renewed.
    assert reverse("lifecycle:ads_decree", args=[complete_ads.pk, "renouvellement"]) not in page
    assert reverse("lifecycle:transfer_create", args=[complete_ads.pk]) in page

    client.force_login(inspector)
    page = client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode()
    assert "Préparer un arrêté" not in page


def test_the_decree_page_says_what_is_filled_in_and_links_to_the_upload(
    client, manager, complete_ads
):
    client.force_login(manager)
    response = client.get(reverse("lifecycle:ads_decree", args=[complete_ads.pk, "attribution"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Arrêté d’attribution d’une ADS – ADS n° 12</h1>" in page
    assert "Le Maire de Nîmes" in page
    assert "Taxi Arènes SARL" in page
    assert reverse("lifecycle:ads_decree_docx", args=[complete_ads.pk, "attribution"]) in page
    # The signed decree is filed as any document of the ADS.
    assert reverse("ads:document_create", args=[complete_ads.pk]) in page


def test_attribution_of_an_old_regime_ads_cites_the_transfer_articles(
    client, manager, complete_ads
):
    client.force_login(manager)
    text = docx_text(download(client, complete_ads, "attribution"))
    assert text.startswith(
        "NÎMES\nArrêté n° ………\nportant attribution de l’autorisation de stationnement de taxi n° 12"
    )
    assert "Le Maire de Nîmes," in text
    assert "Vu le code des transports, notamment ses articles L. 3121-1 à L. 3121-5 ;" in text
    assert "Vu la loi n° 2014-1104 du 1er octobre 2014" in text
    assert "Arrête :" in text and "Article 1er" in text
    assert (
        "L’autorisation de stationnement de taxi n° 12, créée le 1er mars 2005, est attribuée à "
        "compter du 1er juin 2012 à Taxi Arènes SARL (SIRET 732 829 320 00074)"
    ) in text
    assert "délivrée avant le 1er octobre 2014, n’est pas limitée dans le temps" in text
    assert "présenter à titre onéreux un successeur" in text
    assert "article L. 3121-2 du code des transports" in text
    # Nothing of the new regime.
    assert "cinq ans" not in text and "incessible" not in text and "liste d’attente" not in text
    assert "Fait à Nîmes, le ………" in text


def test_attribution_and_renewal_of_a_new_regime_ads(client, manager, new_ads):
    client.force_login(manager)
    text = docx_text(download(client, new_ads, "attribution"))
    assert (
        "n° A-7, créée le 3 juin 2019, est attribuée à compter du 3 juin 2019 à Léa Dubois" in text
    )
    assert "personnelle et incessible" in text
    assert "pour une durée de cinq ans renouvelable" in text
    assert "Vu la liste d’attente" in text and "article L. 3121-5 du code des transports" in text
    assert "Elle est valable jusqu’au 3 juin 2024, sauf renouvellement." in text
    # The articles of the new regime: not transferable, five years (L. 3121-2), operated
    # by its holder (L. 3121-1-2); nothing of the old regime's successor for a price.
    assert (
        "pour une durée de cinq ans renouvelable, en application de l’article L. 3121-2 du "
        "code des transports, et exploitée personnellement par son titulaire, conformément "
        "à l’article L. 3121-1-2 du même code."
    ) in text
    assert "à titre onéreux" not in text and "successeur" not in text

    new_ads.last_renewal_date = datetime.date(2024, 5, 2)
    new_ads.save()
    text = docx_text(download(client, new_ads, "renouvellement"))
    assert "portant renouvellement de l’autorisation de stationnement de taxi n° A-7" in text
    assert (
        "est renouvelée pour une durée de cinq ans à compter du 2 mai 2024, soit jusqu’au "
        "2 mai 2029."
    ) in text
    assert "personnelle et incessible" in text
    assert "en application de l’article L. 3121-2 du code des transports" in text
    assert "article L. 3121-1-2" in text


def test_the_signed_decree_is_filed_under_its_kind(client, manager, new_ads):
    """« Déposer l’arrêté signé » opens the ADS's upload form with the decree's kind chosen."""
    client.force_login(manager)
    page = client.get(reverse("lifecycle:ads_decree", args=[new_ads.pk, "renouvellement"]))
    upload = reverse("ads:document_create", args=[new_ads.pk]) + "?type=renewal"
    assert f'href="{upload}"' in page.content.decode()
    form = client.get(upload).context["form"]
    assert form["kind"].value() == "renewal"
    # An unknown kind chooses nothing.
    form = client.get(reverse("ads:document_create", args=[new_ads.pk]) + "?type=x").context["form"]
    assert form["kind"].value() is None


def test_a_decree_that_does_not_fit_the_regime_is_not_prepared(
    client, manager, complete_ads, new_ads
):
    client.force_login(manager)
    response = client.get(reverse("lifecycle:ads_decree", args=[complete_ads.pk, "renouvellement"]))
    assert (
        "Seule une ADS créée à partir du 1er octobre 2014 se renouvelle"
        in response.content.decode()
    )
    response = download(client, complete_ads, "renouvellement")
    assert response.status_code == 302
    assert response.url == reverse("lifecycle:ads_decree", args=[complete_ads.pk, "renouvellement"])
    response = client.get(reverse("lifecycle:ads_decree", args=[new_ads.pk, "cession"]))
    assert "est incessible : il n’y a pas d’arrêté de cession" in response.content.decode()
    assert (
        client.get(reverse("lifecycle:ads_decree", args=[new_ads.pk, "autre"])).status_code == 404
    )


def test_the_transfer_decree_names_seller_and_buyer_from_the_register(
    client, manager, complete_ads
):
    client.force_login(manager)
    page = client.get(reverse("lifecycle:ads_decree", args=[complete_ads.pk, "cession"]))
    assert "Aucune cession de cette ADS n’est inscrite" in page.content.decode()
    Transfer.objects.create(
        ads=complete_ads,
        authority=complete_ads.authority,
        date=datetime.date(2026, 11, 2),
        seller_name="Jean Martin",
        seller_siret="73282932000074",
        buyer_name="Taxi Gardois",
        buyer_siret="44306184100047",
        price=120000,
    )
    text = docx_text(download(client, complete_ads, "cession"))
    assert "dont était titulaire Jean Martin (SIRET 732 829 320 00074)" in text
    assert (
        "transférée à compter du 2 novembre 2026 à Taxi Gardois (SIRET 443 061 841 00047)" in text
    )
    assert "Vu le registre des transactions tenu en application de l’article L. 3121-4" in text
    assert "successeur présenté à titre onéreux en application de l’article L. 3121-2" in text


def test_withdrawal_decree(client, manager, complete_ads):
    client.force_login(manager)
    text = docx_text(download(client, complete_ads, "retrait"))
    assert "portant retrait de l’autorisation de stationnement de taxi n° 12" in text
    assert "dont est titulaire Taxi Arènes SARL (SIRET 732 829 320 00074), est retirée" in text
    assert "Considérant ……… (motifs du retrait) ;" in text


def test_names_with_markup_characters_do_not_break_the_document(client, manager, nimes):
    ads = ADS.objects.create(
        authority=nimes,
        number="<3>",
        creation_date=datetime.date(2001, 1, 1),
        holder_name='Taxi & Fils <Nîmes> "L\'Arène"',
    )
    client.force_login(manager)
    text = docx_text(download(client, ads, "attribution"))
    assert "n° <3>" in text
    assert 'à Taxi & Fils <Nîmes> "L\'Arène" (SIRET ……)' in text


def test_the_count_decree_is_filled_in_with_the_number_asked(client, manager, nimes, complete_ads):
    client.force_login(manager)
    url = reverse("lifecycle:authority_count_decree", args=[nimes.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert 'value="1"' in response.content.decode()  # proposed: the ADS in the register

    text = docx_text(client.get(url, {"count": "14"}))
    assert "fixant le nombre d’autorisations de stationnement de taxi" in text
    assert (
        "Le nombre d’autorisations de stationnement de taxi offertes sur le territoire de "
        "Nîmes est fixé à 14."
    ) in text
    assert "Considérant que 1 autorisation de stationnement est inscrite au registre" in text
    assert "abrogé" not in text

    AuthorityDecree.objects.create(
        authority=nimes, date=datetime.date(2020, 1, 6), ads_count=12, original_name="a.pdf"
    )
    text = docx_text(client.get(url, {"count": "14"}))
    assert "Vu l’arrêté du 6 janvier 2020 fixant à 12 le nombre d’autorisations" in text
    assert (
        "L’arrêté du 6 janvier 2020 fixant à 12 le nombre d’autorisations de stationnement de "
        "taxi est abrogé."
    ) in text
    assert "Article 3" in text


def test_a_wrong_number_is_said_on_its_field(client, manager, nimes):
    client.force_login(manager)
    url = reverse("lifecycle:authority_count_decree", args=[nimes.pk])
    for value, message in (
        ("-2", "Le nombre d’ADS ne peut pas être négatif."),
        ("douze", "Indiquez un nombre entier, sans espace ni virgule."),
    ):
        response = client.get(url, {"count": value})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert response.context["form"].errors == {"count": [message]}


# --- national staff replace a template ------------------------------------------------------


def _docx(*lines: str) -> bytes:
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def _upload(client, kind: str, content: bytes, name: str = "modele.docx"):
    return client.post(
        reverse("admin:lifecycle_decreetemplate_add"),
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
    )


def test_a_template_replaced_in_the_admin_is_used(client, staff, manager, complete_ads):
    client.force_login(staff)
    response = _upload(
        client,
        "attribution",
        _docx("ARRÊTÉ MUNICIPAL {{ autorite_majuscules }}", "Titulaire : {{ titulaire_nom }}"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    template = DecreeTemplate.objects.get()
    assert template.uploaded_by == staff

    client.force_login(manager)
    text = docx_text(download(client, complete_ads, "attribution"))
    assert text == "ARRÊTÉ MUNICIPAL NÎMES\nTitulaire : Taxi Arènes SARL"
    # The other kinds keep the shipped template.
    assert "portant retrait" in docx_text(download(client, complete_ads, "retrait"))

    # Deleting the uploaded template brings the shipped one back.
    template.delete()
    assert "portant attribution" in docx_text(download(client, complete_ads, "attribution"))


def test_staff_start_from_the_shipped_template(client, staff):
    client.force_login(staff)
    page = client.get(reverse("admin:lifecycle_decreetemplate_add")).content.decode()
    url = reverse("lifecycle:shipped_template", args=["retrait"])
    assert url in page
    response = client.get(url)
    assert response["Content-Disposition"] == 'attachment; filename="modele-retrait.docx"'
    text = "\n".join(
        p.text for p in Document(io.BytesIO(b"".join(response.streaming_content))).paragraphs
    )
    assert "{{ titulaire_nom }}" in text


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-1.4\n%%EOF\n", "modele.docx", "Ce fichier n’est pas un document Word (.docx)"),
        (_docx("{{ titulaire_nom }", "x"), "modele.docx", "Ce modèle ne peut pas être rempli"),
        (_docx("{{ nom_du_maire }}"), "modele.docx", "Ce modèle ne peut pas être rempli"),
        # Jinja's sandbox: a template cannot reach Python's internals.
        (_docx("{{ visas.__class__.__mro__ }}"), "m.docx", "Ce modèle ne peut pas être rempli"),
    ],
    ids=["pdf", "syntax", "unknown-field", "sandbox"],
)
def test_an_invalid_template_is_refused(client, staff, content, name, message):
    client.force_login(staff)
    response = _upload(client, "attribution", content, name)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["file"]
    assert any(message in error for error in errors), errors
    assert not DecreeTemplate.objects.exists()


def test_uploaded_templates_are_tried_with_the_fields_decrees_really_have(complete_ads):
    """The sample an upload is checked with has exactly the fields of a real decree."""
    assert set(decrees.sample_context("attribution")) == set(decrees.ads_context(complete_ads))
    assert set(decrees.sample_context("nombre")) == set(
        decrees.count_context(complete_ads.authority, 3)
    )


def test_the_shipped_templates_are_what_the_script_makes():
    spec = importlib.util.spec_from_file_location(
        "make_decree_templates", ROOT / "scripts" / "make_decree_templates.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for kind in DecreeTemplate.Kind.values:
        assert (script.OUTPUT / f"{kind}.docx").read_bytes() == script.build(kind), kind


def test_decree_generation_time(complete_ads, capsys):
    """Printed in the closing note: the time to fill in one decree (a figure, not a bound:
    it measures the machine). Filling in the same decree again gives the same text."""
    rounds = 20
    started = time.perf_counter()
    documents = [decrees.render_ads_decree(complete_ads, "attribution") for _ in range(rounds)]
    per_docx = (time.perf_counter() - started) * 1000 / rounds
    with capsys.disabled():
        print(f"\ndecree generation: {per_docx:.1f} ms per docx ({rounds} rounds)")
    texts = {
        "\n".join(p.text for p in Document(io.BytesIO(document)).paragraphs)
        for document in documents
    }
    assert len(texts) == 1 and "{{" not in next(iter(texts))


def test_the_authority_name_is_elided_as_french_writes_it(client, other_manager, ales):
    client.force_login(other_manager)
    url = reverse("lifecycle:authority_count_decree", args=[ales.pk])
    text = docx_text(client.get(url, {"count": "3"}))
    assert "Le Maire d’Alès," in text
    assert "sur le territoire d’Alès est fixé à 3." in text
    assert "0 autorisation de stationnement est inscrite" in text
