"""Loading each aftercare object for a staff page (aftercare.plans.access)."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory

from aftercare.plans.access import plan_for, reminder_for
from aftercare.plans.services import plan_create
from tests.factories import ClinicFactory, StaffMembershipFactory, TreatmentFactory

pytestmark = pytest.mark.django_db


def _request(clinic):
    request = RequestFactory().get("/")
    request.membership = StaffMembershipFactory(clinic=clinic)
    return request


def test_a_plan_of_the_users_clinic_is_found_with_its_patient(clinic):
    plan = plan_create(treatment=TreatmentFactory(patient__clinic=clinic, clinic=clinic))
    assert plan_for(_request(clinic), plan.pk).treatment.patient == plan.treatment.patient


def test_another_clinics_plan_and_reminders_are_not_found(clinic):
    plan = plan_create(treatment=TreatmentFactory(patient__clinic=ClinicFactory()))
    with pytest.raises(Http404):
        plan_for(_request(clinic), plan.pk)
    with pytest.raises(Http404):
        reminder_for(_request(clinic), plan.reminders.first().pk)
