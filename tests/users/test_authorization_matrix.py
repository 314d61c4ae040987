"""Who may reach which page: every URL of the project, for every persona.

The URLs come from the resolver, so a new page cannot be forgotten: a URL name missing
from ``EXPECTED`` fails ``test_every_url_is_in_the_matrix``. Object pages are tried with
the objects of Nîmes (Gard): for the manager of Alès, the agents and inspectors of the
Hérault and the user whose request is pending, they are another authority's objects.

Statuses: 200 (or a 302 redirect after a successful POST), ``LOGIN`` (302 to the login
page), 403 (may see, may not do), 404 (may not know it exists).
"""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mesads.ads.models import ADS, ADSDocument, AuthorityDecree, Driver
from mesads.exchange.models import ImportJob
from mesads.relais.models import Invitation as RelaisInvitation
from mesads.relais.models import Membership as RelaisMembership
from mesads.relais.models import Owner as RelaisOwner
from mesads.relais.models import Vehicle as RelaisVehicle
from mesads.relais.services import register_vehicle
from mesads.reminders.models import Campaign
from mesads.users.models import AuthorityAccess, PrefectureMembership, User
from mesads.waitinglists.models import Application
from tests import conftest

LOGIN = "login"
ADMIN_LOGIN = "admin-login"
PERSONAS = [
    "anonymous",
    "manager_a",  # manages Nîmes (Gard)
    "manager_b",  # manages Alès (Gard)
    "agent",  # prefecture of the Gard
    "other_agent",  # prefecture of the Hérault
    "inspector",  # reads the Gard
    "other_inspector",  # reads the Hérault
    "staff",
    "pending",  # asked for Nîmes, not accepted yet
    "relais_owner",  # manages a relay taxi company: no role in the ADS register
]


def _rule(default, **overrides):
    rule = {persona: default for persona in PERSONAS}
    rule["anonymous"] = LOGIN
    rule.update(overrides)
    return rule


EVERYONE = {persona: 200 for persona in PERSONAS}
LOGGED_IN = _rule(200)
# Nîmes' register: its manager, the Gard's agents and inspectors, national staff.
READ = _rule(404, manager_a=200, agent=200, inspector=200, staff=200)
# Changing it: read-only roles (an agent not acting as manager, an inspector) get 403.
WRITE = dict(READ, agent=403, inspector=403)
WRITE_POST = dict(WRITE, manager_a=302, staff=302)
# The Gard prefecture's desk.
PREFECTURE = _rule(404, agent=200, staff=200)
PREFECTURE_POST = _rule(404, agent=302, staff=302)
# The certification of one of Nîmes' ADS: its manager and inspector see it, may not do it.
CERTIFY = dict(PREFECTURE, manager_a=403, inspector=403)
STAFF_ONLY = _rule(404, staff=200)
# A relay taxi owner's company and vehicles: its members only.
RELAIS_OWNER = _rule(404, relais_owner=200)
API_KEY_ONLY = {persona: 401 for persona in PERSONAS}

