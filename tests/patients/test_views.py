from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftercare.models import Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import Channel, Patient, Treatment
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


def test_the_list_finds_a_mobile_typed_in_the_clinics_national_form(practitioner_client, clinic):
    PatientFactory(clinic=clinic, last_name="Rahman", phone="+447400123987")
    PatientFactory(clinic=clinic, last_name="Bello", phone="+447400123988")
    response = practitioner_client.get(reverse("patients:list"), {"q": "07400 123987"})
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
    assert "No reminders will be sent" in response.content.decode()


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


def _reminders_cell(html: str, patient) -> str:
    row = html[html.index(patient.full_name) :]
    return row[: row.index("</tr>")]


def test_the_list_says_how_each_patient_gets_reminders(practitioner_client, clinic):
    both = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=timezone.now())
    texts = PatientFactory(
        clinic=clinic,
        email_consent=False,
        email_consent_at=None,
        text_consent=True,
        text_consent_at=timezone.now(),
    )
    emails = PatientFactory(clinic=clinic)
    nothing = PatientFactory(clinic=clinic, email_consent=False, email_consent_at=None)
    html = practitioner_client.get(reverse("patients:list")).content.decode()
    assert "By email and text" in _reminders_cell(html, both)
    assert "By text<" in _reminders_cell(html, texts)
    assert "By email<" in _reminders_cell(html, emails)
    assert "Not set up" in _reminders_cell(html, nothing)


def test_the_list_shows_numbers_as_the_clinic_dials_them(practitioner_client, clinic):
    PatientFactory(clinic=clinic, phone="+447400900123")
    html = practitioner_client.get(reverse("patients:list")).content.decode()
    assert "07400 900123" in html


def test_the_patient_page_gives_each_channels_agreement_and_time(practitioner_client, clinic):
    patient = PatientFactory(
        clinic=clinic,
        email_consent_at=timezone.make_aware(timezone.datetime(2026, 3, 2, 9, 15)),
        text_consent=True,
        text_consent_at=timezone.make_aware(timezone.datetime(2026, 3, 4, 10, 30)),
    )
    html = practitioner_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "By email and text" in html
    assert "agreed 2 Mar 2026 09:15" in html
    assert "agreed 4 Mar 2026 10:30" in html


def test_the_patient_page_says_when_texts_cannot_reach_the_number(practitioner_client, clinic):
    patient = PatientFactory(
        clinic=clinic,
        text_consent=True,
        text_consent_at=timezone.now(),
        phone_undeliverable_at=timezone.now(),
        phone_undeliverable_reason="undelivered",
    )
    html = practitioner_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert 'role="alert"' in html and "Texts are not arriving: call the patient" in html
    assert f'href="tel:{patient.phone}">07400 123456</a>' in html
    assert "Correct the number" in html


def test_the_patient_page_lists_each_reminders_channel(practitioner_client, clinic):
    patient = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=timezone.now())
    plan = plan_create(treatment=TreatmentFactory(patient=patient))
    text = plan.reminders.filter(channel=Channel.TEXT).first()
    Reminder.objects.filter(pk=text.pk).update(
        status=ReminderStatus.SENT, sent_at=timezone.now(), delivery_status="undelivered"
    )
    html = practitioner_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "<th>By</th>" in html
    assert "<td>Text</td>" in html and "<td>Email</td>" in html
    assert "Not delivered to the phone" in html


def test_staff_type_a_national_mobile_number_and_it_is_stored_in_international_form(
    practitioner_client, patient
):
    practitioner_client.post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "email": patient.email,
            "email_consent": "on",
            "phone": "07400 900456",
            "text_consent": "on",
            "skin_type": "3",
        },
    )
    patient.refresh_from_db()
    assert patient.phone == "+447400900456"
    assert patient.text_consent


def test_text_consent_with_a_landline_is_not_saved(practitioner_client, patient):
    response = practitioner_client.post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "phone": "020 7946 0123",
            "text_consent": "on",
            "skin_type": "3",
        },
    )
    assert response.status_code == 200
    assert "is a landline" in response.content.decode()
    patient.refresh_from_db()
    assert not patient.text_consent


def test_the_treatment_form_says_how_reminders_will_reach_the_patient(practitioner_client, clinic):
    patient = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=timezone.now())
    response = practitioner_client.get(reverse("patients:treatment_create", args=[patient.pk]))
    assert "Reminders: By email and text" in response.content.decode()
