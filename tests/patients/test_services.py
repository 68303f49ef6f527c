from datetime import UTC, datetime

import pytest
from django.utils import timezone

from aftercare.delivery.reminders import reminders_stop_for_patient
from aftercare.models import ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import ConsentSource, Patient
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
    patient.phone = "020 7946 0999"
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
