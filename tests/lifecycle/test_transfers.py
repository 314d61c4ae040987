"""The register of transfers, as the mairie, the prefecture and national staff live it.

The holder of an ADS issued before 1 October 2014 presents a successor for a price after
fifteen years (five once it has been transferred); the manager records the transfer from
the ADS page: the register gains a line, the ADS its new holder and attribution date, in
one revision of its history. A new-regime ADS, or one still in its holding period, is
refused with the reason on the field. The prefecture reads and exports the register of
its département; national staff follow the median declared price by département.
"""

import datetime
import io
import re
import zipfile
from decimal import Decimal

import pytest
import reversion
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from docx import Document
from reversion.models import Version

from mesads.ads.models import ADS, Driver
from mesads.lifecycle.forms import TransferForm
from mesads.lifecycle.models import Transfer
from mesads.lifecycle.services import record_transfer

pytestmark = pytest.mark.django_db

BUYER_SIRET = "44306184100047"


def years_ago(years: int, days: int = 0) -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - datetime.timedelta(days=days)


@pytest.fixture
def old_ads(nimes) -> ADS:
    """Issued in 2008 to its holder, who never sold it: past the fifteen years."""
    ads = ADS.objects.create(
        authority=nimes,
        number="21",
        creation_date=years_ago(18),
        holder_name="Jean Martin",
        holder_siret="73282932000074",
        holder_phone="0466000000",
        holder_email="jean.martin@example.fr",
        vehicle_plate="AB-123-CD",
        vehicle_pmr=False,
        vehicle_low_emission=False,
    )
    Driver.objects.create(
        ads=ads, status=Driver.Status.TITULAIRE, name="Jean Martin", card_number="CP-1"
    )
    with reversion.create_revision():
        reversion.add_to_revision(ads)
        reversion.set_comment("Reprise du registre papier")
    return ads


def transfer_data(**changes) -> dict[str, str]:
    return {
        "date": (timezone.localdate() - datetime.timedelta(days=3)).isoformat(),
        "buyer_name": "Taxi Gardois SARL",
        "buyer_siret": "443 061 841 00047",
        "price": "135000",
        **changes,
    }


def post_transfer(client, ads: ADS, **changes):
    return client.post(
        reverse("lifecycle:transfer_create", args=[ads.pk]), transfer_data(**changes)
    )


def revisions_of(ads: ADS) -> int:
    return Version.objects.get_for_object(ads).count()


