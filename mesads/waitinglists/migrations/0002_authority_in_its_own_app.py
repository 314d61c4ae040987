"""State only: the foreign key now names ``authorities.Authority``, the same table
(``ads_authority``); nothing is written to the database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [('waitinglists', '0001_initial'), ('authorities', '0001_initial')]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='application',
                    name='authority',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='authorities.authority', verbose_name='gestionnaire'),
                ),
            ],
        ),
    ]
