"""On PostgreSQL, two uses of one relay vehicle never overlap: an exclusion constraint
on (vehicle, [start, end]) with btree_gist (a trusted extension since PostgreSQL 13: a
database owner may create it). ``Use.clean()`` says the same in French for forms; this
catches two members recording at once. SQLite has no such constraint: clean() only.
Not declared on the model, so that the model's state stays the same on both databases.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE relais_use ADD CONSTRAINT relais_use_no_overlap
    EXCLUDE USING gist (vehicle_id WITH =, daterange(start, "end", '[]') WITH &&);
"""
DROP = "ALTER TABLE relais_use DROP CONSTRAINT IF EXISTS relais_use_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("relais", "0001_register")]

    operations = [migrations.RunPython(forwards, backwards)]
