"""A manager declares, edits and deletes ADS through the pages, as in a browser.

Forms are read from the page the manager opened (``form_fields``), changed the way a
person would, and submitted: what the page shows and the rows written are asserted.
"""

import datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from reversion.models import Version

from mesads.ads.models import ADS, Driver
from mesads.users.models import AuthorityAccess, User

pytestmark = pytest.mark.django_db


class _FormReader(HTMLParser):
    """Collects what a browser would submit with the page's POST form."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method") == "post" and "action" not in attrs:
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields[name] = attrs.get("value") or "on"
            else:
                self.fields[name] = attrs.get("value") or ""
        elif tag == "select":
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._first_option is None:
                self._first_option = value
                self.fields[self._select] = value
            if "selected" in attrs:
                self.fields[self._select] = value
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # Like a browser, drop the line break Django writes after <textarea>.
            text = self.fields[self._textarea]
            self.fields[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(response) -> dict[str, str]:
    """The fields of the form on the page, with the values it shows."""
    assert response.status_code == 200
    reader = _FormReader()
    reader.feed(response.content.decode())
    return reader.fields


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


NEW_ADS = {
    "number": "7",
    "creation_date": "2008-04-01",
    "attribution_date": "2019-09-01",
    "in_use": "on",
    "holder_name": "Taxi Gardon",
    "holder_siret": "732 829 320 00074",
    "holder_phone": "+33 6 12 34 56 78",
    "holder_email": "contact@taxi-gardon.fr",
    "vehicle_plate": "ab123cd",
    "vehicle_pmr": "true",
    "vehicle_low_emission": "false",
    "cpam_agreement": "on",
    "drivers-0-status": "locataire_gerant",
    "drivers-0-name": "Sami Haddad",
    "drivers-0-siret": "35600000049837",
    "drivers-0-card_number": "CP-30-0042",
    "drivers-0-lease_start_date": "2020-01-15",
    "comment": "Reprise du registre papier",
    "attest": "on",
}


def declare(client, authority, **changes) -> tuple[dict, object]:
    """Open the creation page, fill it in, submit it."""
    url = reverse("ads:create", args=[authority.pk])
    data = {**form_fields(client.get(url)), **NEW_ADS, **changes}
    data = {name: value for name, value in data.items() if value is not None}
    return data, client.post(url, data, follow=True)


def edit(client, ads: ADS, **changes):
    """Open the edit page, change some fields, submit it."""
    url = reverse("ads:edit", args=[ads.pk])
    data = {**form_fields(client.get(url)), "attest": "on", **changes}
    data = {name: value for name, value in data.items() if value is not None}
    return client.post(url, data, follow=True)


# --- declaring an ADS -------------------------------------------------------------------


def test_a_manager_declares_a_complete_ads(client, manager, nimes):
    client.force_login(manager)

    _, response = declare(client, nimes)

    ads = ADS.objects.get(authority=nimes, number="7")
    assert response.redirect_chain == [(reverse("ads:detail", args=[ads.pk]), 302)]
    assert messages_of(response) == ["L’ADS n° 7 a été enregistrée."]
    assert "<h1>ADS n° 7</h1>" in response.content.decode()
    assert ads.holder_siret == "73282932000074"
    assert ads.holder_phone == "0612345678"
    assert ads.vehicle_plate == "AB-123-CD"
    assert (ads.vehicle_pmr, ads.vehicle_low_emission, ads.cpam_agreement) == (True, False, True)
    assert ads.attribution_date == datetime.date(2019, 9, 1)
    assert ads.is_complete is True
    assert ads.version == 1
    driver = ads.drivers.get()
    assert (driver.status, driver.name, driver.siret, driver.lease_start_date) == (
        Driver.Status.LOCATAIRE_GERANT,
        "Sami Haddad",
        "35600000049837",
        datetime.date(2020, 1, 15),
    )
    revision = Version.objects.get_for_object(ads).get().revision
    assert (revision.user, revision.comment) == (manager, "Reprise du registre papier")


def test_an_incomplete_ads_is_saved_and_flagged(client, manager, nimes):
    client.force_login(manager)

    _, response = declare(client, nimes, vehicle_plate="", vehicle_pmr="unknown")

    assert messages_of(response) == ["L’ADS n° 7 a été enregistrée. Elle reste à compléter."]
    page = response.content.decode()
    assert "l’immatriculation du véhicule" in page
    assert "l’accessibilité du véhicule aux personnes en fauteuil roulant" in page
    assert ADS.objects.get(number="7").is_complete is False


def test_a_new_regime_ads_is_declared_with_its_holder_as_driver(client, manager, nimes):
    client.force_login(manager)

    _, response = declare(
        client,
        nimes,
        creation_date="2019-03-04",
        attribution_date="",
        last_renewal_date="2024-03-04",
        **{
            "drivers-0-status": "titulaire_exploitant",
            "drivers-0-name": "Taxi Gardon",
            "drivers-0-lease_start_date": "",
        },
    )

    assert response.status_code == 200
    ads = ADS.objects.get(number="7")
    assert ads.is_new_regime and ads.is_complete
    assert "Nouvelle ADS (depuis le 1er octobre 2014)" in response.content.decode()


def test_invalid_input_shows_the_errors_and_writes_nothing(client, manager, nimes):
    client.force_login(manager)

    _, response = declare(
        client,
        nimes,
        creation_date="2016-05-02",
        holder_siret="732 829 320 00075",
        vehicle_plate="taxi",
        **{"drivers-0-status": "salarie"},
    )

    assert response.status_code == 200
    assert response.redirect_chain == []
    page = response.content.decode()
    assert "L’ADS n’a pas été enregistrée : corrigez les erreurs signalées." in page
    form = response.context["form"]
    assert form.errors["attribution_date"] == [
        "Une ADS créée à partir du 1er octobre 2014 n’a pas de date d’attribution : "
        "elle reste à son premier titulaire, qui ne peut pas la céder."
    ]
    assert "la clé de contrôle ne correspond pas" in form.errors["holder_siret"][0]
    assert "Immatriculation non reconnue" in form.errors["vehicle_plate"][0]
    assert "la clé de contrôle ne correspond pas" in page
    assert response.context["formset"].forms[0].errors["siret"] == [
        "Un conducteur au statut « Salarié » n’a pas de SIRET propre : laissez ce champ vide."
    ]
    assert "Un conducteur au statut « Salarié » n’a pas de SIRET propre" in page
    assert ADS.objects.count() == 0
    assert Driver.objects.count() == 0
    assert Version.objects.count() == 0


def test_a_new_regime_ads_with_two_drivers_is_refused_on_the_page(client, manager, nimes):
    client.force_login(manager)
    url = reverse("ads:create", args=[nimes.pk])
    data = {
        **form_fields(client.get(url)),
        **NEW_ADS,
        "creation_date": "2019-03-04",
        "attribution_date": "",
        "drivers-TOTAL_FORMS": "2",
        "drivers-0-status": "titulaire_exploitant",
        "drivers-0-lease_start_date": "",
        "drivers-1-status": "titulaire_exploitant",
        "drivers-1-name": "Léa Petit",
        "drivers-1-card_number": "CP-30-0043",
    }

    response = client.post(url, data)

    assert response.status_code == 200
    assert "elle ne peut avoir qu’un seul conducteur" in response.content.decode()
    assert ADS.objects.count() == 0


def test_the_number_must_be_free(client, manager, nimes, complete_ads):
    client.force_login(manager)

    _, response = declare(client, nimes, number="12")

    assert response.context["form"].errors["number"] == [
        "Ce gestionnaire a déjà une ADS n° 12 : chaque numéro est unique."
    ]
    assert ADS.objects.count() == 1


# --- editing ----------------------------------------------------------------------------


def test_a_manager_edits_an_ads(client, manager, complete_ads):
    client.force_login(manager)
    url = reverse("ads:edit", args=[complete_ads.pk])
    page = client.get(url)
    assert form_fields(page)["holder_name"] == "Taxi Arènes SARL"
    assert form_fields(page)["version"] == "1"

    response = edit(
        client,
        complete_ads,
        holder_name="Taxi Gardon",
        vehicle_plate="1234 ab 30",
        comment="Changement de titulaire",
    )

    assert response.redirect_chain == [(reverse("ads:detail", args=[complete_ads.pk]), 302)]
    assert messages_of(response) == ["L’ADS n° 12 a été enregistrée."]
    assert "Taxi Gardon" in response.content.decode()
    complete_ads.refresh_from_db()
    assert (complete_ads.holder_name, complete_ads.vehicle_plate) == ("Taxi Gardon", "1234 AB 30")
    assert complete_ads.version == 2
    assert complete_ads.is_complete
    assert Version.objects.get_for_object(complete_ads).count() == 1  # the fixture had none


def test_an_invalid_edit_changes_nothing(client, manager, complete_ads):
    client.force_login(manager)

    response = edit(client, complete_ads, holder_name="Taxi Gardon", attribution_date="2001-01-01")

    assert response.status_code == 200
    assert response.context["form"].errors["attribution_date"] == [
        "La date d’attribution ne peut pas précéder la date de création de l’ADS."
    ]
    complete_ads.refresh_from_db()
    assert complete_ads.holder_name == "Taxi Arènes SARL"
    assert complete_ads.version == 1


def test_a_driver_is_added_then_removed(client, manager, complete_ads):
    client.force_login(manager)

    edit(
        client,
        complete_ads,
        **{
            "drivers-1-status": "titulaire_exploitant",
            "drivers-1-name": "Ana Lopez",
            "drivers-1-siret": "73282932000074",
            "drivers-1-card_number": "CP-30-0002",
        },
    )
    assert sorted(complete_ads.drivers.values_list("name", flat=True)) == [
        "Ana Lopez",
        "Jean Martin",
    ]
    jean = complete_ads.drivers.get(name="Jean Martin")
    removing = form_fields(client.get(reverse("ads:edit", args=[complete_ads.pk])))
    index = next(
        k.split("-")[1] for k, v in removing.items() if k.endswith("-id") and v == str(jean.pk)
    )

    response = edit(client, complete_ads, **{f"drivers-{index}-DELETE": "on"})

    assert response.status_code == 200
    assert list(complete_ads.drivers.values_list("name", flat=True)) == ["Ana Lopez"]
    complete_ads.refresh_from_db()
    assert "Jean Martin" not in complete_ads.drivers_search
    assert complete_ads.is_complete


def test_the_titulaire_status_can_pass_from_one_driver_to_another(client, manager, complete_ads):
    # The holder hands over driving to a lessee and becomes an employee of the company:
    # for a moment both rows hold the status, which the unique constraint must not see.
    complete_ads.drivers.update(status=Driver.Status.TITULAIRE)
    Driver.objects.create(
        ads=complete_ads, status=Driver.Status.SALARIE, name="Ana Lopez", card_number="CP-2"
    )
    client.force_login(manager)

    response = edit(
        client,
        complete_ads,
        **{"drivers-0-status": "salarie", "drivers-1-status": "titulaire_exploitant"},
    )

    assert response.redirect_chain == [(reverse("ads:detail", args=[complete_ads.pk]), 302)]
    statuses = dict(complete_ads.drivers.values_list("name", "status"))
    assert statuses == {"Jean Martin": "salarie", "Ana Lopez": "titulaire_exploitant"}


def test_two_titulaires_are_refused_with_the_rule_not_the_constraint(client, manager, complete_ads):
    complete_ads.drivers.update(status=Driver.Status.TITULAIRE)
    client.force_login(manager)

    response = edit(
        client,
        complete_ads,
        **{"drivers-1-status": "titulaire_exploitant", "drivers-1-name": "Ana Lopez"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Une ADS ne peut avoir qu’un seul titulaire exploitant." in page
    assert "driver_one_titulaire_per_ads" not in page
    assert complete_ads.drivers.count() == 1


# --- two managers at once ---------------------------------------------------------------


@pytest.fixture
def colleague(nimes) -> User:
    """Another employee of the Nîmes town hall."""
    user = User.objects.create_user("accueil@nimes.fr", "mot-de-passe-de-test", first_name="Lou")
    AuthorityAccess.objects.create(
        user=user, authority=nimes, status=AuthorityAccess.Status.ACCEPTED
    )
    return user


def test_a_save_based_on_an_outdated_page_is_a_conflict(client, manager, colleague, nimes):
    client.force_login(manager)
    declare(client, nimes)
    ads = ADS.objects.get(number="7")
    url = reverse("ads:edit", args=[ads.pk])
    mine = form_fields(client.get(url))
    client.force_login(colleague)
    theirs = form_fields(client.get(url))
    assert mine["version"] == theirs["version"] == "1"

    first = client.post(
        url,
        {**theirs, "attest": "on", "holder_name": "Taxi Costières", "vehicle_pmr": "false"},
    )
    client.force_login(manager)
    second = client.post(url, {**mine, "attest": "on", "holder_name": "Taxi Camargue"})

    assert first.status_code == 302
    assert second.status_code == 409
    page = second.content.decode()
    assert "Cette ADS a été modifiée par quelqu’un d’autre pendant que vous la modifiiez" in page
    assert "Vos modifications n’ont pas été enregistrées" in page
    assert "<li>Nom du titulaire : « Taxi Gardon » → « Taxi Costières »</li>" in page
    assert (
        "<li>Véhicule accessible aux personnes en fauteuil roulant : « Oui » → « Non »</li>" in page
    )
    assert page.count("→") == 2
    ads.refresh_from_db()
    assert (ads.holder_name, ads.vehicle_pmr) == ("Taxi Costières", False)
    assert ads.version == 2
    assert Version.objects.get_for_object(ads).count() == 2


def test_a_conflict_on_an_ads_without_history_says_so(client, manager, colleague, complete_ads):
    # An ADS written without a revision (an import): its opened version has no snapshot.
    url = reverse("ads:edit", args=[complete_ads.pk])
    client.force_login(manager)
    mine = form_fields(client.get(url))
    client.force_login(colleague)
    edit(client, complete_ads, holder_name="Taxi Costières")
    client.force_login(manager)

    response = client.post(url, {**mine, "attest": "on", "holder_name": "Taxi Camargue"})

    assert response.status_code == 409
    page = response.content.decode()
    assert "Le détail des modifications n’est pas disponible" in page
    assert "Les conducteurs ou les documents ont été modifiés." not in page
    complete_ads.refresh_from_db()
    assert complete_ads.holder_name == "Taxi Costières"


def test_a_change_of_drivers_alone_is_also_a_conflict(client, manager, colleague, nimes):
    client.force_login(manager)
    declare(client, nimes)
    ads = ADS.objects.get(number="7")
    url = reverse("ads:edit", args=[ads.pk])
    mine = form_fields(client.get(url))
    client.force_login(colleague)
    edit(client, ads, **{"drivers-0-card_number": "CP-30-9999"})
    client.force_login(manager)

    response = client.post(url, {**mine, "attest": "on", "notes": "Vérifié en mairie"})

    assert response.status_code == 409
    assert (
        "<li>Conducteur modifié : Sami Haddad (Locataire-gérant) – Numéro de carte "
        "professionnelle : « CP-30-0042 » → « CP-30-9999 »</li>"
    ) in response.content.decode()
    ads.refresh_from_db()
    assert ads.notes == ""
    assert ads.drivers.get().card_number == "CP-30-9999"


# --- deleting and restoring -------------------------------------------------------------


def test_deleting_asks_for_confirmation_first(client, manager, complete_ads):
    client.force_login(manager)

    response = client.get(reverse("ads:delete", args=[complete_ads.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Supprimer l’ADS n° 12 ?</h1>" in page
    assert "Motif de la suppression" in page
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is None


def test_deleting_needs_a_reason(client, manager, complete_ads):
    client.force_login(manager)

    response = client.post(reverse("ads:delete", args=[complete_ads.pk]), {"comment": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["comment"]
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is None


def test_a_deleted_ads_leaves_the_register_until_staff_restores_it(
    client, manager, staff, nimes, complete_ads
):
    detail = reverse("ads:detail", args=[complete_ads.pk])
    client.force_login(manager)

    response = client.post(
        reverse("ads:delete", args=[complete_ads.pk]), {"comment": "Doublon"}, follow=True
    )

    assert response.redirect_chain == [(reverse("ads:list", args=[nimes.pk]), 302)]
    assert messages_of(response) == [
        "L’ADS n° 12 a été supprimée. L’équipe nationale peut la restaurer si besoin."
    ]
    assert "Aucune ADS n’est encore déclarée pour Nîmes." in response.content.decode()
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is not None
    assert complete_ads.version == 2
    assert ADS.objects.live().filter(authority=nimes).stats()["ads_total"] == 0
    dashboard = client.get(reverse("ads:authority", args=[nimes.pk]))
    assert dashboard.context["stats"]["ads_total"] == 0
    assert client.get(detail).status_code == 404
    assert client.get(reverse("ads:edit", args=[complete_ads.pk])).status_code == 404
    assert client.post(reverse("ads:restore", args=[complete_ads.pk])).status_code == 404

    client.force_login(staff)
    page = client.get(detail)
    assert page.status_code == 200
    assert "ADS supprimée le" in page.content.decode()
    assert "Restaurer cette ADS" in page.content.decode()
    response = client.post(reverse("ads:restore", args=[complete_ads.pk]), follow=True)

    assert response.redirect_chain == [(detail, 302)]
    assert messages_of(response) == ["L’ADS n° 12 a été restaurée."]
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is None
    client.force_login(manager)
    assert "ADS n° 12</a>" in client.get(reverse("ads:list", args=[nimes.pk])).content.decode()


def test_restoring_is_refused_when_the_number_was_reused(
    client, manager, staff, nimes, complete_ads
):
    client.force_login(manager)
    client.post(reverse("ads:delete", args=[complete_ads.pk]), {"comment": "Erreur de saisie"})
    declare(client, nimes, number="12")
    assert ADS.objects.live().get(number="12").pk != complete_ads.pk
    client.force_login(staff)

    response = client.post(reverse("ads:restore", args=[complete_ads.pk]), follow=True)

    assert messages_of(response) == [
        "Impossible de restaurer : une autre ADS n° 12 existe désormais chez ce gestionnaire."
    ]
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is not None


def test_restoring_is_refused_once_the_authority_declared_it_has_no_ads(
    client, manager, staff, nimes, complete_ads
):
    """Otherwise the register would hold an ADS while declaring it has none: the rule
    the declaration form enforces (Authority.clean) would be bypassed."""
    client.force_login(manager)
    client.post(reverse("ads:delete", args=[complete_ads.pk]), {"comment": "Retirée"}, follow=True)
    response = client.post(
        reverse("ads:declaration", args=[nimes.pk]), {"declares_no_ads": "on"}, follow=True
    )
    assert messages_of(response) == ["La déclaration a été enregistrée."]
    client.force_login(staff)

    response = client.post(reverse("ads:restore", args=[complete_ads.pk]), follow=True)

    assert messages_of(response) == [
        "Impossible de restaurer : Nîmes a déclaré n’avoir aucune ADS sur son territoire. "
        "Cette déclaration doit d’abord être retirée."
    ]
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is not None


def test_restoring_an_ads_that_is_not_deleted_does_nothing(client, staff, complete_ads):
    client.force_login(staff)

    response = client.post(reverse("ads:restore", args=[complete_ads.pk]), follow=True)

    assert messages_of(response) == ["L’ADS n° 12 n’est pas supprimée : rien à restaurer."]
    complete_ads.refresh_from_db()
    assert complete_ads.version == 1
    assert Version.objects.get_for_object(complete_ads).count() == 0


def test_restore_is_post_only(client, staff, complete_ads):
    client.force_login(staff)

    assert client.get(reverse("ads:restore", args=[complete_ads.pk])).status_code == 405
