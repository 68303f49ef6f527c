"""Loading a patient or a treatment for a staff page (patients.access)."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone

from patients.access import patient_for, treatment_for
from tests.factories import ClinicFactory, PatientFactory, StaffMembershipFactory, TreatmentFactory

pytestmark = pytest.mark.django_db


def _request(clinic):
    request = RequestFactory().get("/")
    request.membership = StaffMembershipFactory(clinic=clinic)
    return request


def test_a_patient_of_the_users_clinic_is_found(clinic):
    patient = PatientFactory(clinic=clinic)
    assert patient_for(_request(clinic), patient.pk) == patient


@pytest.mark.parametrize("load", [patient_for, treatment_for])
def test_another_clinics_record_is_not_found(clinic, load):
    treatment = TreatmentFactory(patient__clinic=ClinicFactory())
    pk = treatment.patient_id if load is patient_for else treatment.pk
    with pytest.raises(Http404):
        load(_request(clinic), pk)


@pytest.mark.parametrize("load", [patient_for, treatment_for])
def test_an_erased_patients_record_is_not_found(clinic, load):
    treatment = TreatmentFactory(patient__clinic=clinic, clinic=clinic)
    treatment.patient.erased_at = timezone.now()
    treatment.patient.save()
    pk = treatment.patient_id if load is patient_for else treatment.pk
    with pytest.raises(Http404):
        load(_request(clinic), pk)