def test_a_transfer_hands_the_ads_to_its_buyer_in_one_revision(client, manager, old_ads):
    client.force_login(manager)
    page = client.get(reverse("lifecycle:transfer_create", args=[old_ads.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "<h1>Enregistrer la cession de l’ADS n° 21</h1>" in content
    assert "Cédant (titulaire actuel)</dt><dd>Jean Martin – SIRET 73282932000074" in content
    assert "après 15 ans d’exploitation effective et continue" in content
    before = revisions_of(old_ads)

    response = post_transfer(client, old_ads)

    assert response.status_code == 302
    assert response.url == reverse("lifecycle:ads_decree", args=[old_ads.pk, "cession"])
    transfer = Transfer.objects.get()
    day = timezone.localdate() - datetime.timedelta(days=3)
    assert (transfer.date, transfer.seller_name, transfer.seller_siret) == (
        day,
        "Jean Martin",
        "73282932000074",
    )
    assert (transfer.buyer_name, transfer.buyer_siret, transfer.price) == (
        "Taxi Gardois SARL",
        BUYER_SIRET,
        Decimal("135000"),
    )
    assert (transfer.authority, transfer.created_by) == (old_ads.authority, manager)
    old_ads.refresh_from_db()
    assert (old_ads.holder_name, old_ads.holder_siret, old_ads.attribution_date) == (
        "Taxi Gardois SARL",
        BUYER_SIRET,
        day,
    )
    # The seller's contact details left with the seller.
    assert (old_ads.holder_phone, old_ads.holder_email) == ("", "")
    assert old_ads.substantive_change_at is not None
    assert revisions_of(old_ads) == before + 1

    history = client.get(reverse("ads:history", args=[old_ads.pk])).content.decode()
    assert "Camille : Cession de l’ADS à Taxi Gardois SARL" in history
    assert "<td>Nom du titulaire</td><td>Jean Martin</td><td>Taxi Gardois SARL</td>" in history

    # The transfer decree is offered, filled in from the register.
    decree = client.get(reverse("lifecycle:ads_decree_docx", args=[old_ads.pk, "cession"]))
    text = "\n".join(p.text for p in Document(io.BytesIO(decree.content)).paragraphs)
    assert "dont était titulaire Jean Martin (SIRET 732 829 320 00074)" in text
    assert "à Taxi Gardois SARL (SIRET 443 061 841 00047)" in text


def test_a_new_regime_ads_is_never_transferred(client, manager, nimes):
    ads = ADS.objects.create(
        authority=nimes, number="N-1", creation_date=datetime.date(2015, 2, 1), holder_name="Léa"
    )
    client.force_login(manager)
    page = client.get(reverse("lifecycle:transfer_create", args=[ads.pk])).content.decode()
    assert "Cette ADS ne peut pas être cédée" in page
    assert "Enregistrer la cession</button>" not in page

    response = post_transfer(client, ads)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Une ADS créée à partir du 1er octobre 2014 est incessible : elle ne peut pas être "
        "transférée à un successeur. Elle prend fin ou est renouvelée."
    ]
    assert not Transfer.objects.exists()
    ads.refresh_from_db()
    assert ads.holder_name == "Léa"


def test_before_the_holding_period_the_date_is_refused(client, manager, old_ads):
    # Attributed to its holder ten years ago: fifteen years are needed.
    old_ads.attribution_date = years_ago(10)
    old_ads.save()
    client.force_login(manager)
    before = revisions_of(old_ads)

    response = post_transfer(client, old_ads)

    end = years_ago(-5)
    assert response.context["form"].errors["date"] == [
        f"La cession n’est possible qu’à partir du {end:%d/%m/%Y} : le titulaire doit avoir "
        f"exploité l’ADS 15 ans depuis le {years_ago(10):%d/%m/%Y}, date de sa délivrance. "
        "S’il l’a lui-même acquise par une cession, cochez la case prévue : le délai est "
        "alors de 5 ans. Si le titulaire est définitivement inapte, en redressement ou en "
        "liquidation judiciaire, ou décédé, choisissez l’exception prévue à l’article "
        "L. 3121-3 : ce délai ne s’applique pas."
    ]
    assert not Transfer.objects.exists()
    assert revisions_of(old_ads) == before

    # The holder bought it ten years ago: five years suffice.
    response = post_transfer(client, old_ads, acquired_by_transfer="on")
    assert response.status_code == 302
    assert Transfer.objects.count() == 1


def test_five_years_after_a_recorded_transfer(client, manager, old_ads):
    client.force_login(manager)
    assert post_transfer(client, old_ads).status_code == 302
    old_ads.refresh_from_db()

    response = post_transfer(client, old_ads, buyer_name="Autre", buyer_siret="35600000000048")

    errors = response.context["form"].errors["date"]
    assert (
        "5 ans depuis le " + f"{old_ads.attribution_date:%d/%m/%Y}, date de la précédente cession."
    ) in errors[0]
    assert Transfer.objects.count() == 1
    # The box that says the holder bought it is not asked: the register knows.
    assert "acquired_by_transfer" not in response.context["form"].fields


# --- exceptions to the holding period (L. 3121-3) -------------------------------------------


@pytest.mark.parametrize(
    ("exception", "label", "by"),
    [
        ("inaptitude", "Inaptitude définitive du titulaire", "le titulaire"),
        ("redressement_liquidation", "Redressement ou liquidation judiciaire", "le titulaire"),
        (
            "deces",
            "Décès du titulaire (successeur présenté par les ayants droit)",
            "les ayants droit du titulaire",
        ),
    ],
)
def test_an_exception_of_article_l3121_3_lifts_the_holding_period(
    client, manager, prefecture_agent, old_ads, exception, label, by
):
    """Attributed to its holder three years ago, the ADS is transferred at once because
    the holder is definitively unfit, insolvent or dead: the register, its export, the
    decree and the history say under which exception."""
    old_ads.attribution_date = years_ago(3)
    old_ads.save()
    client.force_login(manager)
    page = client.get(reverse("lifecycle:transfer_create", args=[old_ads.pk])).content.decode()
    assert "Exception au délai de détention (article L. 3121-3)" in page
    assert "en cas d’inaptitude définitive du titulaire, de redressement ou de liquidation " in page
    assert "dans un délai d’un an à compter du décès" in page
    assert f'<option value="{exception}">{label}</option>' in page
    assert post_transfer(client, old_ads).context["form"].errors["date"]

    response = post_transfer(client, old_ads, exception=exception)

    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert (transfer.exception, transfer.buyer_name) == (exception, "Taxi Gardois SARL")
    old_ads.refresh_from_db()
    assert old_ads.holder_name == "Taxi Gardois SARL"
    history = client.get(reverse("ads:history", args=[old_ads.pk])).content.decode()
    assert (
        "Cession de l’ADS à Taxi Gardois SARL – sans délai de détention, article L. 3121-3 : "
        f"{label[0].lower()}{label[1:]}"
    ) in history

    decree = client.get(reverse("lifecycle:ads_decree_docx", args=[old_ads.pk, "cession"]))
    text = "\n".join(p.text for p in Document(io.BytesIO(decree.content)).paragraphs)
    named = f"{label[0].lower()}{label[1:]}"
    assert (
        f"Vu la présentation d’un successeur par {by} de l’autorisation, sans condition de "
        "durée d’exploitation, en application de l’article L. 3121-3 du code des transports, "
        f"au titre de l’exception : {named} ;"
    ) in text
    assert (
        "successeur présenté à titre onéreux en application des articles L. 3121-2 et "
        f"L. 3121-3 du code des transports, sans condition de durée d’exploitation ({named})."
    ) in text
    page = client.get(reverse("lifecycle:ads_decree", args=[old_ads.pk, "cession"]))
    assert f"<dd>{label} (article L. 3121-3 du code des transports)</dd>" in page.content.decode()

    client.force_login(prefecture_agent)
    register = client.get(reverse("lifecycle:departement_transfers", args=["30"]))
    assert "Exception au délai (art. L. 3121-3)</th>" in register.content.decode()
    assert f"<td>{label}</td>" in register.content.decode()
    export = client.get(reverse("lifecycle:departement_transfers_export", args=["30"]))
    with zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content))) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert "<t>Exception au délai (article L. 3121-3)</t>" in sheet
    assert f"<t>{label}</t>" in sheet


