"""Authority moves from the register (mesads.ads) to its own app, below the accounts.

State only: the table stays ``ads_authority`` (``db_table``), with its rows, indexes and
constraints; nothing is written to the database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("geo", "0001_initial"),
        ("ads", "0012_renewal_due_index_includes_dates"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Authority',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('type', models.CharField(choices=[('commune', 'Commune'), ('epci', 'EPCI'), ('prefecture', 'Préfecture'), ('airport', 'Aéroport')], max_length=20, verbose_name='type')),
                        ('name', models.CharField(max_length=200, verbose_name='nom')),
                        ('search_name', models.CharField(blank=True, editable=False, max_length=200)),
                        ('declares_no_ads', models.BooleanField(default=False, verbose_name='déclare n’avoir aucune ADS sur son territoire')),
                        ('is_locked', models.BooleanField(default=False, help_text='Le registre de ce gestionnaire est alimenté par un fichier national : il ne se modifie pas dans l’interface.', verbose_name='verrouillé')),
                        ('lock_reason', models.CharField(blank=True, max_length=300, verbose_name='motif du verrouillage')),
                        ('expected_ads_count', models.PositiveIntegerField(blank=True, help_text='Renseigné par la préfecture, d’après l’arrêté fixant le nombre d’ADS.', null=True, verbose_name='nombre d’ADS attendu')),
                        ('airport', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='authority', to='geo.airport')),
                        ('commune', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='authority', to='geo.commune')),
                        ('delegated_to', models.ForeignKey(blank=True, limit_choices_to={'type': 'epci'}, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='delegating_authorities', to='authorities.authority', verbose_name='gestion déléguée à l’EPCI')),
                        ('departement', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='authorities', to='geo.departement', verbose_name='département')),
                        ('epci', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='authority', to='geo.epci')),
                        ('prefecture', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='prefecture_authority', to='geo.departement', verbose_name='préfecture du département')),
                    ],
                    options={
                        'verbose_name': 'gestionnaire d’ADS',
                        'verbose_name_plural': 'gestionnaires d’ADS',
                        'db_table': 'ads_authority',
                        'ordering': ['name'],
                        'indexes': [models.Index(fields=['departement', 'type'], name='authority_dept_type_idx')],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('airport__isnull', True), ('commune__isnull', False), ('epci__isnull', True), ('prefecture__isnull', True), ('type', 'commune')), models.Q(('airport__isnull', True), ('commune__isnull', True), ('epci__isnull', False), ('prefecture__isnull', True), ('type', 'epci')), models.Q(('airport__isnull', True), ('commune__isnull', True), ('epci__isnull', True), ('prefecture__isnull', False), ('type', 'prefecture')), models.Q(('airport__isnull', False), ('commune__isnull', True), ('epci__isnull', True), ('prefecture__isnull', True), ('type', 'airport')), _connector='OR'), name='authority_reference_matches_type'), models.CheckConstraint(condition=models.Q(('declares_no_ads', False), ('delegated_to__isnull', True), _connector='OR'), name='authority_no_ads_or_delegated')],
                    },
                ),
            ],
        ),
    ]
