"""The `migrate_locked` command (clinic/management/commands/migrate_locked.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from clinic.management.commands import migrate_locked
from clinic.management.commands.migrate_locked import MIGRATION_LOCK_ID

pytestmark = pytest.mark.django_db


def _advisory_locks_held() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_it_migrates_while_holding_the_lock_and_releases_it(monkeypatch):
    held_during: list[list[int]] = []

    def migrate(name: str, **options: object) -> None:
        assert name == "migrate"
        held_during.append(_advisory_locks_held())

    monkeypatch.setattr(migrate_locked, "call_command", migrate)
    call_command("migrate_locked", verbosity=0)
    # pg_locks splits a bigint key: objid holds its low 32 bits.
    assert held_during == [[MIGRATION_LOCK_ID & 0xFFFFFFFF]]
    assert _advisory_locks_held() == []


@pytest.mark.postgres
def test_it_releases_the_lock_when_migrate_fails(monkeypatch):
    def migrate(name: str, **options: object) -> None:
        raise RuntimeError("a migration failed")

    monkeypatch.setattr(migrate_locked, "call_command", migrate)
    with pytest.raises(RuntimeError):
        call_command("migrate_locked", verbosity=0)
    assert _advisory_locks_held() == []


def test_with_everything_applied_it_changes_nothing(capsys):
    call_command("migrate_locked", verbosity=1)
    assert "No migrations to apply" in capsys.readouterr().out
