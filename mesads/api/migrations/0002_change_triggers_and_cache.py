"""Every write to an ADS or its drivers leaves a row in api_change, in the same
transaction, whatever wrote it (forms, imports' bulk writes and COPY, queryset updates,
deletions, restorations, generate_registry): database triggers, on SQLite (row level) and
PostgreSQL (statement level, over transition tables: one INSERT … SELECT per statement,
however many rows a bulk write touches). An authority moved to another département
records each of its ADS under both (a key limited to the old one is told it left).

The register as it stands is recorded once as creations, so that the feed alone can
rebuild a mirror. The cache table of the DatabaseCache (settings.CACHES without
REDIS_URL) is created here too, so that migrate is the only set-up step.
"""

from django.db import migrations
from django.utils import timezone

CACHE_TABLE = "mesads_cache"

# Columns written by every trigger, then the département of an authority id.
COLUMNS = "ads_id, departement_id, kind, created_at"
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def _dept(authority_id: str) -> str:
    return f"(SELECT departement_id FROM ads_authority WHERE id = {authority_id})"


def _dept_of_ads(ads_id: str) -> str:
    return (
        "(SELECT a.departement_id FROM ads_ads x JOIN ads_authority a ON a.id = x.authority_id "
        f"WHERE x.id = {ads_id})"
    )


