"""Trigram indexes for patient search (PatientQuerySet.search), on PostgreSQL only.

Django's `icontains` is `UPPER(col::text) LIKE UPPER('%word%')` on PostgreSQL, so each
index is on that same expression with gin_trgm_ops. SQLite keeps scanning, which is
fine for a laptop's data.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

COLUMNS = ["first_name", "last_name", "email", "phone"]


class PostgresOnly(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class KeptTrigramExtension(TrigramExtension):
    """Installed on PostgreSQL only (CreateExtension checks); never dropped going back."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_staff_workspace")]

    operations = [KeptTrigramExtension()] + [
        PostgresOnly(
            sql=(
                f"CREATE INDEX patient_{column}_trgm ON patients_patient "
                f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
            ),
            reverse_sql=f"DROP INDEX patient_{column}_trgm",
        )
        for column in COLUMNS
    ]
