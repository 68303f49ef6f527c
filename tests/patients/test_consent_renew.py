"""Staff record that a patient who stopped reminder emails wants them again
(patients.views.patient_consent_renew_view, patients.services.patient_consent_renew)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.delivery.reminders import reminders_stop_for_patient
from aftercare.models import Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import ConsentSource, Patient
from tests.factories import PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

NOTE = "Asked at reception to get the emails again"


@pytest.fixture
def unsubscribed(clinic) -> Patient:
    """A patient with a plan whose reminders are still to come, who unsubscribed."""
    patient = PatientFactory(clinic=clinic)
    plan_create(treatment=TreatmentFactory(patient=patient), now=timezone.now())
    reminders_stop_for_patient(patient=patient, reason="unsubscribed")
    return Patient.objects.get(pk=patient.pk)


@pytest.fixture
def front_desk_client(front_desk) -> Client:
    client = Client()
    client.force_login(front_desk)
    return client


def _url(patient: Patient) -> str:
    return reverse("patients:consent_renew", args=[patient.pk])


def _pending(patient: Patient) -> int:
    return Reminder.objects.filter(patient=patient, status=ReminderStatus.PENDING).count()


def test_the_page_asks_how_the_patient_agreed(practitioner_client, unsubscribed):
    response = practitioner_client.get(_url(unsubscribed))
    assert response.status_code == 200
    assert "How the patient agreed" in response.content.decode()


def test_without_a_note_nothing_changes_and_the_form_says_why(practitioner_client, unsubscribed):
    response = practitioner_client.post(_url(unsubscribed), {"note": "   "})
    assert response.status_code == 200
    assert "Write down how the patient agreed" in response.content.decode()
    assert not Patient.objects.get(pk=unsubscribed.pk).email_consent
    assert _pending(unsubscribed) == 0


def test_with_a_note_consent_is_recorded_and_the_page_redirects(
    practitioner_client, practitioner, unsubscribed
):
    response = practitioner_client.post(_url(unsubscribed), {"note": NOTE})
    assert response.status_code == 302
    assert response.url == reverse("patients:detail", args=[unsubscribed.pk])
    assert Patient.objects.get(pk=unsubscribed.pk).email_consent
    change = unsubscribed.consent_changes.get(given=True)
    assert (change.source, change.note, change.recorded_by) == (
        ConsentSource.STAFF_RENEWED,
        NOTE,
        practitioner,
    )


def test_the_reminders_still_to_come_are_back_in_the_queue(practitioner_client, unsubscribed):
    practitioner_client.post(_url(unsubscribed), {"note": NOTE})
    assert _pending(unsubscribed) > 0


def test_front_desk_may_record_it(front_desk_client, unsubscribed):
    assert front_desk_client.post(_url(unsubscribed), {"note": NOTE}).status_code == 302
    assert Patient.objects.get(pk=unsubscribed.pk).email_consent


def test_afterwards_staff_can_email_a_new_link(front_desk_client, unsubscribed):
    reissue = reverse("aftercare:reissue_link", args=[unsubscribed.pk])
    front_desk_client.post(reissue)
    assert not Reminder.objects.filter(patient=unsubscribed, kind__startswith="new-link").exists()
    front_desk_client.post(_url(unsubscribed), {"note": NOTE})
    front_desk_client.post(reissue)
    assert Reminder.objects.filter(patient=unsubscribed, kind__startswith="new-link").exists()


def test_a_patient_who_agrees_already_is_sent_back_to_their_page(practitioner_client, patient):
    response = practitioner_client.post(_url(patient), {"note": NOTE})
    assert response.url == reverse("patients:detail", args=[patient.pk])
    assert not patient.consent_changes.exists()


def test_a_patient_without_an_email_address_is_sent_to_edit_it(practitioner_client, clinic):
    patient = PatientFactory(clinic=clinic, email="", email_consent=False, email_consent_at=None)
    response = practitioner_client.get(_url(patient))
    assert response.url == reverse("patients:edit", args=[patient.pk])


def test_the_patient_page_offers_it_and_no_new_link_button(practitioner_client, unsubscribed):
    page = practitioner_client.get(reverse("patients:detail", args=[unsubscribed.pk]))
    html = page.content.decode()
    assert f'href="{_url(unsubscribed)}"' in html
    assert "Email a new link" not in html


def test_the_patient_page_shows_the_new_link_button_once_they_agree(
    practitioner_client, unsubscribed
):
    practitioner_client.post(_url(unsubscribed), {"note": NOTE})
    page = practitioner_client.get(reverse("patients:detail", args=[unsubscribed.pk]))
    assert "Email a new link" in page.content.decode()


def test_another_clinics_patient_is_not_found(practitioner_client, other_clinic_patient):
    Patient.objects.filter(pk=other_clinic_patient.pk).update(
        email_consent=False, email_consent_at=None
    )
    response = practitioner_client.post(_url(other_clinic_patient), {"note": NOTE})
    assert response.status_code == 404
    assert not Patient.objects.get(pk=other_clinic_patient.pk).email_consent
