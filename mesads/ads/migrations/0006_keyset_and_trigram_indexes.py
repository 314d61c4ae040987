"""Indexes for pages that cost the same at any position, and searches that read the
matching rows only.

- ``ads_live_authority_sort_idx``: the ADS list seeks in it and counts from it (an
  index-only scan); ``change_departement_feed_idx``: the prefecture's feed, its order made
  total by the id; ``ads_number_search_idx``: numbers compared without dashes or spaces.
- On PostgreSQL only, pg_trgm GIN indexes on the expressions Django writes for
  ``icontains`` / ``contains`` / ``startswith`` (``UPPER(col::text) LIKE UPPER('%…%')``,
  ``col::text LIKE '%…%'``). The extension is created where the role may (pg_trgm is a
  trusted extension since PostgreSQL 13: a database owner may); where it may not, the
  indexes are skipped with a notice and searches still work, by scanning. SQLite has no
  GIN: nothing is done there, the same lookups work unindexed.

These indexes are not in the models' ``Meta.indexes``: they exist on PostgreSQL only.
"""

import django.db.models.functions.text
from django.db import migrations, models, transaction
from django.db.utils import DatabaseError

TRIGRAM_INDEXES = {
    "ads_holder_name_trgm_idx": ("ADS", "UPPER(holder_name::text)"),
    "ads_drivers_search_trgm_idx": ("ADS", "UPPER(drivers_search::text)"),
    "ads_plate_search_trgm_idx": ("ADS", "(plate_search::text)"),
    "ads_holder_siret_trgm_idx": ("ADS", "(holder_siret::text)"),
    "authority_search_name_trgm_idx": ("Authority", "(search_name::text)"),
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        print(f"\n  pg_trgm unavailable ({error}): text searches will not be indexed.")
        return
    for name, (model, expression) in TRIGRAM_INDEXES.items():
        table = schema_editor.quote_name(apps.get_model("ads", model)._meta.db_table)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression} gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("ads", "0005_authority_search_name"),
        ("geo", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="registerchange",
            name="change_departement_date_idx",
        ),
        migrations.AddIndex(
            model_name="registerchange",
            index=models.Index(
                fields=["departement", "-created_at", "-id"], name="change_departement_feed_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ads",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["authority", "number_sort_key", "id"],
                name="ads_live_authority_sort_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ads",
            index=models.Index(
                django.db.models.functions.text.Replace(
                    django.db.models.functions.text.Replace(
                        django.db.models.functions.text.Replace(
                            django.db.models.functions.text.Replace(
                                django.db.models.functions.text.Upper("number"),
                                models.Value("-"),
                                models.Value(""),
                            ),
                            models.Value(" "),
                            models.Value(""),
                        ),
                        models.Value("."),
                        models.Value(""),
                    ),
                    models.Value("/"),
                    models.Value(""),
                ),
                name="ads_number_search_idx",
            ),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