def test_a_transfer_without_exception_says_none_in_the_register(client, manager, old_ads):
    client.force_login(manager)
    assert post_transfer(client, old_ads).status_code == 302
    assert Transfer.objects.get().exception == ""
    page = client.get(reverse("lifecycle:authority_transfers", args=[old_ads.authority_id]))
    assert "<td>—</td>" in page.content.decode()
    history = client.get(reverse("ads:history", args=[old_ads.pk])).content.decode()
    assert "article L. 3121-3" not in history
    decree = client.get(reverse("lifecycle:ads_decree_docx", args=[old_ads.pk, "cession"]))
    text = "\n".join(p.text for p in Document(io.BytesIO(decree.content)).paragraphs)
    assert "L. 3121-3" not in text
    assert "successeur présenté à titre onéreux en application de l’article L. 3121-2" in text


def test_an_exception_does_not_make_a_new_regime_ads_transferable(client, manager, nimes):
    ads = ADS.objects.create(
        authority=nimes, number="N-2", creation_date=datetime.date(2015, 2, 1), holder_name="Léa"
    )
    client.force_login(manager)

    response = post_transfer(client, ads, exception="deces")

    assert "est incessible" in response.context["form"].non_field_errors()[0]
    assert not Transfer.objects.exists()


def test_with_an_exception_the_date_still_follows_the_holder_s_own(client, manager, old_ads):
    old_ads.attribution_date = years_ago(3)
    old_ads.save()
    client.force_login(manager)

    response = post_transfer(client, old_ads, exception="inaptitude", date=years_ago(4).isoformat())

    assert response.context["form"].errors["date"] == [
        f"La cession ne peut pas précéder le {years_ago(3):%d/%m/%Y}, date à laquelle le "
        "titulaire actuel a reçu l’ADS."
    ]
    response = post_transfer(client, old_ads, exception="autre")
    assert "exception" in response.context["form"].errors
    assert not Transfer.objects.exists()


