"""The workers' sweep reads the running tasks every few seconds: a small partial index on
django-tasks-db's table (which keeps every finished task) keeps that read cheap."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_worker_heartbeat"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS core_running_tasks_idx "
            "ON django_tasks_database_dbtaskresult (started_at) WHERE status = 'RUNNING'",
            "DROP INDEX IF EXISTS core_running_tasks_idx",
        )
    ]
