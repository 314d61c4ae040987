"""The API's look-ups, each limited to what the key may reach, each index-backed."""

import functools
import re

from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from mesads.ads.models import (
    ADS,
    AuthorityDecree,
    Driver,
    declaration_state,
    live_ads_count,
    number_search_expression,
)
from mesads.ads.validators import plate_search_key
from mesads.authorities.models import Authority
from mesads.geo.models import Airport, Commune, Departement

from .keys import Caller
from .representation import ADS_COLUMNS, api_queryset

# Built once: Django works out an expression's identity (for its SQL cache) through
# inspect.signature, which costs more than the query when rebuilt for every call.
NUMBER_KEY = number_search_expression()


def card_key(value: str) -> str:
    """A professional card number as compared: upper-case letters and digits only."""
    return re.sub(r"[^A-Z0-9]", "", (value or "").upper())


def in_scope(queryset, caller: Caller, prefix: str = "authority__"):
    if caller.is_national:
        return queryset
    return queryset.filter(**{f"{prefix}departement_id__in": sorted(caller.departement_ids)})


def scoped_departement(caller: Caller, code: str) -> Departement | None:
    """The département of ``code`` if the key reaches it, else None (a 404)."""
    departement = Departement.objects.filter(code=code.upper()).first()
    if departement is None:
        return None
    if not caller.is_national and departement.pk not in caller.departement_ids:
        return None
    return departement


def insee_q(code: str) -> Q:
    """ADS attached to the commune ``code`` (see representation.insee_code)."""
    return (
        Q(commune__insee_code=code)
        | Q(commune__isnull=True, authority__commune__insee_code=code)
        | Q(commune__isnull=True, authority__prefecture__chef_lieu_code=code)
    )


def live_ads(caller: Caller):
    return in_scope(api_queryset().filter(deleted_at__isnull=True), caller)


def find_for_verification(caller: Caller, insee: str, number: str) -> tuple[ADS | None, bool]:
    """The ADS numbered ``number`` (in any spelling) attached to the commune ``insee``,
    and whether the commune is within the key's reach (False: a 404).

    The commune's own authority first; then an ADS whose commune of use it is (an EPCI's);
    then, for an ADS without a commune, the EPCI the commune delegated to, the prefecture
    (Paris) or an airport of its département. le.taxi calls this for every taxi it
    registers, so it is three short hand-written queries (``verification_sql``), each on
    an index, rather than the ORM's five: the commune and the authorities that may hold
    its ADS, the ADS by (authority, number key) or (commune, number key) with what the
    representation reads, then its drivers.
    """
    sql = verification_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql.authorities, [insee.upper()] * 3)
        rows = cursor.fetchall()
    communes = [row for row in rows if row[0] == "commune"]
    if not communes:
        return None, True
    departement_ids = {row[2] for row in communes}
    if not caller.is_national and not departement_ids & caller.departement_ids:
        return None, False
    commune_ids = [row[1] for row in communes]
    own = [row[3] for row in communes if row[3]]
    # For an ADS without a commune: the EPCI the commune delegated to, the prefecture's or
    # an airport's authority of its département.
    others = [row[4] for row in communes if row[4]]
    others += [row[3] for row in rows if row[0] != "commune"]
    key = re.sub(r"[- ./]", "", number.upper())
    scope = [] if caller.is_national else sorted(caller.departement_ids)
    candidates = list(ADS.objects.raw(*sql.candidates(key, own, commune_ids, others, scope)))

    def rank(ads: ADS) -> tuple:
        return (
            ads.authority_id not in own,
            ads.commune_id not in commune_ids,
            ads.number.strip().upper() != number.strip().upper(),
            ads.pk,
        )

    if not candidates:
        return None, True
    ads = min(candidates, key=rank)
    sql.attach_related(ads)
    ads.api_drivers = list(Driver.objects.raw(sql.drivers, [ads.pk]))
    return ads, True


