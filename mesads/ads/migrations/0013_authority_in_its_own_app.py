"""Authority leaves the register for its own app (mesads.authorities).

State only: the register's foreign keys now name ``authorities.Authority``, and the model
leaves this app's state; its table ``ads_authority`` stays, with its rows, and is now the
authorities app's (``db_table``). Nothing is written to the database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ads", "0012_renewal_due_index_includes_dates"),
        ("authorities", "0001_initial"),
        ("lifecycle", "0003_authority_in_its_own_app"),
        ("reminders", "0003_authority_in_its_own_app"),
        ("users", "0006_authority_in_its_own_app"),
        ("waitinglists", "0002_authority_in_its_own_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='registerchange',
                    name='authority',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='authorities.authority'),
                ),
                migrations.AlterField(
                    model_name='ads',
                    name='authority',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ads', to='authorities.authority', verbose_name='gestionnaire'),
                ),
                migrations.AlterField(
                    model_name='authoritydecree',
                    name='authority',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='decrees', to='authorities.authority', verbose_name='gestionnaire'),
                ),
                migrations.DeleteModel(
                    name='Authority',
                ),
            ],
        ),
    ]
