"""Authorities created by ``load_geography`` before the fix had an empty search name
(bulk creation skips ``Authority.save()``), so no search by name found them."""

from django.db import migrations

from mesads.core.text import search_key


def refill_search_names(apps, schema_editor):
    Authority = apps.get_model("ads", "Authority")
    authorities = list(Authority.objects.filter(search_name="").only("pk", "name"))
    for authority in authorities:
        authority.search_name = search_key(authority.name)
    Authority.objects.bulk_update(authorities, ["search_name"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("ads", "0006_keyset_and_trigram_indexes")]

    operations = [migrations.RunPython(refill_search_names, migrations.RunPython.noop)]
