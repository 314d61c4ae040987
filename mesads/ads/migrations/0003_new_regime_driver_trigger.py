"""A new-regime ADS (created on or after 1 October 2014) is operated by its holder
personally (article L3121-1-2 of the transport code): each of its drivers must be the
*titulaire exploitant*; with the unique constraint ``driver_one_titulaire_per_ads`` that
also means at most one driver.

The rule spans two tables, which a CHECK constraint cannot express: triggers named
``ads_new_regime_driver_is_titulaire*`` enforce it on both SQLite and PostgreSQL.
"""

from django.db import migrations

NEW_REGIME_START = "2014-10-01"
TITULAIRE = "titulaire_exploitant"
ERROR = "ads_new_regime_driver_is_titulaire"

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER {ERROR}_insert BEFORE INSERT ON ads_driver
    WHEN NEW.status <> '{TITULAIRE}'
     AND (SELECT creation_date FROM ads_ads WHERE id = NEW.ads_id) >= '{NEW_REGIME_START}'
    BEGIN SELECT RAISE(ABORT, '{ERROR}'); END;
    """,
    f"""
    CREATE TRIGGER {ERROR}_update BEFORE UPDATE OF status, ads_id ON ads_driver
    WHEN NEW.status <> '{TITULAIRE}'
     AND (SELECT creation_date FROM ads_ads WHERE id = NEW.ads_id) >= '{NEW_REGIME_START}'
    BEGIN SELECT RAISE(ABORT, '{ERROR}'); END;
    """,
    f"""
    CREATE TRIGGER {ERROR}_ads BEFORE UPDATE OF creation_date ON ads_ads
    WHEN NEW.creation_date >= '{NEW_REGIME_START}'
     AND EXISTS (SELECT 1 FROM ads_driver WHERE ads_id = NEW.id AND status <> '{TITULAIRE}')
    BEGIN SELECT RAISE(ABORT, '{ERROR}'); END;
    """,
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {ERROR}_{suffix};" for suffix in ("insert", "update", "ads")
]

POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION {ERROR}_driver() RETURNS trigger AS $$
    BEGIN
        IF NEW.status <> '{TITULAIRE}' AND EXISTS (
            SELECT 1 FROM ads_ads
            WHERE id = NEW.ads_id AND creation_date >= DATE '{NEW_REGIME_START}'
        ) THEN
            RAISE EXCEPTION '{ERROR}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE TRIGGER {ERROR}_driver BEFORE INSERT OR UPDATE OF status, ads_id ON ads_driver
    FOR EACH ROW EXECUTE FUNCTION {ERROR}_driver();
    """,
    f"""
    CREATE FUNCTION {ERROR}_ads() RETURNS trigger AS $$
    BEGIN
        IF NEW.creation_date >= DATE '{NEW_REGIME_START}' AND EXISTS (
            SELECT 1 FROM ads_driver WHERE ads_id = NEW.id AND status <> '{TITULAIRE}'
        ) THEN
            RAISE EXCEPTION '{ERROR}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE TRIGGER {ERROR}_ads BEFORE UPDATE OF creation_date ON ads_ads
    FOR EACH ROW EXECUTE FUNCTION {ERROR}_ads();
    """,
]
POSTGRES_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {ERROR}_driver ON ads_driver;",
    f"DROP TRIGGER IF EXISTS {ERROR}_ads ON ads_ads;",
    f"DROP FUNCTION IF EXISTS {ERROR}_driver();",
    f"DROP FUNCTION IF EXISTS {ERROR}_ads();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("ads", "0002_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
