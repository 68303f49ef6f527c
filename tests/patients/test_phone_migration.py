"""Migration patients 0007: the free-text phone numbers typed before become E.164, read
in the clinic's country; what does not read as a valid number stays as typed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("patients", "0006_consent_resumed_and_note"), ("clinic", "0009_texting_hours")]
AFTER = [("patients", "0007_text_consent_and_mobile_numbers")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return list(executor.loader.graph.leaf_nodes())


@pytest.fixture
def phones_after_migration():
    """Patients with `phones` {(clinic timezone, country): [typed, ...]} at 0006, their
    numbers after 0007 ({typed: stored})."""
    executor = _migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    clinic_model = apps.get_model("clinic", "Clinic")
    patient_model = apps.get_model("patients", "Patient")

    def run(phones: dict[tuple[str, str], list[str]]) -> dict[str, str]:
        made: dict[int, str] = {}
        for index, ((zone, country), typed) in enumerate(phones.items()):
            clinic = clinic_model.objects.create(
                name=f"Clinic {index}",
                slug=f"clinic-{index}",
                timezone=zone,
                country=country,
                phone="1",
                email="a@example.com",
                sender_name="Clinic",
            )
            for number in typed:
                patient = patient_model.objects.create(
                    clinic=clinic, first_name="A", last_name="B", phone=number
                )
                made[patient.pk] = number
        executor = _migrate(AFTER)
        after = executor.loader.project_state(AFTER).apps.get_model("patients", "Patient")
        stored = dict(after.objects.filter(pk__in=made).values_list("pk", "phone"))
        return {typed: str(stored[pk]) for pk, typed in made.items()}

    yield run
    _migrate(_latest())


def test_numbers_are_stored_in_e164_read_in_the_clinics_country(phones_after_migration):
    stored = phones_after_migration(
        {
            ("Europe/London", ""): ["07400 123456", "+44 7400 123456", "", "call me maybe"],
            ("America/New_York", ""): ["(212) 555-0123"],
            ("UTC", "AU"): ["0412 345 678"],
        }
    )
    assert stored == {
        "07400 123456": "+447400123456",
        "+44 7400 123456": "+447400123456",
        "": "",
        "call me maybe": "call me maybe",
        "(212) 555-0123": "+12125550123",
        "0412 345 678": "+61412345678",
    }


def test_a_number_no_carrier_can_have_stays_as_typed_for_staff(phones_after_migration):
    # 07700 900xxx is Ofcom's range for drama: libphonenumber (and so the field's
    # validation) says no such number exists.
    stored = phones_after_migration({("Europe/London", ""): ["07700 900123", "12345"]})
    assert stored == {"07700 900123": "07700 900123", "12345": "12345"}