def test_the_exception_is_checked_again_on_the_locked_row(manager, old_ads):
    """The exception is on the transfer: the locked row's check keeps it (no holding
    period), and without it the same transfer is refused there."""
    old_ads.attribution_date = years_ago(3)
    old_ads.save()
    form = TransferForm(transfer_data(exception="deces"), ads=old_ads)
    assert form.is_valid(), form.errors
    form.instance.exception = ""
    with pytest.raises(ValidationError) as refused:
        record_transfer(form.instance, manager)
    assert "date" in refused.value.message_dict
    assert not Transfer.objects.exists()

    form.instance.exception = Transfer.HoldingException.DEATH
    record_transfer(form.instance, manager)
    assert Transfer.objects.get().exception == "deces"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"buyer_siret": "12345678901234"}, "buyer_siret", "Ce numéro SIRET n’est pas valide"),
        ({"buyer_siret": "123"}, "buyer_siret", "Le SIRET doit comporter exactement 14 chiffres"),
        ({"buyer_siret": "73282932000074"}, "buyer_siret", "Ce SIRET est celui du titulaire"),
        ({"price": "-1"}, "price", "supérieure ou égale à 0"),
        ({"price": ""}, "price", "obligatoire"),
        ({"buyer_name": " "}, "buyer_name", "obligatoire"),
        ({"date": "2999-01-01"}, "date", "Cette date ne peut pas être dans le futur."),
    ],
    ids=[
        "siret-key",
        "siret-length",
        "siret-seller",
        "price-negative",
        "price-missing",
        "buyer-missing",
        "future",
    ],
)
def test_bad_input_is_said_on_its_field_and_nothing_is_written(
    client, manager, old_ads, changes, field, message
):
    client.force_login(manager)
    response = post_transfer(client, old_ads, **changes)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert not Transfer.objects.exists()
    old_ads.refresh_from_db()
    assert old_ads.holder_name == "Jean Martin"


def test_read_only_roles_and_other_authorities_cannot_record_a_transfer(
    client, inspector, prefecture_agent, other_manager, old_ads
):
    for user, status in ((inspector, 403), (prefecture_agent, 403), (other_manager, 404)):
        client.force_login(user)
        assert post_transfer(client, old_ads).status_code == status
    assert not Transfer.objects.exists()


def test_the_rules_are_checked_again_on_the_locked_row(manager, old_ads):
    """A transfer recorded between the form's check and its save: the second is refused."""
    form = TransferForm(transfer_data(), ads=old_ads)
    assert form.is_valid()
    other = TransferForm(
        transfer_data(buyer_name="Premier", buyer_siret="35600000000048"),
        ads=ADS.objects.get(pk=old_ads.pk),
    )
    assert other.is_valid()
    record_transfer(other.instance, manager)

    with pytest.raises(ValidationError) as refused:
        record_transfer(form.instance, manager)

    assert "date" in refused.value.message_dict
    assert Transfer.objects.count() == 1
    assert ADS.objects.get(pk=old_ads.pk).holder_name == "Premier"


# --- the registers --------------------------------------------------------------------------


def _transfers(authority, count: int, price: int = 100_000, start: int = 0) -> None:
    for index in range(start, start + count):
        ads = ADS.objects.create(
            authority=authority,
            number=f"T{index}",
            creation_date=datetime.date(2000, 1, 1),
            holder_name=f"Acheteur {index}",
        )
        Transfer.objects.create(
            ads=ads,
            authority=authority,
            date=datetime.date(2025, 1, 1) + datetime.timedelta(days=index),
            seller_name=f"Vendeur {index}",
            buyer_name=f"Acheteur {index}",
            buyer_siret=BUYER_SIRET,
            price=price + index * 1000,
        )


