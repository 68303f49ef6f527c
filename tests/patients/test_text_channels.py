"""How a patient gets reminders (patients/models.py): Patient.channels, can_receive_texts,
phone_problem, and the database's rule that text consent needs a number and a time."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.models import Channel, Patient, TextProblem
from tests.factories import PatientFactory


def _patient(**fields: object) -> Patient:
    defaults: dict[str, object] = {
        "email": "a@example.com",
        "email_consent": True,
        "phone": "+447400123456",
        "text_consent": True,
        "text_consent_at": timezone.now(),
    }
    return Patient(**(defaults | fields))


def test_a_patient_agreeing_to_both_gets_both_channels_email_first():
    assert _patient().channels == (Channel.EMAIL, Channel.TEXT)


def test_a_patient_without_text_consent_gets_emails_only():
    patient = _patient(text_consent=False, text_consent_at=None)
    assert patient.channels == (Channel.EMAIL,)
    assert not patient.can_receive_texts


def test_a_patient_without_a_number_gets_no_texts():
    assert not _patient(phone="").can_receive_texts


def test_a_number_marked_undeliverable_gets_no_texts():
    patient = _patient(
        phone_undeliverable_at=timezone.now(), phone_undeliverable_reason=TextProblem.UNDELIVERED
    )
    assert not patient.can_receive_texts
    assert patient.channels == (Channel.EMAIL,)


def test_a_texts_only_patient_can_receive_reminders():
    patient = _patient(email_consent=False)
    assert patient.channels == (Channel.TEXT,)
    assert patient.can_receive_reminders


def test_a_patient_on_no_channel_cannot_receive_reminders():
    patient = _patient(email_consent=False, text_consent=False, text_consent_at=None)
    assert patient.channels == ()
    assert not patient.can_receive_reminders


def test_a_working_number_has_no_problem():
    assert _patient().phone_problem == ""


def test_an_invalid_number_asks_staff_to_check_it():
    patient = _patient(
        phone_undeliverable_at=timezone.now(), phone_undeliverable_reason=TextProblem.INVALID
    )
    assert "check it with the patient" in patient.phone_problem


def test_texts_not_arriving_asks_staff_to_call():
    patient = _patient(
        phone_undeliverable_at=timezone.now(), phone_undeliverable_reason=TextProblem.UNDELIVERED
    )
    assert "call the patient" in patient.phone_problem


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"phone": "", "text_consent": True, "text_consent_at": timezone.now()},
        {"phone": "+447400123456", "text_consent": True, "text_consent_at": None},
    ],
    ids=["no-number", "no-time"],
)
def test_the_database_refuses_text_consent_without_a_number_and_a_time(fields):
    patient = PatientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(**fields)


@pytest.mark.django_db
def test_the_database_refuses_an_undeliverable_number_without_a_reason():
    patient = PatientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(phone_undeliverable_at=timezone.now())
