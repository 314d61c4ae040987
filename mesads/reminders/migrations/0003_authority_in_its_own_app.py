"""State only: the foreign key now names ``authorities.Authority``, the same table
(``ads_authority``); nothing is written to the database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [('reminders', '0002_campaign_recipient_attempts'), ('authorities', '0001_initial')]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='campaignrecipient',
                    name='authority',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='authorities.authority', verbose_name='gestionnaire'),
                ),
                migrations.AlterField(
                    model_name='campaigntarget',
                    name='authority',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='authorities.authority', verbose_name='gestionnaire'),
                ),
            ],
        ),
    ]
