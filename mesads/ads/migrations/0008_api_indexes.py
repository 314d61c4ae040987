import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ads", "0007_authority_search_name_refill")]

    operations = [
        migrations.AddIndex(
            model_name="ads",
            index=models.Index(
                models.F("authority"),
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
                condition=models.Q(("deleted_at__isnull", True)),
                name="ads_live_authority_number_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ads",
            index=models.Index(fields=["updated_at"], name="ads_updated_at_idx"),
        ),
    ]
