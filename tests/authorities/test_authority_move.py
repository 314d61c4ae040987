"""Authority moved from the register (``ads``) to its own app (``authorities``) without a
copy: same table, same rows, and the same content type row, so that an authority's
history made before the move (django-reversion's versions, the admin's log) still reads."""

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from reversion.models import Version

from mesads.authorities.models import Authority

BEFORE = [("authorities", None)]  # main's state: Authority still in mesads.ads


def _migrate(targets):
    """Migrate to ``targets``; the models as they were there."""
    MigrationExecutor(connection).migrate(targets)
    applied = MigrationExecutor(connection).loader.applied_migrations
    return MigrationExecutor(connection).loader.project_state(list(applied)).apps


def test_the_history_of_an_authority_made_before_the_move_still_reads(transactional_db):
    old = _migrate(BEFORE)
    OldContentType = old.get_model("contenttypes", "ContentType")
    content_type, _ = OldContentType.objects.get_or_create(app_label="ads", model="authority")
    gard = old.get_model("geo", "Departement").objects.create(code="30", name="Gard")
    authority = old.get_model("ads", "Authority").objects.create(
        type="prefecture", name="Préfecture du Gard", prefecture=gard, departement=gard
    )
    revision = old.get_model("reversion", "Revision").objects.create(
        date_created="2026-01-05T10:00:00Z", comment="Avant le déménagement"
    )
    old.get_model("reversion", "Version").objects.create(
        revision=revision,
        object_id=str(authority.pk),
        content_type=content_type,
        db="default",
        format="json",
        serialized_data=(
            f'[{{"model": "ads.authority", "pk": {authority.pk}, "fields": {{"type": '
            '"prefecture", "name": "Préfecture du Gard (avant)", "search_name": "", '
            f'"departement": {gard.pk}, "commune": null, "epci": null, "prefecture": '
            f'{gard.pk}, "airport": null, "declares_no_ads": false, "delegated_to": null, '
            '"is_locked": false, "lock_reason": "", "expected_ads_count": null}}]'
        ),
        object_repr="Préfecture du Gard",
    )
    user = old.get_model("users", "User").objects.create(email="agent@example.fr")
    old.get_model("admin", "LogEntry").objects.create(
        user=user,
        content_type=content_type,
        object_id=str(authority.pk),
        object_repr="Préfecture du Gard",
        action_flag=CHANGE,
        change_message="[]",
        action_time="2026-01-05T10:00:00Z",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    moved = Authority.objects.get(pk=authority.pk)
    assert moved.name == "Préfecture du Gard"
    # The same row, renamed: nothing left under the old label.
    assert ContentType.objects.get_for_model(Authority).pk == content_type.pk
    assert not ContentType.objects.filter(app_label="ads", model="authority").exists()
    # Authority's versions as a history page reads them: by content type and id.
    [version] = Version.objects.filter(
        content_type=ContentType.objects.get_for_model(Authority), object_id=str(moved.pk)
    )
    assert version.revision.comment == "Avant le déménagement"
    [restored] = serializers.deserialize(version.format, version.serialized_data)
    assert isinstance(restored.object, Authority)
    assert restored.object.name == "Préfecture du Gard (avant)"
    assert LogEntry.objects.get(object_id=str(moved.pk)).get_edited_object() == moved
