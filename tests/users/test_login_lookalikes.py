"""One normalisation of the e-mail for the lockout and the login (OPERATIONS.md #2), and
X-Forwarded-For ignored without a configured proxy (#13)."""

import pytest
from django.contrib.auth import SESSION_KEY

from mesads.users.models import User
from mesads.users.views import lockout_key
from tests.users.test_auth import PASSWORD, fail_until_locked, log_in

LOOK_ALIKES = [
    "gestıonnaire-ales@demo.mesads.fr",  # dotless ı: PostgreSQL's UPPER() makes it "I"
    "geſtionnaire-ales@demo.mesads.fr",  # long s: NFKC makes it "s"
    "gestionnaire-ales@demo.meſads.fr",
    "ｇestionnaire-ales@demo.mesads.fr",  # fullwidth g
]


@pytest.fixture
def ales_manager(db):
    return User.objects.create_user("gestionnaire-ales@demo.mesads.fr", PASSWORD)


@pytest.mark.parametrize("spelling", LOOK_ALIKES)
def test_a_look_alike_spelling_never_logs_in_to_the_real_account(client, ales_manager, spelling):
    response = log_in(client, spelling, PASSWORD)
    assert client.session.get(SESSION_KEY) is None
    assert response.status_code in (200, 429)


@pytest.mark.parametrize("spelling", LOOK_ALIKES)
def test_a_look_alike_spelling_gets_no_fresh_quota_after_a_lockout(client, ales_manager, spelling):
    assert fail_until_locked(client, ales_manager.email).status_code == 429
    response = log_in(client, spelling, PASSWORD)
    assert client.session.get(SESSION_KEY) is None
    # Locked out, or refused by the form as an invalid address before any password check.
    assert response.status_code == 429 or "ｇ" in spelling
    # And the real spelling is still locked.
    assert log_in(client, ales_manager.email, PASSWORD).status_code == 429


def test_the_lookup_refuses_what_normalisation_would_change():
    assert User.objects.is_canonical_email("Marie.Dupont@Mairie.fr")
    assert lockout_key("gestıonnaire@mairie.fr") == "gestionnaire@mairie.fr"
    assert User.objects.normalize_email("geſtionnaire@mairie.fr") == "gestionnaire@mairie.fr"


