"""`migrate`, one process at a time: several web containers may start together, and each
migrates on start (docker-compose.yml). On PostgreSQL a session advisory lock makes the
others wait, then find nothing left to do; elsewhere it is plain `migrate`."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

# An arbitrary constant, the same in every process of this project.
MIGRATION_LOCK_ID = 7_420_113_001


class Command(BaseCommand):
    help = "Apply migrations, holding a database lock so concurrent starts take turns."

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_ID])
        try:
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_ID])
