from datetime import UTC, datetime

import pytest

from patients.models import Patient
from patients.services import patient_create, patient_update, treatment_create
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
