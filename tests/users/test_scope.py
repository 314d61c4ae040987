"""A user's scope (mesads.users.scope): resolved once per request, in one query, and
forgotten as soon as the user's accesses change, even within the same request.

The rules themselves are asserted page by page in test_authorization_matrix.py; here,
what the scope adds: how often it is worked out, and that it is never stale.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesads.ads.models import ADS
from mesads.authorities.models import Authority
from mesads.users import access_requests as service
from mesads.users.models import AuthorityAccess, InspectorGrant, PrefectureMembership, User
from mesads.users.scope import forget_scope, load_user, scope_for

# Session, the user with their scope (one query: mesads.users.scope.load_user), the ADS,
# its drivers, its documents (a read-only page: no transaction, mesads.core.http
# .read_only). Before the scope (8ee334c), with the request's savepoint and its release:
# 9 for a manager and for a prefecture agent (the access subqueries inside the ADS query,
# then one query for the rights on it and one for the navigation's « is the user a
# prefecture agent? »), 7 for national staff, whose pages never asked for any access.
# One of them is the relay taxis' panel (mesads.relais: the relay vehicles that replace
# or replaced this ADS, an indexed read of relais_use by ADS).
MANAGER_ADS_PAGE_QUERIES = 6
AGENT_ADS_PAGE_QUERIES = 6
STAFF_ADS_PAGE_QUERIES = 6


def scope_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "users_authorityaccess" in q["sql"]]


def test_a_managers_ads_page_works_out_the_scope_once(
    client, manager, complete_ads, django_assert_max_num_queries
):
    client.force_login(manager)
    with (
        django_assert_max_num_queries(MANAGER_ADS_PAGE_QUERIES),
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.get(reverse("ads:detail", args=[complete_ads.pk]))

    assert response.status_code == 200
    # The rights on the ADS: its manager may change it.
    assert f'href="{reverse("ads:edit", args=[complete_ads.pk])}"' in response.content.decode()
    assert len(scope_queries(queries)) == 1


def test_national_staffs_ads_page_needs_no_scope_query(
    client, staff, complete_ads, django_assert_max_num_queries
):
    client.force_login(staff)
    with (
        django_assert_max_num_queries(STAFF_ADS_PAGE_QUERIES),
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.get(reverse("ads:detail", args=[complete_ads.pk]))

    assert response.status_code == 200
    assert 'href="/prefecture/"' in response.content.decode()
    # Their roles come with their account's row, never in a query of their own.
    assert not [
        q for q in queries if "prefecturemembership" in q["sql"] and "users_user" not in q["sql"]
    ]


def test_the_navigation_asks_the_scope_whether_the_user_is_a_prefecture_agent(
    client, prefecture_agent, manager, complete_ads, django_assert_max_num_queries
):
    """The « Préfecture » menu item costs no query of its own: the page's access check
    has already read the memberships."""
    client.force_login(prefecture_agent)
    with django_assert_max_num_queries(AGENT_ADS_PAGE_QUERIES):
        page = client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode()
    assert 'href="/prefecture/"' in page

    client.force_login(manager)
    page = client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode()
    assert 'href="/prefecture/"' not in page


def test_the_scope_is_kept_on_the_user_for_the_request(
    manager, nimes, ales, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert scope_for(manager).can_write(nimes)
        assert not scope_for(manager).can_read(ales)
    # Then only the queries asked for: the scope is not worked out again.
    with django_assert_num_queries(2):
        assert list(Authority.objects.writable_by(manager)) == [nimes]
        assert list(Authority.objects.readable_by(manager)) == [nimes]
    assert scope_for(manager) is scope_for(manager)


def test_anonymous_visitors_reach_nothing_without_a_query(
    nimes, complete_ads, django_assert_num_queries
):
    from django.contrib.auth.models import AnonymousUser

    visitor = AnonymousUser()
    with django_assert_num_queries(0):
        assert not scope_for(visitor).can_read(nimes)
        assert Authority.objects.readable_by(visitor).query.is_empty()
        assert ADS.objects.readable_by(visitor).query.is_empty()


def test_acting_as_manager_is_seen_at_once_by_the_same_request(prefecture_agent, nimes):
    assert scope_for(prefecture_agent).can_read(nimes)
    assert not scope_for(prefecture_agent).can_write(nimes)

    service.act_as_manager(prefecture_agent, nimes)

    assert scope_for(prefecture_agent).can_write(nimes)
    assert nimes in Authority.objects.writable_by(prefecture_agent)


def test_an_accepted_request_is_seen_at_once_by_the_requester(
    pending_user, prefecture_agent, nimes
):
    assert not scope_for(pending_user).can_read(nimes)
    access = AuthorityAccess.objects.get(user=pending_user, authority=nimes)
    # The requester as the decision's code holds it (another object for the same person).
    access.user = pending_user

    service.accept_access(access, prefecture_agent, site_url="https://mesads.example")

    assert scope_for(pending_user).can_write(nimes)
    assert ADS.objects.readable_by(pending_user).query.is_empty() is False


def test_revoking_an_access_is_seen_at_once_through_any_object_for_that_user(
    manager, prefecture_agent, nimes
):
    assert scope_for(manager).can_write(nimes)
    access = AuthorityAccess.objects.select_related("user").get(user=manager, authority=nimes)
    assert access.user is not manager

    service.revoke_access(access, prefecture_agent, "Départ.", site_url="https://mesads.example")

    assert not scope_for(manager).can_write(nimes)
    assert nimes not in Authority.objects.readable_by(manager)


def test_leaving_the_prefecture_ends_the_registers_managed_as_an_agent_at_once(
    prefecture_agent, staff, nimes
):
    service.act_as_manager(prefecture_agent, nimes)
    assert scope_for(prefecture_agent).can_write(nimes)
    membership = PrefectureMembership.objects.get(user=prefecture_agent)
    membership.user = prefecture_agent

    service.revoke_membership(membership, staff, site_url="https://mesads.example")

    assert not scope_for(prefecture_agent).can_read(nimes)
    assert not scope_for(prefecture_agent).is_prefecture_agent


def test_a_membership_ended_in_the_admin_ends_the_agents_manager_rights(prefecture_agent, nimes):
    """However the membership was ended (here deleted, so the agent's accesses are not
    closed by revoke_membership), an access chosen as an agent no longer counts."""
    service.act_as_manager(prefecture_agent, nimes)
    assert scope_for(prefecture_agent).can_write(nimes)

    PrefectureMembership.objects.filter(user=prefecture_agent).delete()

    assert not scope_for(prefecture_agent).can_write(nimes)
    assert not Authority.objects.writable_by(prefecture_agent).exists()


def test_a_change_saved_elsewhere_is_seen_by_a_scope_built_before(manager, ales, gard):
    """A grant saved by the admin; then accesses closed by a queryset update."""
    assert not scope_for(manager).can_read(ales)

    InspectorGrant.objects.create(user=manager, departement=gard)
    assert scope_for(manager).can_read(ales)
    assert not scope_for(manager).can_write(ales)

    # A queryset update sends no signal: the services that use one call forget_scope.
    InspectorGrant.objects.filter(user=manager).delete()
    AuthorityAccess.objects.filter(user=manager).update(status=AuthorityAccess.Status.REVOKED)
    forget_scope(manager)
    assert not scope_for(manager).can_read(ales)
    assert not Authority.objects.readable_by(manager).exists()


def test_an_epci_manager_reaches_the_communes_that_delegated_to_it(
    nimes_metropole, nimes, montpellier
):
    nimes.delegated_to = nimes_metropole
    nimes.save()
    montpellier.delegated_to = nimes_metropole
    montpellier.save()
    user = User.objects.create_user("epci@nimes-metropole.fr", "mot-de-passe-de-test")
    AuthorityAccess.objects.create(
        user=user, authority=nimes_metropole, status=AuthorityAccess.Status.ACCEPTED
    )

    scope = scope_for(user)
    assert scope.managed_authority_ids == {nimes_metropole.pk}
    assert scope.writable_authority_ids == {nimes_metropole.pk, nimes.pk, montpellier.pk}


def test_an_agent_managing_an_epci_reaches_only_its_own_departements_communes(
    prefecture_agent, nimes_metropole, nimes, montpellier
):
    nimes.delegated_to = nimes_metropole
    nimes.save()
    montpellier.delegated_to = nimes_metropole
    montpellier.save()
    service.act_as_manager(prefecture_agent, nimes_metropole)

    scope = scope_for(prefecture_agent)
    assert scope.writable_authority_ids == {nimes_metropole.pk, nimes.pk}
    assert not scope.can_read(montpellier)


@pytest.mark.parametrize("persona", ["prefecture_agent", "inspector"])
def test_a_departement_wide_reader_filters_the_ads_by_departement(
    request, persona, complete_ads, montpellier
):
    user = request.getfixturevalue(persona)
    other = ADS.objects.create(authority=montpellier, number="1")

    readable = ADS.objects.readable_by(user)

    assert list(readable) == [complete_ads]
    assert other not in readable
    # One plain condition on the département, not subqueries rebuilt at each call.
    assert "SELECT" not in str(readable.query).split("WHERE", 1)[1]


def _reach(scope) -> tuple:
    return (
        scope.is_staff,
        scope.agent_departement_ids,
        scope.inspected_departement_ids,
        scope.managed_authority_ids,
        scope.writable_authority_ids,
    )


@pytest.mark.parametrize(
    "persona", ["manager", "prefecture_agent", "inspector", "staff", "pending_user"]
)
def test_the_account_a_session_names_comes_with_the_same_scope_in_one_query(
    request, persona, nimes_metropole, nimes, montpellier, django_assert_num_queries
):
    user = request.getfixturevalue(persona)
    # Every kind of row at once: an EPCI with delegating communes in two départements,
    # managed by the user (as an agent, through the prefecture).
    nimes.delegated_to = montpellier.delegated_to = nimes_metropole
    nimes.save()
    montpellier.save()
    if persona == "prefecture_agent":
        service.act_as_manager(user, nimes_metropole)
    else:
        AuthorityAccess.objects.create(
            user=user, authority=nimes_metropole, status=AuthorityAccess.Status.ACCEPTED
        )

    with django_assert_num_queries(1):
        loaded = load_user(user.pk)
        reach = _reach(scope_for(loaded))

    assert loaded == user and loaded.email == user.email
    assert reach == _reach(scope_for(User.objects.get(pk=user.pk)))
    assert not hasattr(loaded, "scope_kind")


def test_no_account_no_user(db):
    assert load_user(987654) is None
