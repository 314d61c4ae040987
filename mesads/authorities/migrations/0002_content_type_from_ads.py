"""The content type of Authority follows it: the row ``ads.authority`` is renamed
``authorities.authority``, keeping its id, so that what points at it (the admin's log,
django-reversion's versions, the permissions and who holds them) still finds every
authority's history. Without it, the old row would be stale and a new one made.

The versions of an authority, if any, name their model in their serialized data: renamed
too, so that they still read."""

import re

from django.db import migrations


def _rename(apps, schema_editor, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Version = apps.get_model("reversion", "Version")
    alias = schema_editor.connection.alias
    rows = ContentType.objects.using(alias)
    content_type = rows.filter(app_label=old, model="authority").first()
    if content_type is None:
        return  # a new database: the content type is made after the migrations
    # Made by a migrate that stopped between the two migrations: it holds only the
    # permissions made with it, while the old row holds the history.
    rows.filter(app_label=new, model="authority").delete()
    content_type.app_label = new
    content_type.save(update_fields=["app_label"])
    label = re.compile(rf'("model"\s*:\s*"){old}\.authority"')
    versions = Version.objects.using(alias).filter(content_type=content_type, format="json")
    for version in versions.iterator():
        version.serialized_data = label.sub(rf'\g<1>{new}.authority"', version.serialized_data)
        version.save(update_fields=["serialized_data"])


def forwards(apps, schema_editor) -> None:
    _rename(apps, schema_editor, "ads", "authorities")


def backwards(apps, schema_editor) -> None:
    _rename(apps, schema_editor, "authorities", "ads")


class Migration(migrations.Migration):
    dependencies = [
        ("authorities", "0001_initial"),
        ("ads", "0013_authority_in_its_own_app"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("reversion", "0002_add_index_on_version_for_content_type_and_db"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
