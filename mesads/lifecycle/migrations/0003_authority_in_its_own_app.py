"""State only: the foreign key now names ``authorities.Authority``, the same table
(``ads_authority``); nothing is written to the database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [('lifecycle', '0002_transfer_exception'), ('authorities', '0001_initial')]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='transfer',
                    name='authority',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='authorities.authority', verbose_name='gestionnaire'),
                ),
            ],
        ),
    ]
