"""Who may do what: the one place where a user's reach is worked out, once per request.

A user's scope is what their roles give them, as plain ids:

- a manager (``AuthorityAccess`` accepted) writes the registers they were granted, and
  those of the communes that delegated their ADS to an EPCI they manage;
- a prefecture agent (``PrefectureMembership`` accepted) reads every register of its
  département, and writes the ones it chose to manage (``via_prefecture``) for as long
  as it still belongs to that prefecture, however the membership was ended; acting as
  manager of an EPCI that straddles départements, it reaches only the delegating
  communes of its own département, never another prefecture's;
- an inspector (``InspectorGrant``) reads every register of its département;
- national staff read and write everything.

It costs no query of its own for a logged-in visitor: the authentication backends read
it with the account (``load_user``, one query for both); otherwise one small query, made
on first use; none for anonymous visitors. The result is kept on
the user object, so that code receiving only ``user`` shares it. Querysets then filter
on these ids (``Authority.objects.readable_by``…) instead of nesting subqueries that
Django would rebuild, at a cost in CPU greater than the SQL itself, on every call.

A change of access (a decision, a membership ended, a delegation) forgets every scope
built before it in this process: ``forget_scope`` for bulk updates, a signal for saves.
"""

from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

from mesads.authorities.models import answer_from_above

from .models import AuthorityAccess, InspectorGrant, PrefectureMembership, User

_ACCESS, _AGENT, _INSPECTOR = "access", "agent", "inspector"
_CACHE = "_mesads_scope"

# Bumped on every change of access: a scope built under an older generation is stale.
_generation = 0


class Scope:
    """What one user may reach. Build it with ``scope_for(user)``."""

    def __init__(self, user: Any, rows: list[tuple] | None = None) -> None:
        """``rows``: the scope query's rows when already read (``load_user``)."""
        self.user_id = user.pk
        self.is_active = bool(user.is_authenticated and user.is_active)
        self.is_staff = self.is_active and user.is_staff
        self.generation = _generation
        self._rows = rows

    # --- what the database says (read once, on first use) ------------------------------

    @cached_property
    def _ids(self) -> tuple[frozenset[int], frozenset[int], frozenset[int], frozenset[int]]:
        """(agent départements, inspected départements, managed authorities, writable
        authorities), from one query: the user's accepted accesses, each with the
        communes that delegated to it (one row per commune), then the user's accepted
        prefecture memberships and inspector grants."""
        if not self.is_active:
            return frozenset(), frozenset(), frozenset(), frozenset()
        rows = self._rows
        if rows is None:
            with connection.cursor() as cursor:
                cursor.execute(*_scope_query(self.user_id, with_accesses=not self.is_staff))
                rows = cursor.fetchall()
        agent = {row[1] for row in rows if row[0] == _AGENT}
        inspected = {row[1] for row in rows if row[0] == _INSPECTOR}
        managed, delegating = set(), set()
        for kind, departement_id, authority_id, via_prefecture, commune_id, commune_dept in rows:
            if kind != _ACCESS:
                continue
            # An agent's "act as manager" access lasts only while the agent still belongs
            # to that département's prefecture, however the membership was ended.
            if not via_prefecture or departement_id in agent:
                managed.add(authority_id)
            # Through an EPCI managed as an agent, only the delegating communes of the
            # agent's own départements, never another prefecture's.
            if commune_id is not None and (not via_prefecture or commune_dept in agent):
                delegating.add(commune_id)
        return (
            frozenset(agent),
            frozenset(inspected),
            frozenset(managed),
            frozenset(managed | delegating),
        )

    # --- roles ---------------------------------------------------------------------------

    @property
    def agent_departement_ids(self) -> frozenset[int]:
        """The départements whose prefecture staff the user belongs to (accepted)."""
        return self._ids[0]

    @property
    def inspected_departement_ids(self) -> frozenset[int]:
        return self._ids[1]

    @property
    def readable_departement_ids(self) -> frozenset[int]:
        """The départements of which the user reads every register."""
        return self._ids[0] | self._ids[1]

    @property
    def is_prefecture_agent(self) -> bool:
        return bool(self.agent_departement_ids)

    @property
    def managed_authority_ids(self) -> frozenset[int]:
        """The authorities the user manages themself (not through a delegation)."""
        return self._ids[2]

    @property
    def writable_authority_ids(self) -> frozenset[int]:
        """The registers the user may change (locks aside), national staff excepted."""
        return self._ids[3]

    # --- one authority -------------------------------------------------------------------

    def can_read(self, authority: Any) -> bool:
        return self.is_staff or (
            self.is_active
            and (
                authority.pk in self.writable_authority_ids
                or authority.departement_id in self.readable_departement_ids
            )
        )

    def can_write(self, authority: Any) -> bool:
        """Whether the user may change the authority's register, locks aside."""
        return self.is_staff or (self.is_active and authority.pk in self.writable_authority_ids)

    def supervises(self, authority: Any) -> bool:
        """Whether the authority is in a département whose prefecture staff the user is."""
        return self.is_staff or (
            self.is_active and authority.departement_id in self.agent_departement_ids
        )

    # --- conditions for querysets --------------------------------------------------------
    # ``prefix`` leads from the queried model to the authority ("" for Authority itself,
    # "authority__" for ADS). None: nothing matches; an empty Q: everything does.

    def readable_q(self, prefix: str = "") -> Q | None:
        if self.is_staff:
            return Q()
        return _either(
            _in(f"{prefix}pk", self.writable_authority_ids),
            _in(f"{prefix}departement_id", self.readable_departement_ids),
        )

    def writable_q(self, prefix: str = "") -> Q | None:
        if self.is_staff:
            return Q()
        return _in(f"{prefix}pk", self.writable_authority_ids)

    def supervised_q(self, prefix: str = "") -> Q | None:
        if self.is_staff:
            return Q()
        return _in(f"{prefix}departement_id", self.agent_departement_ids)


