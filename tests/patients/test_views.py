from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient, Treatment
from tests.factories import PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_only_this_clinics_patients(
    practitioner_client, patient, other_clinic_patient
):
    response = practitioner_client.get(reverse("patients:list"))
    assert patient.full_name in response.content.decode()
    assert other_clinic_patient.full_name not in response.content.decode()


def test_the_list_filters_by_search_text(practitioner_client, clinic):
    PatientFactory(clinic=clinic, first_name="Mina", last_name="Rahman")
    PatientFactory(clinic=clinic, first_name="Olu", last_name="Bello")
    response = practitioner_client.get(reverse("patients:list"), {"q": "rahman"})
    assert [p.last_name for p in response.context["page"].object_list] == ["Rahman"]


def test_creating_a_patient_files_them_under_the_staff_clinic(practitioner_client, clinic):
    response = practitioner_client.post(
        reverse("patients:create"),
        {
            "first_name": "Lea",
            "last_name": "Moreau",
            "email": "lea@example.com",
            "skin_type": "4",
            "email_consent": "on",
        },
    )
    patient = Patient.objects.get(last_name="Moreau")
    assert response.url == reverse("patients:detail", args=[patient.pk])
    assert patient.clinic == clinic
    assert patient.email_consent_at is not None


def test_a_rejected_patient_form_keeps_what_was_typed(practitioner_client):
    response = practitioner_client.post(
        reverse("patients:create"),
        {
            "first_name": "Lea",
            "last_name": "Moreau",
            "skin_type": "4",
            "email_consent": "on",
            "history_notes": "Had a reaction to lidocaine",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Add an email address" in page
    assert 'value="Moreau"' in page
    assert "Had a reaction to lidocaine" in page


def test_editing_a_patient_saves_the_change(practitioner_client, patient):
    response = practitioner_client.post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "first_name": patient.first_name,
            "last_name": "Newname",
            "email": patient.email,
            "skin_type": "2",
            "email_consent": "on",
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.last_name == "Newname"


def test_the_patient_page_lists_their_treatments(practitioner_client, patient):
    TreatmentFactory(patient=patient, areas=["neck"])
    response = practitioner_client.get(reverse("patients:detail", args=[patient.pk]))
    assert "Neck" in response.content.decode()


def test_logging_a_treatment_records_it_for_the_patient(practitioner_client, practitioner, patient):
    performed = timezone.localtime() - timedelta(minutes=30)
    response = practitioner_client.post(
        reverse("patients:treatment_create", args=[patient.pk]),
        {
            "practitioner": practitioner.pk,
            "performed_at": performed.strftime("%Y-%m-%dT%H:%M"),
            "depth_mm": "1.5",
            "passes": "3",
            "areas": ["cheeks", "periorbital"],
            "device": "pen",
            "products_applied": "HA serum",
        },
    )
    treatment = Treatment.objects.get(patient=patient)
    assert response.url == reverse("patients:treatment_detail", args=[treatment.pk])
    assert treatment.areas == ["cheeks", "periorbital"]
    assert treatment.clinic == patient.clinic


def test_the_treatment_form_warns_when_the_patient_cannot_get_reminders(
    practitioner_client, clinic
):
    patient = PatientFactory(clinic=clinic, email="", email_consent=False, email_consent_at=None)
    response = practitioner_client.get(reverse("patients:treatment_create", args=[patient.pk]))
    assert "No reminder emails will be sent" in response.content.decode()


def test_a_rejected_treatment_form_keeps_what_was_typed(practitioner_client, practitioner, patient):
    response = practitioner_client.post(
        reverse("patients:treatment_create", args=[patient.pk]),
        {
            "practitioner": practitioner.pk,
            "performed_at": "2020-01-01T10:00",
            "depth_mm": "2.8",
            "passes": "4",
            "areas": ["neck"],
            "device": "roller",
            "notes": "Patient tolerated well",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "outside the usual professional range" in page
    assert "Patient tolerated well" in page
    assert 'value="2.8"' in page
    assert not Treatment.objects.exists()


@pytest.mark.parametrize(
    "url_name", ["patients:detail", "patients:edit", "patients:treatment_create"]
)
def test_another_clinics_patient_is_not_found(practitioner_client, other_clinic_patient, url_name):
    response = practitioner_client.get(reverse(url_name, args=[other_clinic_patient.pk]))
    assert response.status_code == 404


def test_posting_to_another_clinics_patient_changes_nothing(
    practitioner_client, other_clinic_patient
):
    response = practitioner_client.post(
        reverse("patients:edit", args=[other_clinic_patient.pk]),
        {"first_name": "X", "last_name": "Y", "skin_type": "1"},
    )
    assert response.status_code == 404
    other_clinic_patient.refresh_from_db()
    assert other_clinic_patient.last_name != "Y"


def test_another_clinics_treatment_is_not_found(practitioner_client, other_clinic_patient):
    treatment = TreatmentFactory(patient=other_clinic_patient)
    response = practitioner_client.get(reverse("patients:treatment_detail", args=[treatment.pk]))
    assert response.status_code == 404
