from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from aftercare.models import AftercarePlan
from aftercare.services import plan_create
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def plan(clinic):
    # Monday 9 November 2026, 14:30 in London; makeup waits 48 hours -> Wednesday 14:30.
    treatment = TreatmentFactory(
        patient__clinic=clinic, performed_at=datetime(2026, 11, 9, 14, 30, tzinfo=LONDON)
    )
    return plan_create(treatment=treatment)


def test_the_treatment_page_shows_the_plan(practitioner_client, plan):
    page = practitioner_client.get(
        reverse("patients:treatment_detail", args=[plan.treatment_id])
    ).content.decode()
    assert "Makeup: from Wednesday 11 November, 14:30" in page
    assert "Reminder schedule" in page
    assert "Revision 1" in page


def test_the_sheet_shows_restriction_ends_and_clinic_contact(practitioner_client, plan, clinic):
    page = practitioner_client.get(reverse("aftercare:sheet", args=[plan.pk])).content.decode()
    assert "from Wednesday 11 November, 14:30" in page
    assert clinic.phone in page


def test_regenerating_makes_a_new_revision(practitioner_client, plan):
    response = practitioner_client.post(reverse("aftercare:regenerate", args=[plan.treatment_id]))
    assert response.status_code == 302
    assert list(
        AftercarePlan.objects.filter(treatment=plan.treatment).values_list("revision", flat=True)
    ) == [2, 1]


def test_regenerating_refuses_get(practitioner_client, plan):
    response = practitioner_client.get(reverse("aftercare:regenerate", args=[plan.treatment_id]))
    assert response.status_code == 405


def test_another_clinics_plan_sheet_is_not_found(practitioner_client):
    other = plan_create(treatment=TreatmentFactory())
    response = practitioner_client.get(reverse("aftercare:sheet", args=[other.pk]))
    assert response.status_code == 404


def test_another_clinics_treatment_cannot_be_regenerated(practitioner_client):
    other = plan_create(treatment=TreatmentFactory())
    response = practitioner_client.post(reverse("aftercare:regenerate", args=[other.treatment_id]))
    assert response.status_code == 404
    assert other.treatment.plans.count() == 1


def test_a_superseded_plan_says_its_reminders_stopped(practitioner_client, plan):
    patient = plan.treatment.patient
    plan_create(treatment=TreatmentFactory(patient=patient))
    page = practitioner_client.get(
        reverse("patients:treatment_detail", args=[plan.treatment_id])
    ).content.decode()
    assert "remaining reminders will not be sent" in page