# url name -> (method, expectations by persona)
EXPECTED = {
    "home": ("get", EVERYONE),
    "healthz": ("get", EVERYONE),
    "accessibility": ("get", EVERYONE),
    "legal_notice": ("get", EVERYONE),
    "personal_data": ("get", EVERYONE),
    "regulation": ("get", EVERYONE),
    "faq": ("get", EVERYONE),
    "site_map": ("get", EVERYONE),
    "stats:key_figures": ("get", EVERYONE),
    "login": ("get", _rule(302, anonymous=200)),
    "logout": ("post", {persona: 302 for persona in PERSONAS}),
    # ProConnect is not configured here: its pages do not exist (tests/users/test_proconnect.py
    # covers them configured, against a real provider).
    "proconnect:start": ("get", {persona: 404 for persona in PERSONAS}),
    "proconnect:callback": ("get", {persona: 404 for persona in PERSONAS}),
    "proconnect:confirm_link": ("get", {persona: 404 for persona in PERSONAS}),
    "proconnect:logout_callback": ("get", {persona: 404 for persona in PERSONAS}),
    "password_reset": ("get", EVERYONE),
    "password_reset_done": ("get", EVERYONE),
    "password_reset_confirm": ("get", EVERYONE),  # an invalid link says so
    "password_reset_complete": ("get", EVERYONE),
    "profile": ("get", LOGGED_IN),
    "password_change": ("get", LOGGED_IN),
    "email_change": ("get", LOGGED_IN),
    "ads:authorities": ("get", LOGGED_IN),
    "ads:authority": ("get", READ),
    "ads:declaration": ("get", WRITE),
    "ads:list": ("get", READ),
    "ads:create": ("get", WRITE),
    "ads:decree_create": ("get", WRITE),
    "ads:decree_download": ("get", READ),
    "ads:detail": ("get", READ),
    "ads:edit": ("get", WRITE),
    "ads:delete": ("get", WRITE),
    "ads:restore": ("post", _rule(404, staff=302)),
    "ads:attest": ("post", WRITE_POST),
    "ads:history": ("get", READ),
    "ads:document_create": ("get", WRITE),
    "ads:document_download": ("get", READ),
    "ads:document_delete": ("get", WRITE),
    "access:search": ("get", LOGGED_IN),
    "access:suggestions": ("get", LOGGED_IN),
    "access:request": ("get", LOGGED_IN),
    "access:requests": ("get", _rule(404, agent=200, other_agent=200, staff=200)),
    "access:request_detail": ("get", PREFECTURE),
    "access:accept": ("post", PREFECTURE_POST),
    "access:refuse": ("post", PREFECTURE_POST),
    "access:revoke": ("get", PREFECTURE),
    "access:membership_request": ("get", LOGGED_IN),
    "access:memberships": ("get", STAFF_ONLY),
    "access:membership_accept": ("post", _rule(404, staff=302)),
    "access:membership_refuse": ("post", _rule(404, staff=302)),
    "access:act_as_manager": ("get", _rule(404, agent=200)),
    "prefecture:index": ("get", _rule(404, agent=200, other_agent=200, staff=200)),
    "prefecture:certify": ("post", dict(CERTIFY, agent=302, staff=302)),
    "prefecture:send_back": ("get", CERTIFY),
    "prefecture:departement": ("get", PREFECTURE),
    "prefecture:changes": ("get", PREFECTURE),
    "prefecture:ads": ("get", PREFECTURE),
    "prefecture:certify_bulk": ("post", PREFECTURE_POST),
    "prefecture:expected_count": ("get", PREFECTURE),
    "exchange:index": ("get", LOGGED_IN),
    "exchange:authority": ("get", READ),
    "exchange:departement": ("get", _rule(404, agent=200, inspector=200, staff=200)),
    "exchange:national": ("get", STAFF_ONLY),
    "imports:template": ("get", EVERYONE),
    # An import job belongs to national staff (who upload in the admin).
    "imports:progress": ("get", STAFF_ONLY),
    "imports:errors": ("get", STAFF_ONLY),
    "imports:restart": ("post", _rule(404, staff=302)),
    "imports:index": ("get", STAFF_ONLY),
    "imports:confirm": ("post", _rule(404, staff=302)),
    # The re-use API: its documentation, schema and explorer are public; every other address
    # needs a re-user's key (tests/api), which no browser persona has: a session, even
    # national staff's, opens nothing there, so all of them get the JSON 401.
    "api:documentation": ("get", EVERYONE),
    "api:schema": ("get", EVERYONE),
    "api:swagger": ("get", EVERYONE),
    "api:verification": ("get", API_KEY_ONLY),
    "api:ads_list": ("get", API_KEY_ONLY),
    "api:ads_detail": ("get", API_KEY_ONLY),
    "api:changes": ("get", API_KEY_ONLY),
    "api:authorities": ("get", API_KEY_ONLY),
    "relais_api:verification": ("get", API_KEY_ONLY),
    "relais_api:list": ("get", API_KEY_ONLY),
    "relais_api:changes": ("get", API_KEY_ONLY),
    # Open data (mesads.opendata): public, no login.
    "opendata:index": ("get", EVERYONE),
    "opendata:download": ("get", EVERYONE),
    "opendata:schema": ("get", EVERYONE),
    # « Suivi du déploiement » and the register's activity (mesads.deployment): staff.
    "deployment:index": ("get", STAFF_ONLY),
    "deployment:prefectures": ("get", STAFF_ONLY),
    "deployment:export": ("get", STAFF_ONLY),
    "deployment:departement": ("get", STAFF_ONLY),
    "deployment:departement_export": ("get", STAFF_ONLY),
    "deployment:activity": ("get", STAFF_ONLY),
    "deployment:activity_export": ("get", STAFF_ONLY),
    # Decrees, renewals and transfers (mesads.lifecycle): preparing and recording are the
    # manager's acts; the registers of transfers are read like the register.
    "lifecycle:ads_decree": ("get", WRITE),
    "lifecycle:ads_decree_docx": ("get", WRITE),
    "lifecycle:authority_count_decree": ("get", WRITE),
    "lifecycle:ads_renew": ("get", WRITE),
    "lifecycle:transfer_create": ("get", WRITE),
    "lifecycle:authority_transfers": ("get", READ),
    "lifecycle:authority_transfers_export": ("get", READ),
    "lifecycle:departement_transfers": ("get", _rule(404, agent=200, inspector=200, staff=200)),
    "lifecycle:departement_transfers_export": (
        "get",
        _rule(404, agent=200, inspector=200, staff=200),
    ),
    "lifecycle:transfer_prices": ("get", STAFF_ONLY),
    "lifecycle:shipped_template": ("get", STAFF_ONLY),
    # Reminder campaigns: national staff, and the agents of the campaign's département.
    "reminders:campaigns": ("get", _rule(404, agent=200, other_agent=200, staff=200)),
    "reminders:campaign_create": ("get", _rule(404, agent=200, other_agent=200, staff=200)),
    "reminders:campaign": ("get", PREFECTURE),
    "reminders:campaign_edit": ("get", PREFECTURE),
    "reminders:campaign_send": ("post", PREFECTURE_POST),
    # Waiting lists (mesads.waitinglists): read like the register, changed by its managers;
    # the public list (no personal data) by anyone.
    "waitinglists:list": ("get", READ),
    "waitinglists:create": ("get", WRITE),
    "waitinglists:import": ("get", WRITE),
    "waitinglists:export": ("get", READ),
    "waitinglists:detail": ("get", READ),
    "waitinglists:edit": ("get", WRITE),
    "waitinglists:renew": ("post", WRITE_POST),
    "waitinglists:remove": ("get", WRITE),
    "waitinglists:attribute": ("get", WRITE),
    "waitinglists:public_search": ("get", EVERYONE),
    "waitinglists:public_list": ("get", EVERYONE),
    "waitinglists:public_csv": ("get", EVERYONE),
    # Relay taxis (mesads.relais): the public register; an owner's space, reached by its
    # members only (anyone else: 404); the prefecture's desk for its département; the
    # plate check for controllers (agents, inspectors, national staff).
    "relais:public_index": ("get", EVERYONE),
    "relais:public_register": ("get", EVERYONE),
    "relais:public_csv": ("get", EVERYONE),
    "relais:open_data": ("get", EVERYONE),
    "relais:open_data_schema": ("get", EVERYONE),
    "relais:signup": ("get", _rule(302, anonymous=200)),
    "relais:signup_sent": ("get", EVERYONE),
    "relais:signup_confirm": ("get", {persona: 400 for persona in PERSONAS}),  # invalid link
    "relais:space": ("get", LOGGED_IN),
    "relais:owner_create": ("get", LOGGED_IN),
    "relais:owner": ("get", RELAIS_OWNER),
    "relais:owner_edit": ("get", RELAIS_OWNER),
    "relais:owner_invite": ("get", RELAIS_OWNER),
    "relais:vehicle_create": ("get", RELAIS_OWNER),
    "relais:vehicle": ("get", RELAIS_OWNER),
    "relais:vehicle_edit": ("get", RELAIS_OWNER),
    "relais:vehicle_withdraw": ("get", RELAIS_OWNER),
    "relais:vehicle_receipt": ("get", RELAIS_OWNER),
    "relais:use_create": ("get", RELAIS_OWNER),
    # The world's invitation is addressed to Nîmes' manager.
    "relais:invitation_accept": ("post", _rule(404, manager_a=302)),
    "relais:prefecture_index": ("get", _rule(404, agent=200, other_agent=200, staff=200)),
    "relais:prefecture_register": ("get", PREFECTURE),
    "relais:prefecture_export_csv": ("get", PREFECTURE),
    "relais:prefecture_export_xlsx": ("get", PREFECTURE),
    "relais:prefecture_requirements": ("get", PREFECTURE),
    "relais:prefecture_import": ("get", PREFECTURE),
    # Posted without a preview: sent back to the upload page.
    "relais:prefecture_import_confirm": ("post", PREFECTURE_POST),
    "relais:prefecture_vehicle": ("get", PREFECTURE),
    # Posted without a reason: refused (400) to those who may act.
    "relais:prefecture_suspend": ("post", _rule(404, agent=400, staff=400)),
    "relais:prefecture_remove": ("post", _rule(404, agent=400, staff=400)),
    "relais:prefecture_reinstate": ("post", PREFECTURE_POST),
    "relais:control": (
        "get",
        _rule(403, agent=200, other_agent=200, inspector=200, other_inspector=200, staff=200),
    ),
}
# The Django admin: national staff only; everyone else is sent to its login page.
ADMIN = {persona: ADMIN_LOGIN for persona in PERSONAS} | {"staff": 200}


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if namespace and pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}"
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, pattern