# The user's accepted accesses (each with the communes that delegated to it, one row per
# commune), accepted prefecture memberships and inspector grants, as rows of (kind,
# département, authority, via prefecture, delegating commune, its département). Written
# as SQL: built with the ORM, this union of three querysets cost more CPU to compile on
# every request (1.2–1.9 ms) than PostgreSQL spent running it (tests/users/test_scope.py runs it
# for every role on both databases). National staff write everywhere: their accesses are
# not read.
_ACCESSES_SQL = """
    SELECT 'access' AS kind, a.departement_id AS departement_id, x.authority_id AS authority_id,
        x.via_prefecture AS via_prefecture, d.id AS commune_id,
        d.departement_id AS commune_departement_id
    FROM users_authorityaccess x
    INNER JOIN ads_authority a ON a.id = x.authority_id
    LEFT OUTER JOIN ads_authority d ON d.delegated_to_id = a.id
    WHERE x.status = %s AND x.user_id = %s
    UNION ALL
"""
_ROLES_SQL = """
    SELECT 'agent' AS kind, m.departement_id AS departement_id, NULL AS authority_id,
        %s AS via_prefecture, NULL AS commune_id, NULL AS commune_departement_id
    FROM users_prefecturemembership m WHERE m.status = %s AND m.user_id = %s
    UNION ALL
    SELECT 'inspector', g.departement_id, NULL, %s, NULL, NULL
    FROM users_inspectorgrant g WHERE g.user_id = %s
"""


def _scope_query(user_id: int, *, with_accesses: bool) -> tuple[str, list[Any]]:
    params: list[Any] = [AuthorityAccess.Status.ACCEPTED.value, user_id] if with_accesses else []
    params += [False, PrefectureMembership.Status.ACCEPTED.value, user_id, False, user_id]
    return (_ACCESSES_SQL if with_accesses else "") + _ROLES_SQL, params


# The account a session names, with its scope, in one query (``load_user``): the user's
# row once per row of the scope query, or once with NULLs when the scope is empty.
_SCOPE_COLUMNS = (
    "kind",
    "departement_id",
    "authority_id",
    "via_prefecture",
    "commune_id",
    "commune_departement_id",
)
_USER_AND_SCOPE_SQL = """
    SELECT u.*, s.kind AS scope_kind, s.departement_id AS scope_departement_id,
        s.authority_id AS scope_authority_id, s.via_prefecture AS scope_via_prefecture,
        s.commune_id AS scope_commune_id, s.commune_departement_id AS scope_commune_departement_id
    FROM users_user u LEFT OUTER JOIN ({scope}) s ON 1 = 1
    WHERE u.id = %s
"""


def load_user(user_id: int) -> User | None:
    """The account ``user_id``, with its scope already worked out: what the
    authentication backends give for a session, so that a logged-in page pays one query,
    not two, for who the user is and what they may reach."""
    scope_sql, params = _scope_query(user_id, with_accesses=True)
    sql = _USER_AND_SCOPE_SQL.format(scope=scope_sql)
    # raw(): the database's values converted as the ORM does (SQLite's dates, booleans).
    rows = list(User.objects.raw(sql, [*params, user_id]))
    if not rows:
        return None
    user = rows[0]
    scope_rows = []
    for row in rows:
        values = tuple(row.__dict__.pop(f"scope_{column}") for column in _SCOPE_COLUMNS)
        # National staff's accesses are read (their status is known only from this very
        # row) but not kept, as Scope does not read them.
        if values[0] is not None and not (user.is_staff and values[0] == _ACCESS):
            scope_rows.append(values)
    setattr(user, _CACHE, Scope(user, scope_rows))
    return user


def _in(lookup: str, ids: frozenset[int]) -> Q | None:
    # Sorted: the same scope gives the same SQL.
    return Q(**{f"{lookup}__in": sorted(ids)}) if ids else None


def _either(*conditions: Q | None) -> Q | None:
    kept = [condition for condition in conditions if condition is not None]
    if not kept:
        return None
    result = kept[0]
    for condition in kept[1:]:
        result |= condition
    return result


def scope_for(user: Any) -> Scope:
    """The user's scope, built on first use and kept on the user object."""
    scope = getattr(user, _CACHE, None)
    if scope is None or scope.generation != _generation:
        scope = Scope(user)
        if user.is_authenticated:
            setattr(user, _CACHE, scope)
    return scope


def forget_scope(user: Any = None) -> None:
    """Call after changing accesses without ``save()`` (a queryset ``update``): every
    scope built before, this user's (even through another object) or anyone's, is
    worked out again on its next use."""
    global _generation
    _generation += 1
    if user is not None and hasattr(user, _CACHE):
        delattr(user, _CACHE)


def _access_changed(sender: Any, **kwargs: Any) -> None:
    forget_scope()


# The user too: the scope holds whether they are active and national staff.
for _model in (
    AuthorityAccess,
    PrefectureMembership,
    InspectorGrant,
    "authorities.Authority",
    User,
):
    post_save.connect(_access_changed, sender=_model, dispatch_uid=f"scope-{_model}-save")
    post_delete.connect(_access_changed, sender=_model, dispatch_uid=f"scope-{_model}-delete")


# The authorities' queries (``Authority.objects.readable_by``…) filter on this scope.
answer_from_above(scope_for=scope_for)
