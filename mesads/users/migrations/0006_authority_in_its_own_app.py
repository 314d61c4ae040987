"""State only: the foreign key now names ``authorities.Authority``, the same table
(``ads_authority``); nothing is written to the database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [('users', '0005_failedemail'), ('authorities', '0001_initial')]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='authorityaccess',
                    name='authority',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='accesses', to='authorities.authority', verbose_name='gestionnaire'),
                ),
            ],
        ),
    ]