def test_without_a_configured_proxy_x_forwarded_for_gives_no_fresh_quota(
    client, ales_manager, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(
            client, ales_manager.email, "wrong-password", HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}"
        )
    response = log_in(client, ales_manager.email, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429
    assert client.session.get(SESSION_KEY) is None


def test_production_trusts_no_proxy_unless_told(settings):
    from tests.core.test_settings import production, read_values

    assert read_values(["TRUSTED_PROXY_COUNT"], **production()) == {"TRUSTED_PROXY_COUNT": 0}
    told = read_values(["TRUSTED_PROXY_COUNT"], **production(TRUSTED_PROXY_COUNT="1"))
    assert told == {"TRUSTED_PROXY_COUNT": 1}


# --- look-alike addresses refused wherever an account is created or renamed (L6) --------
# The canonical form (NFKC + casefold) keeps "ı" (dotless i): only the TR 39 skeleton
# tells "equıpe-nationale@…" from "equipe-nationale@…".

TEAM = "equipe-nationale@transports.gouv.fr"
TEAM_LOOK_ALIKES = [
    "equıpe-nationale@transports.gouv.fr",  # dotless ı
    "\u0435quipe-nationale@transports.gouv.fr",  # Cyrillic е
    "equipe-nationa1e@transports.gouv.fr",  # digit one for l
]


@pytest.fixture
def team(db):
    return User.objects.create_superuser(TEAM, PASSWORD)


def test_rn_looks_like_m(db):
    mairie = User.objects.create_user("mairie@nimes.fr", PASSWORD)
    assert User.objects.lookalike_of("rnairie@nimes.fr") == mairie
    assert User.objects.lookalike_of("marie@nimes.fr") is None


def test_the_refusal_names_the_look_alike(client, team):
    client.force_login(team)
    response = client.post(
        "/admin/users/user/add/",
        {
            "email": TEAM_LOOK_ALIKES[0],
            "password1": "une phrase de passe assez longue",
            "password2": "une phrase de passe assez longue",
            "usable_password": "true",
        },
    )
    assert response.context["adminform"].form.errors["email"] == [
        f"Cette adresse ressemble à s’y méprendre à celle du compte {TEAM}."
    ]


def test_an_account_knows_its_skeleton_and_its_look_alikes(team):
    assert User.objects.get().email_skeleton == "equipe-nationale@transports.gouv.fr"
    for spelling in TEAM_LOOK_ALIKES:
        assert User.objects.lookalike_of(spelling) == team
    assert User.objects.lookalike_of(TEAM) is None  # the account itself
    assert User.objects.lookalike_of("equipe-regionale@transports.gouv.fr") is None
    assert User.objects.lookalike_of("élodie@transports.gouv.fr") is None


@pytest.mark.parametrize("spelling", TEAM_LOOK_ALIKES)
def test_the_admin_refuses_to_create_a_look_alike_account(client, team, spelling):
    client.force_login(team)
    password = "une phrase de passe assez longue"
    response = client.post(
        "/admin/users/user/add/",
        {
            "email": spelling,
            "password1": password,
            "password2": password,
            "usable_password": "true",
        },
    )

    assert response.status_code == 200
    # (Django's own check already refuses the Cyrillic е: not an address it accepts.)
    assert response.context["adminform"].form.errors["email"]
    assert User.objects.count() == 1


@pytest.mark.parametrize("spelling", TEAM_LOOK_ALIKES)
def test_an_address_change_to_a_look_alike_is_refused(client, team, spelling):
    someone = User.objects.create_user("quelquun@ales.fr", PASSWORD)
    client.force_login(someone)

    response = client.post(
        "/compte/profil/adresse-electronique/", {"email": spelling, "current_password": PASSWORD}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    someone.refresh_from_db()
    assert someone.email == "quelquun@ales.fr"


def test_the_migration_fills_the_skeleton_of_existing_accounts(team):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("mesads.users.migrations.0004_fill_email_skeletons")
    User.objects.update(email_skeleton="")  # as before the migration

    migration.fill(apps, None)

    assert User.objects.get().email_skeleton == "equipe-nationale@transports.gouv.fr"
    assert User.objects.lookalike_of(TEAM_LOOK_ALIKES[0]) == team


def test_staff_list_the_look_alike_accounts_opened_before(client, team):
    # Written directly, as the accounts opened before look-alikes were refused.
    old = User.objects.create_user("autre@transports.gouv.fr", PASSWORD)
    User.objects.filter(pk=old.pk).update(email=TEAM_LOOK_ALIKES[0], email_skeleton=team.email)
    client.force_login(team)

    response = client.get("/admin/users/user/?semblable=oui")

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [team, User.objects.get(pk=old.pk)]


def test_staff_can_still_deactivate_a_look_alike_account_opened_before(client, team):
    old = User.objects.create_user("autre@transports.gouv.fr", PASSWORD)
    User.objects.filter(pk=old.pk).update(email=TEAM_LOOK_ALIKES[0], email_skeleton=team.email)
    old.refresh_from_db()
    client.force_login(team)
    url = f"/admin/users/user/{old.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "is_active": "",
            "date_joined_0": old.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": old.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
            "proconnect_links-TOTAL_FORMS": "0",
            "proconnect_links-INITIAL_FORMS": "0",
        }
    )
    data = {k: v for k, v in data.items() if k not in {"last_login", "date_joined", "password"}}
    data.pop("is_active")

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    old.refresh_from_db()
    assert not old.is_active


def test_a_prefecture_deciding_an_access_sees_a_look_alike_requester(client, team, nimes, gard):
    from mesads.users.models import AuthorityAccess, PrefectureMembership

    old = User.objects.create_user("autre@transports.gouv.fr", PASSWORD)
    User.objects.filter(pk=old.pk).update(email=TEAM_LOOK_ALIKES[0], email_skeleton=team.email)
    access = AuthorityAccess.objects.create(user=old, authority=nimes)
    agent = User.objects.create_user("agent@gard.gouv.fr", PASSWORD)
    PrefectureMembership.objects.create(
        user=agent, departement=gard, status=PrefectureMembership.Status.ACCEPTED
    )
    client.force_login(agent)

    page = client.get(f"/acces/demandes/{access.pk}/").content.decode()

    assert f"ressemble à s’y méprendre à celle d’un autre compte ({TEAM})" in page


def test_national_staff_see_a_look_alike_among_membership_requests(client, team, gard):
    from mesads.users.models import PrefectureMembership

    old = User.objects.create_user("autre@transports.gouv.fr", PASSWORD)
    User.objects.filter(pk=old.pk).update(email=TEAM_LOOK_ALIKES[0], email_skeleton=team.email)
    PrefectureMembership.objects.create(user=old, departement=gard)
    honest = User.objects.create_user("agent@gard.gouv.fr", PASSWORD)
    PrefectureMembership.objects.create(user=honest, departement=gard)
    User.objects.filter(pk=team.pk).update(is_staff=True)
    client.force_login(team)

    page = client.get("/acces/prefecture/agents/").content.decode()

    assert page.count("Adresse semblable à celle d’un autre compte") == 1