class VerificationSQL:
    """The verification's SQL for one database vendor, written once per process from the
    models' tables and columns; the number key is the indexed expression, compiled by the
    ORM (``ads_live_authority_number_idx``)."""

    # What the representation reads of an ADS's relations (api_queryset's select_related),
    # selected beside the ADS's own columns: (attribute, column of the authority ``a`` or
    # of a row of the table named next). Scalar subqueries rather than four more joins:
    # PostgreSQL plans the query in 0.4 ms instead of 1.6.
    RELATED = [
        ("r_authority_type", "type", None),
        ("r_departement_id", "departement_id", None),
        ("r_authority_commune_id", "commune_id", None),
        ("r_prefecture_id", "prefecture_id", None),
        ("r_departement_code", "code", (Departement, "a.departement_id")),
        ("r_authority_insee", "insee_code", (Commune, "a.commune_id")),
        ("r_chef_lieu_code", "chef_lieu_code", (Departement, "a.prefecture_id")),
        ("r_commune_insee", "insee_code", (Commune, "{ads}.commune_id")),
    ]

    def __init__(self):
        q = connection.ops.quote_name
        ads, authority = ADS._meta.db_table, Authority._meta.db_table
        commune, airport = Commune._meta.db_table, Airport._meta.db_table
        # The commune's rows (its authority, the EPCI that authority delegates to), then
        # the authorities of its département's prefecture and airports.
        communes_departement = f"SELECT departement_id FROM {q(commune)} WHERE insee_code = %s"  # noqa: S608
        in_departement = f"IN ({communes_departement})"
        self.authorities = f"""
            SELECT 'commune', c.id, c.departement_id, a.id, a.delegated_to_id
              FROM {q(commune)} c LEFT JOIN {q(authority)} a ON a.commune_id = c.id
             WHERE c.insee_code = %s
            UNION ALL
            SELECT 'prefecture', NULL, NULL, a.id, NULL
              FROM {q(authority)} a WHERE a.prefecture_id {in_departement}
            UNION ALL
            SELECT 'airport', NULL, NULL, a.id, NULL
              FROM {q(authority)} a JOIN {q(airport)} ap ON ap.id = a.airport_id
             WHERE ap.departement_id {in_departement}
        """  # noqa: S608 (table names from the models; values are parameters)
        # The ADS's own columns api_queryset() reads, its commune's id (that query reads it
        # through select_related) included.
        self.columns = ["id", "commune_id"] + [
            ADS._meta.get_field(name).column for name in ADS_COLUMNS if "__" not in name
        ]
        query = ADS.objects.alias(number_key=NUMBER_KEY).filter(number_key="").query
        compiler = query.get_compiler(connection=connection)
        self.number_key_sql, self.number_key_params = compiler.compile(
            query.annotations["number_key"]
        )
        related = []
        for name, column, row_of in self.RELATED:
            if row_of is None:
                related.append(f"a.{q(column)} AS {name}")
            else:
                model, key = row_of
                table, key = q(model._meta.db_table), key.format(ads=q(ads))
                value = f"SELECT {q(column)} FROM {table} WHERE id = {key}"  # noqa: S608
                related.append(f"({value}) AS {name}")
        self.select = f"""
            SELECT {", ".join(f"{q(ads)}.{q(column)}" for column in self.columns)},
                   {", ".join(related)}
              FROM {q(ads)} JOIN {q(authority)} a ON a.id = {q(ads)}.authority_id
             WHERE {q(ads)}.deleted_at IS NULL AND {self.number_key_sql} = %s
        """  # noqa: S608 (table and column names from the models; values are parameters)
        self.ads_table = q(ads)
        driver = Driver._meta
        self.drivers = (
            f"SELECT id, ads_id, status, name, card_number FROM {q(driver.db_table)} "  # noqa: S608
            "WHERE ads_id = %s ORDER BY id"
        )

    def candidates(self, key, own, commune_ids, others, scope) -> tuple[str, list]:
        def marks(values):
            return ", ".join(["%s"] * len(values)) or "NULL"

        t = self.ads_table
        sql = (
            self.select
            + f""" AND ({t}.authority_id IN ({marks(own)})
                  OR {t}.commune_id IN ({marks(commune_ids)})
                  OR ({t}.commune_id IS NULL AND {t}.authority_id IN ({marks(others)})))"""
            + (f" AND a.departement_id IN ({marks(scope)})" if scope else "")
            + " LIMIT 20"
        )
        return sql, [*self.number_key_params, key, *own, *commune_ids, *others, *scope]

    def attach_related(self, ads: ADS) -> None:
        """The relations the representation reads, from the columns selected beside the
        ADS (no query)."""
        authority = Authority(
            pk=ads.authority_id,
            type=ads.r_authority_type,
            departement_id=ads.r_departement_id,
            commune_id=ads.r_authority_commune_id,
            prefecture_id=ads.r_prefecture_id,
        )
        if authority.departement_id:
            authority.departement = Departement(
                pk=authority.departement_id, code=ads.r_departement_code
            )
        if authority.commune_id:
            authority.commune = Commune(pk=authority.commune_id, insee_code=ads.r_authority_insee)
        if authority.prefecture_id:
            authority.prefecture = Departement(
                pk=authority.prefecture_id, chef_lieu_code=ads.r_chef_lieu_code
            )
        ads.authority = authority
        if ads.commune_id:
            ads.commune = Commune(pk=ads.commune_id, insee_code=ads.r_commune_insee)


@functools.cache
def verification_sql(vendor: str) -> VerificationSQL:
    return VerificationSQL()


def plate_matches(ads: ADS, plate: str) -> bool:
    return bool(ads.plate_search) and ads.plate_search == plate_search_key(plate)


def card_matches(ads: ADS, card: str) -> bool:
    wanted = card_key(card)
    return bool(wanted) and any(card_key(d.card_number) == wanted for d in ads.api_drivers)


# --- authorities ------------------------------------------------------------------------


def authorities(caller: Caller):
    latest_decree = AuthorityDecree.objects.filter(authority=OuterRef("pk")).order_by(
        "-date", "-pk"
    )
    queryset = (
        Authority.objects.select_related("commune", "epci", "prefecture", "airport", "departement")
        .annotate(
            live_ads=live_ads_count(),
            decree_count=Subquery(latest_decree.values("ads_count")[:1]),
            decree_date=Subquery(latest_decree.values("date")[:1]),
        )
        .annotate(declaration=declaration_state("live_ads"))
    )
    return in_scope(queryset, caller, prefix="")


def authority_data(authority: Authority) -> dict:
    decree_date = authority.decree_date
    return {
        "id": authority.pk,
        "type": authority.type,
        "nom": authority.name,
        "code": authority.code or None,
        "departement": authority.departement.code if authority.departement_id else None,
        "declaration": authority.declaration,
        "delegue_a": authority.delegated_to_id,
        "nombre_ads": authority.live_ads,
        "nombre_ads_attendu": authority.expected_ads_count,
        "arrete_nombre_ads": authority.decree_count,
        "arrete_date": decree_date.isoformat() if decree_date else None,
    }