def project_urls() -> dict[str, URLPattern]:
    return dict(_walk(get_resolver().url_patterns))


def admin_pages() -> list[str]:
    """The admin's index and list pages (object pages need an object; add pages are
    disabled for what comes from official data or from the application)."""
    return sorted(
        name
        for name, pattern in project_urls().items()
        if name.startswith("admin:")
        and "<" not in str(pattern.pattern)
        and (name.endswith("_changelist") or name == "admin:index")
    )


# --- the world: Nîmes and its objects, and the personas -------------------------------


def _build_world() -> dict:
    gard, herault = conftest.make_gard(), conftest.make_herault()
    nimes, ales = conftest.make_nimes(gard), conftest.make_ales(gard)
    conftest.make_montpellier(herault)
    manager, other_manager = conftest.make_manager(nimes), conftest.make_other_manager(ales)
    pending_user = conftest.make_pending_user(nimes)
    prefecture_agent = conftest.make_prefecture_agent(gard, "agent@gard.gouv.fr")
    other_prefecture_agent = conftest.make_prefecture_agent(herault, "agent@herault.gouv.fr")
    inspector = conftest.make_inspector(gard, "controle@police.gard.fr")
    other_inspector = conftest.make_inspector(herault, "controle@police.herault.fr")
    staff = conftest.make_staff()
    ads = ADS.objects.create(authority=nimes, number="7", creation_date=datetime.date(2010, 1, 4))
    Driver.objects.create(ads=ads, status=Driver.Status.SALARIE, name="Jean Martin")
    deleted = ADS.objects.create(
        authority=nimes,
        number="8",
        creation_date=datetime.date(2011, 1, 4),
        deleted_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    document = ADSDocument(ads=ads, kind=ADSDocument.Kind.ATTRIBUTION, original_name="a.pdf")
    document.file.save("a.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
    document.save()
    decree = AuthorityDecree(
        authority=nimes, date=datetime.date(2020, 1, 1), ads_count=12, original_name="d.pdf"
    )
    decree.file.save("d.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
    decree.save()
    candidate = User.objects.create_user("candidat@gard.gouv.fr", "mot-de-passe-de-test")
    membership = PrefectureMembership.objects.create(user=candidate, departement=gard)
    job = ImportJob.objects.create(original_name="registre.csv", user=staff)
    campaign = Campaign.objects.create(
        target=Campaign.Target.NEVER_DECLARED, departement=gard, subject="Relance", body="…"
    )
    application = Application.objects.create(
        authority=nimes,
        number="1",
        applicant_name="Léa Fabre",
        card_number="CP-30-1234",
        card_departement=gard,
    )
    relais_user = User.objects.create_user("gerant@taxis-relais.fr", "mot-de-passe-de-test")
    relais_owner = RelaisOwner.objects.create(
        name="Taxis relais du Gard",
        siret="73282932000074",
        address="1 rue de la Gare, 30000 Nîmes",
        phone="0466000000",
        email="contact@taxis-relais.fr",
    )
    RelaisMembership.objects.create(owner=relais_owner, user=relais_user)
    relais_vehicle = register_vehicle(
        RelaisVehicle(
            owner=relais_owner,
            departement=gard,
            commune=nimes.commune,
            plate="AB-123-CD",
            make="Toyota",
            model="Corolla",
            engine=RelaisVehicle.Engine.HYBRID,
            first_registration_date=datetime.date(2022, 1, 1),
            seats=4,
        ),
        relais_user,
    )
    invitation = RelaisInvitation.objects.create(owner=relais_owner, email=manager.email)
    request = AuthorityAccess.objects.get(user=pending_user, authority=nimes)
    granted = AuthorityAccess.objects.get(user=manager, authority=nimes)
    return {
        "users": {
            "anonymous": None,
            "manager_a": manager,
            "manager_b": other_manager,
            "agent": prefecture_agent,
            "other_agent": other_prefecture_agent,
            "inspector": inspector,
            "other_inspector": other_inspector,
            "staff": staff,
            "pending": pending_user,
            "relais_owner": relais_user,
        },
        "kwargs": {
            "authority_id": nimes.pk,
            "ads_id": ads.pk,
            "document_id": document.pk,
            "decree_id": decree.pk,
            "access_id": request.pk,
            "membership_id": membership.pk,
            "job_id": job.pk,
            "application_id": application.pk,
            "campaign_id": campaign.pk,
            "code": "30",
            "export_format": "csv",
            "dataset": "ads",
            "uidb64": "MQ",
            "token": "invalid-token",
            "kind": "attribution",
            "owner_id": relais_owner.pk,
            "vehicle_id": relais_vehicle.pk,
            "invitation_id": invitation.pk,
        },
        "deleted_ads_id": deleted.pk,
        # Only a granted access can be revoked.
        "granted_access_id": granted.pk,
    }


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once for the module's 1,200 cases (instead of once per case: two
    thirds of the module's time went to building it). It lives in a transaction that is
    rolled back at the end of the module; each case runs in a savepoint inside it (the
    ``db`` fixture), so what one case changes never reaches the next."""
    media = tmp_path_factory.mktemp("media")
    cheap = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=cheap),
        transaction.atomic(),
    ):
        yield _build_world(), media
        transaction.set_rollback(True)


@pytest.fixture
def world(_world, db, settings):
    built, media = _world
    settings.MEDIA_ROOT = media  # where the world's document and decree files are
    return built


def _url(name: str, world) -> str:
    pattern = project_urls()[name]
    names = list(pattern.pattern.converters) or []
    kwargs = {key: world["kwargs"][key] for key in names}
    if name == "ads:restore":
        kwargs["ads_id"] = world["deleted_ads_id"]
    if name == "access:revoke":
        kwargs["access_id"] = world["granted_access_id"]
    if name == "opendata:download":
        # A file exists once it has been published (here only: publishing costs queries).
        from mesads.opendata.publication import publish

        publish()
    return reverse(name, kwargs=kwargs)


def _check(client, world, persona: str, method: str, url: str, expected) -> None:
    user = world["users"][persona]
    if user is not None:
        client.force_login(user)
    response = getattr(client, method)(url)
    if expected == LOGIN:
        assert response.status_code == 302, (persona, url, response.status_code)
        assert response.url.startswith(reverse("login")), (persona, url, response.url)
    elif expected == ADMIN_LOGIN:
        assert response.status_code == 302, (persona, url, response.status_code)
        assert response.url.startswith(reverse("admin:login")), (persona, url, response.url)
    else:
        assert response.status_code == expected, (persona, method, url, response.status_code)


CASES = [(name, persona) for name in EXPECTED for persona in PERSONAS]


def test_every_url_is_in_the_matrix():
    """A new page must say who may reach it before it can land."""
    missing = sorted(
        name for name in project_urls() if not name.startswith("admin:") and name not in EXPECTED
    )
    assert missing == []
    stale = sorted(name for name in EXPECTED if name not in project_urls())
    assert stale == []


@pytest.mark.parametrize(("name", "persona"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_page_access(client, world, name, persona):
    method, expectations = EXPECTED[name]
    _check(client, world, persona, method, _url(name, world), expectations[persona])


ADMIN_CASES = [(name, persona) for name in admin_pages() for persona in PERSONAS]


@pytest.mark.parametrize(("name", "persona"), ADMIN_CASES, ids=[f"{n}-{p}" for n, p in ADMIN_CASES])
def test_admin_access(client, world, name, persona):
    _check(client, world, persona, "get", reverse(name), ADMIN[persona])


def test_the_matrix_size():
    """Printed in the closing note: how many URL × persona cases are checked."""
    print(
        f"authorization matrix: {len(CASES)} URL × persona cases, "
        f"{len(ADMIN_CASES)} admin cases, {len(EXPECTED)} URLs, {len(PERSONAS)} personas"
    )
    assert len(CASES) == len(EXPECTED) * len(PERSONAS)
