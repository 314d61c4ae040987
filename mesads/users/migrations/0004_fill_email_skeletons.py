"""Every existing account's email_skeleton, which new and saved accounts get from save()."""

from django.db import migrations

from mesads.users.models import email_skeleton


def fill(apps, schema_editor):
    User = apps.get_model("users", "User")
    batch = []
    for user in User.objects.only("pk", "email").iterator(chunk_size=2000):
        user.email_skeleton = email_skeleton(user.email)
        batch.append(user)
        if len(batch) == 2000:
            User.objects.bulk_update(batch, ["email_skeleton"])
            batch = []
    User.objects.bulk_update(batch, ["email_skeleton"])


class Migration(migrations.Migration):
    dependencies = [("users", "0003_proconnect_links_and_email_skeleton")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
