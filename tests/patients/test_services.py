from datetime import UTC, datetime

import pytest
from django.utils import timezone

from aftercare.delivery.reminders import reminders_stop_for_patient
from aftercare.delivery.text_consent import phone_mark_undeliverable, texts_stop_for_patient
from aftercare.models import ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import Channel, ConsentSource, Patient, TextProblem
from patients.services import (
    patient_consent_renew,
    patient_create,
    patient_update,
    treatment_create,
)
from tests.factories import PatientFactory, TreatmentFactory

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_patient_create_stamps_the_moment_of_consent(clinic):
    patient = patient_create(
        clinic=clinic,
        patient=Patient(
            first_name="A", last_name="B", email="a@b.example", skin_type=2, email_consent=True
        ),
        now=NOW,
    )
    assert patient.email_consent_at == NOW


@pytest.mark.django_db
def test_patient_update_keeps_the_original_consent_time(clinic):
    patient = PatientFactory(clinic=clinic, email_consent_at=NOW)
    patient.phone = "+447400900999"
    patient_update(patient=patient, now=datetime(2027, 1, 1, tzinfo=UTC))
    patient.refresh_from_db()
    assert patient.email_consent_at == NOW


@pytest.mark.django_db
def test_patient_update_clears_the_time_when_consent_is_withdrawn(clinic):
    patient = PatientFactory(clinic=clinic)
    patient.email_consent = False
    patient_update(patient=patient, now=NOW)
    patient.refresh_from_db()
    assert patient.email_consent_at is None


@pytest.mark.django_db
def test_treatment_create_files_the_treatment_under_the_patients_clinic(patient, practitioner):
    treatment = treatment_create(
        patient=patient,
        practitioner=practitioner,
        treatment=TreatmentFactory.build(patient=None, clinic=None, practitioner=None),
    )
    assert treatment.clinic == patient.clinic
    assert treatment.practitioner == practitioner


@pytest.mark.django_db
def test_patient_update_ticking_consent_again_puts_the_reminders_back(clinic):
    patient = PatientFactory(clinic=clinic)
    plan = plan_create(treatment=TreatmentFactory(patient=patient), now=timezone.now())
    reminders_stop_for_patient(patient=patient, reason="stopped by staff")
    patient = Patient.objects.get(pk=patient.pk)
    patient.email_consent = True
    patient_update(patient=patient)
    assert plan.reminders.filter(status=ReminderStatus.PENDING).exists()


@pytest.mark.django_db
def test_patient_consent_renew_keeps_how_the_patient_agreed(clinic, front_desk):
    patient = PatientFactory(clinic=clinic)
    reminders_stop_for_patient(patient=patient, reason="unsubscribed")
    patient_consent_renew(patient=patient, note="On the phone", by=front_desk, now=NOW)
    change = patient.consent_changes.get(given=True)
    assert (change.source, change.note, change.recorded_by, change.at) == (
        ConsentSource.STAFF_RENEWED,
        "On the phone",
        front_desk,
        NOW,
    )


@pytest.fixture
def texted(clinic):
    """A patient agreeing to emails and texts, with a plan whose reminders go both ways."""
    patient = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=NOW)
    plan = plan_create(treatment=TreatmentFactory(patient=patient), now=timezone.now())
    assert plan.reminders.filter(channel=Channel.TEXT).exists()
    return patient, plan


def _pending(plan, channel):
    """Reminders still to come on `channel` (those already due stay as they are)."""
    return plan.reminders.filter(
        channel=channel, status=ReminderStatus.PENDING, due_at__gt=timezone.now()
    ).count()


@pytest.mark.django_db
def test_patient_create_stamps_text_consent_and_records_it_as_a_text_consent(clinic, front_desk):
    patient = patient_create(
        clinic=clinic,
        patient=Patient(
            first_name="A", last_name="B", phone="+447400900123", skin_type=2, text_consent=True
        ),
        now=NOW,
        by=front_desk,
    )
    assert patient.text_consent_at == NOW
    change = patient.consent_changes.get()
    assert (change.channel, change.given, change.source, change.recorded_by) == (
        Channel.TEXT,
        True,
        ConsentSource.STAFF,
        front_desk,
    )


@pytest.mark.django_db
def test_unticking_texts_records_the_withdrawal_and_cancels_only_the_texts(texted):
    patient, plan = texted
    emails_waiting = _pending(plan, Channel.EMAIL)
    patient.text_consent = False
    patient_update(patient=patient, now=timezone.now())
    patient.refresh_from_db()
    assert (patient.text_consent, patient.text_consent_at) == (False, None)
    assert _pending(plan, Channel.TEXT) == 0
    assert _pending(plan, Channel.EMAIL) == emails_waiting > 0
    change = patient.consent_changes.get()
    assert (change.channel, change.given, change.source) == (
        Channel.TEXT,
        False,
        ConsentSource.STAFF,
    )


@pytest.mark.django_db
def test_ticking_texts_again_puts_the_texts_still_to_come_back(texted):
    patient, plan = texted
    texts_waiting = _pending(plan, Channel.TEXT)
    patient.text_consent = False
    patient_update(patient=patient, now=timezone.now())
    patient.text_consent = True
    patient_update(patient=patient, now=timezone.now())
    patient.refresh_from_db()
    assert patient.text_consent_at is not None
    assert _pending(plan, Channel.TEXT) == texts_waiting
    assert [c.given for c in patient.consent_changes.order_by("at", "id")] == [False, True]


@pytest.mark.django_db
def test_ticking_emails_again_puts_back_no_texts(texted):
    patient, plan = texted
    texts_stop_for_patient(patient=patient, source=ConsentSource.TEXT_STOP, now=timezone.now())
    reminders_stop_for_patient(
        patient=patient, reason="stopped by staff", channels=(Channel.EMAIL,)
    )
    patient = Patient.objects.get(pk=patient.pk)
    patient.email_consent = True
    patient_update(patient=patient, now=timezone.now())
    assert _pending(plan, Channel.EMAIL) > 0
    assert _pending(plan, Channel.TEXT) == 0


@pytest.mark.django_db
def test_correcting_a_marked_number_clears_the_mark_and_resumes_its_texts(texted):
    patient, plan = texted
    texts_waiting = _pending(plan, Channel.TEXT)
    phone_mark_undeliverable(
        patient=patient, number=patient.phone, reason=TextProblem.INVALID, now=timezone.now()
    )
    assert _pending(plan, Channel.TEXT) == 0
    patient = Patient.objects.get(pk=patient.pk)
    patient.phone = "+447400900777"
    patient_update(patient=patient, now=timezone.now())
    patient.refresh_from_db()
    assert (patient.phone_undeliverable_at, patient.phone_undeliverable_reason) == (None, "")
    assert _pending(plan, Channel.TEXT) == texts_waiting


@pytest.mark.django_db
def test_saving_a_marked_number_unchanged_keeps_the_mark(texted):
    patient, plan = texted
    opened_form = Patient.objects.get(pk=patient.pk)
    phone_mark_undeliverable(
        patient=patient, number=patient.phone, reason=TextProblem.UNDELIVERED, now=timezone.now()
    )
    opened_form.first_name = "Renamed"
    patient_update(patient=opened_form, now=timezone.now())
    opened_form.refresh_from_db()
    assert opened_form.phone_undeliverable_reason == TextProblem.UNDELIVERED
    assert _pending(plan, Channel.TEXT) == 0