def test_the_authority_register_lists_its_transfers_without_a_query_per_row(
    client, manager, nimes, ales, django_assert_max_num_queries
):
    _transfers(nimes, 3)
    _transfers(ales, 1, start=10)
    client.force_login(manager)
    url = reverse("lifecycle:authority_transfers", args=[nimes.pk])
    with django_assert_max_num_queries(12) as few:
        response = client.get(url)
    page = response.content.decode()
    assert "<h1>Registre des cessions de Nîmes</h1>" in page
    assert page.count("<h1") == 1
    assert "3 cessions inscrites" in page
    assert "<caption>Cessions d’ADS, page 1 sur 1</caption>" in page
    assert "Vendeur 2" in page and "Acheteur 0" in page
    assert "Vendeur 10" not in page  # Alès'
    assert re.search(r"102[\s\u202f\xa0.]000,00 €", page)

    _transfers(nimes, 20, start=20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert "23 cessions inscrites" in response.content.decode()


def test_the_prefecture_reads_and_exports_the_register_of_its_departement(
    client, prefecture_agent, inspector, other_prefecture_agent, nimes, ales, montpellier
):
    _transfers(nimes, 2)
    _transfers(ales, 1, start=5)
    _transfers(montpellier, 1, start=9)
    # A buyer whose name a spreadsheet would take for a formula.
    Transfer.objects.filter(buyer_name="Acheteur 5").update(buyer_name='=HYPERLINK("x")')
    for user in (prefecture_agent, inspector):
        client.force_login(user)
        page = client.get(reverse("lifecycle:departement_transfers", args=["30"])).content.decode()
        assert "<h1>Cessions d’ADS du département Gard (30)</h1>" in page
        assert "3 cessions inscrites" in page
        assert "Nîmes" in page and "Alès" in page and "Vendeur 9" not in page

        response = client.get(reverse("lifecycle:departement_transfers_export", args=["30"]))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="cessions-30-')
        with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as workbook:
            sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        assert "<t>Prix déclaré (€)</t>" in sheet
        assert sheet.count('<row r="') == 4  # the header and three transfers
        assert "<t>Vendeur 0</t>" in sheet and "Vendeur 9" not in sheet
        assert "<v>105000.0</v>" in sheet  # a number, not text
        # Formula-looking text is kept as text (Excel's quote prefix, style 4).
        assert re.search(r'<c r="H\d+" t="inlineStr" s="4"><is><t>=HYPERLINK\("x"\)</t>', sheet)

    client.force_login(other_prefecture_agent)
    assert client.get(reverse("lifecycle:departement_transfers", args=["30"])).status_code == 404


def test_the_authority_export(client, manager, nimes):
    _transfers(nimes, 2)
    client.force_login(manager)
    response = client.get(reverse("lifecycle:authority_transfers_export", args=[nimes.pk]))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count('<row r="') == 3
    # Newest first, dates as dates.
    assert sheet.index("Vendeur 1") < sheet.index("Vendeur 0")
    assert '<c r="A2" s="2"><v>45659</v></c>' in sheet  # 2 January 2025


# --- national staff ----------------------------------------------------------------------


def test_staff_see_the_median_price_by_departement(
    client, staff, nimes, ales, montpellier, django_assert_num_queries
):
    # Gard: 90,000 / 100,000 / 150,000 / 200,000 → 125,000; Hérault: one sale.
    _transfers(nimes, 1, price=90_000, start=0)
    _transfers(nimes, 1, price=100_000 - 1000, start=1)
    _transfers(ales, 1, price=150_000 - 2000, start=2)
    _transfers(ales, 1, price=200_000 - 3000, start=3)
    _transfers(montpellier, 1, price=50_000 - 4000, start=4)
    with django_assert_num_queries(1):
        rows = Transfer.objects.median_prices_by_departement()
    assert rows == [
        {"code": "30", "name": "Gard", "count": 4, "median": Decimal("125000")},
        {"code": "34", "name": "Hérault", "count": 1, "median": Decimal("50000")},
    ]

    client.force_login(staff)
    page = client.get(reverse("lifecycle:transfer_prices")).content.decode()
    assert "<h1>Prix médian des cessions d’ADS par département</h1>" in page
    assert re.search(r'<th scope="row">30 – Gard</th><td>4</td><td>125[\s\u202f\xa0.]000 €', page)
    # Figures only: no name of a seller or a buyer.
    assert "Vendeur" not in page and "Acheteur" not in page