ADS_UPDATE_KIND = (
    "CASE WHEN {o}.deleted_at IS NULL AND {n}.deleted_at IS NOT NULL THEN 'suppression' "
    "WHEN {o}.deleted_at IS NOT NULL AND {n}.deleted_at IS NULL THEN 'restauration' "
    "ELSE 'modification' END"
)

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER api_change_ads_insert AFTER INSERT ON ads_ads BEGIN
        INSERT INTO api_change ({COLUMNS}) VALUES (
            NEW.id, {_dept("NEW.authority_id")},
            CASE WHEN NEW.deleted_at IS NULL THEN 'creation' ELSE 'suppression' END,
            {SQLITE_NOW});
    END;
    """,
    f"""
    CREATE TRIGGER api_change_ads_update AFTER UPDATE ON ads_ads BEGIN
        INSERT INTO api_change ({COLUMNS}) VALUES (
            NEW.id, {_dept("NEW.authority_id")}, {ADS_UPDATE_KIND.format(o="OLD", n="NEW")},
            {SQLITE_NOW});
        INSERT INTO api_change ({COLUMNS})
            SELECT OLD.id, {_dept("OLD.authority_id")}, 'modification', {SQLITE_NOW}
            WHERE OLD.authority_id IS NOT NEW.authority_id;
    END;
    """,
    f"""
    CREATE TRIGGER api_change_ads_delete AFTER DELETE ON ads_ads BEGIN
        INSERT INTO api_change ({COLUMNS}) VALUES (
            OLD.id, {_dept("OLD.authority_id")}, 'suppression', {SQLITE_NOW});
    END;
    """,
    f"""
    CREATE TRIGGER api_change_driver_insert AFTER INSERT ON ads_driver BEGIN
        INSERT INTO api_change ({COLUMNS}) VALUES (
            NEW.ads_id, {_dept_of_ads("NEW.ads_id")}, 'modification', {SQLITE_NOW});
    END;
    """,
    f"""
    CREATE TRIGGER api_change_driver_update AFTER UPDATE ON ads_driver BEGIN
        INSERT INTO api_change ({COLUMNS}) VALUES (
            NEW.ads_id, {_dept_of_ads("NEW.ads_id")}, 'modification', {SQLITE_NOW});
        INSERT INTO api_change ({COLUMNS})
            SELECT OLD.ads_id, {_dept_of_ads("OLD.ads_id")}, 'modification', {SQLITE_NOW}
            WHERE OLD.ads_id IS NOT NEW.ads_id;
    END;
    """,
    f"""
    CREATE TRIGGER api_change_driver_delete AFTER DELETE ON ads_driver BEGIN
        INSERT INTO api_change ({COLUMNS}) VALUES (
            OLD.ads_id, {_dept_of_ads("OLD.ads_id")}, 'modification', {SQLITE_NOW});
    END;
    """,
    f"""
    CREATE TRIGGER api_change_authority_departement AFTER UPDATE OF departement_id
    ON ads_authority WHEN OLD.departement_id IS NOT NEW.departement_id BEGIN
        INSERT INTO api_change ({COLUMNS})
            SELECT id, OLD.departement_id, 'modification', {SQLITE_NOW}
            FROM ads_ads WHERE authority_id = NEW.id;
        INSERT INTO api_change ({COLUMNS})
            SELECT id, NEW.departement_id, 'modification', {SQLITE_NOW}
            FROM ads_ads WHERE authority_id = NEW.id;
    END;
    """,
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS api_change_{name};"
    for name in (
        "ads_insert",
        "ads_update",
        "ads_delete",
        "driver_insert",
        "driver_update",
        "driver_delete",
        "authority_departement",
    )
]

POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION api_change_ads() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO api_change ({COLUMNS})
            SELECT n.id, a.departement_id,
                   CASE WHEN n.deleted_at IS NULL THEN 'creation' ELSE 'suppression' END,
                   clock_timestamp()
            FROM new_rows n LEFT JOIN ads_authority a ON a.id = n.authority_id ORDER BY n.id;
        ELSIF TG_OP = 'UPDATE' THEN
            INSERT INTO api_change ({COLUMNS})
            SELECT n.id, a.departement_id, {ADS_UPDATE_KIND.format(o="o", n="n")},
                   clock_timestamp()
            FROM new_rows n JOIN old_rows o ON o.id = n.id
            LEFT JOIN ads_authority a ON a.id = n.authority_id ORDER BY n.id;
            INSERT INTO api_change ({COLUMNS})
            SELECT o.id, a.departement_id, 'modification', clock_timestamp()
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            LEFT JOIN ads_authority a ON a.id = o.authority_id
            WHERE o.authority_id <> n.authority_id ORDER BY o.id;
        ELSE
            INSERT INTO api_change ({COLUMNS})
            SELECT o.id, a.departement_id, 'suppression', clock_timestamp()
            FROM old_rows o LEFT JOIN ads_authority a ON a.id = o.authority_id ORDER BY o.id;
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER api_change_ads_insert AFTER INSERT ON ads_ads
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION api_change_ads();
    """,
    """
    CREATE TRIGGER api_change_ads_update AFTER UPDATE ON ads_ads
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_change_ads();
    """,
    """
    CREATE TRIGGER api_change_ads_delete AFTER DELETE ON ads_ads
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION api_change_ads();
    """,
    f"""
    CREATE FUNCTION api_change_driver() RETURNS trigger AS $$
    BEGIN
        -- Each branch names only the transition tables its event defines.
        IF TG_OP = 'INSERT' THEN
            INSERT INTO api_change ({COLUMNS})
            SELECT d.ads_id, a.departement_id, 'modification', clock_timestamp()
            FROM (SELECT DISTINCT ads_id FROM new_rows) d
            LEFT JOIN ads_ads x ON x.id = d.ads_id
            LEFT JOIN ads_authority a ON a.id = x.authority_id ORDER BY d.ads_id;
        ELSIF TG_OP = 'UPDATE' THEN
            INSERT INTO api_change ({COLUMNS})
            SELECT d.ads_id, a.departement_id, 'modification', clock_timestamp()
            FROM (SELECT ads_id FROM new_rows UNION SELECT ads_id FROM old_rows) d
            LEFT JOIN ads_ads x ON x.id = d.ads_id
            LEFT JOIN ads_authority a ON a.id = x.authority_id ORDER BY d.ads_id;
        ELSE
            INSERT INTO api_change ({COLUMNS})
            SELECT d.ads_id, a.departement_id, 'modification', clock_timestamp()
            FROM (SELECT DISTINCT ads_id FROM old_rows) d
            LEFT JOIN ads_ads x ON x.id = d.ads_id
            LEFT JOIN ads_authority a ON a.id = x.authority_id ORDER BY d.ads_id;
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER api_change_driver_insert AFTER INSERT ON ads_driver
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION api_change_driver();
    """,
    """
    CREATE TRIGGER api_change_driver_update AFTER UPDATE ON ads_driver
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_change_driver();
    """,
    """
    CREATE TRIGGER api_change_driver_delete AFTER DELETE ON ads_driver
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION api_change_driver();
    """,
    f"""
    CREATE FUNCTION api_change_authority() RETURNS trigger AS $$
    BEGIN
        INSERT INTO api_change ({COLUMNS})
        SELECT x.id, d.departement_id, 'modification', clock_timestamp()
        FROM ads_ads x
        CROSS JOIN (VALUES (OLD.departement_id), (NEW.departement_id)) AS d(departement_id)
        WHERE x.authority_id = NEW.id ORDER BY x.id;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER api_change_authority_departement AFTER UPDATE OF departement_id
    ON ads_authority FOR EACH ROW
    WHEN (OLD.departement_id IS DISTINCT FROM NEW.departement_id)
    EXECUTE FUNCTION api_change_authority();
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS api_change_authority_departement ON ads_authority;",
    *(
        f"DROP TRIGGER IF EXISTS api_change_{table}_{event} ON ads_{table};"
        for table in ("ads", "driver")
        for event in ("insert", "update", "delete")
    ),
    "DROP FUNCTION IF EXISTS api_change_ads();",
    "DROP FUNCTION IF EXISTS api_change_driver();",
    "DROP FUNCTION IF EXISTS api_change_authority();",
]


def forward(apps, schema_editor):
    connection = schema_editor.connection
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}[connection.vendor]
    for statement in statements:
        schema_editor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO api_change ({COLUMNS}) "
            "SELECT x.id, a.departement_id, 'creation', %s FROM ads_ads x "
            "JOIN ads_authority a ON a.id = x.authority_id "
            "WHERE x.deleted_at IS NULL ORDER BY x.id",
            [timezone.now()],
        )
    from django.core.management.commands.createcachetable import Command

    command = Command()
    command.verbosity = 0
    command.create_table(connection.alias, CACHE_TABLE, dry_run=False)


def backward(apps, schema_editor):
    statements = {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}
    for statement in statements[schema_editor.connection.vendor]:
        schema_editor.execute(statement)
    schema_editor.execute(f"DROP TABLE IF EXISTS {CACHE_TABLE}")
    schema_editor.execute("DELETE FROM api_change")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("ads", "0007_authority_search_name_refill"),
    ]

    operations = [migrations.RunPython(forward, backward)]
