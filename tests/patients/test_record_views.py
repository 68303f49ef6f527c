"""Timeline, export and erase pages (patients.record_views), and role limits on patient forms."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.models import ConcernReport, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from clinic.models import StaffRole
from patients.models import Channel, Patient
from tests.factories import PatientFactory, StaffMembershipFactory, TreatmentFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db


def _client(clinic, role) -> Client:
    return verified_client(StaffMembershipFactory(clinic=clinic, role=role).user)


@pytest.fixture
def plan(clinic):
    treatment = TreatmentFactory(patient=PatientFactory(clinic=clinic, first_name="Ines"))
    return plan_create(treatment=treatment)


def test_the_timeline_shows_treatment_plan_emails_reports_and_consent(clinic, plan):
    patient = plan.treatment.patient
    Reminder.objects.filter(plan=plan).update(status=ReminderStatus.FAILED, last_error="550 no")
    ConcernReport.objects.create(
        plan=plan,
        patient=patient,
        clinic=clinic,
        symptoms=["pus"],
        is_red_flag=True,
        created_at=timezone.now(),
    )
    page = _client(clinic, StaffRole.FRONT_DESK).get(
        reverse("patients:timeline", args=[patient.pk])
    )
    text = page.content.decode()
    kinds = {event.kind for event in page.context["events"]}
    assert kinds >= {"treatment", "plan", "email", "concern"}
    assert reverse("aftercare:sheet", args=[plan.pk]) in text
    assert "Red flag" in text
    assert "550 no" in text
    assert "Resend" in text


def test_the_timeline_says_to_call_a_patient_whose_email_bounced(clinic, plan):
    patient = plan.treatment.patient
    Patient.objects.filter(pk=patient.pk).update(
        email_undeliverable_at=timezone.now(), email_undeliverable_reason="bounced"
    )
    page = _client(clinic, StaffRole.FRONT_DESK).get(
        reverse("patients:timeline", args=[patient.pk])
    )
    text = page.content.decode()
    assert 'role="alert"' in text and "Email bounced: call the patient" in text
    assert f'href="tel:{patient.phone}"' in text
    assert "Address not usable" in text


def test_the_timeline_shows_the_providers_latest_report_on_each_email(clinic, plan):
    reminder = plan.reminders.order_by("due_at").first()
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.SENT,
        sent_at=timezone.now(),
        delivery_status="delivered",
        delivery_status_at=timezone.now(),
    )
    page = _client(clinic, StaffRole.FRONT_DESK).get(
        reverse("patients:timeline", args=[plan.treatment.patient_id])
    )
    email = next(e for e in page.context["events"] if e.title == f"Email: {reminder.label}")
    assert (email.badge, email.delivery, email.delivery_style) == ("Sent", "Delivered", "success")


def test_the_timeline_shows_consent_given_and_withdrawn(clinic):
    client = _client(clinic, StaffRole.FRONT_DESK)
    client.post(
        reverse("patients:create"),
        {
            "first_name": "Ada",
            "last_name": "Voss",
            "email": "ada@example.com",
            "email_consent": "on",
        },
    )
    patient = Patient.objects.get(last_name="Voss")
    client.post(reverse("aftercare:stop_reminders", args=[patient.pk]))
    text = client.get(reverse("patients:timeline", args=[patient.pk])).content.decode()
    assert "Agreed to aftercare emails" in text
    assert "Email consent withdrawn" in text
    assert "Reminders stopped by staff" in text


def test_link_status_and_actions_are_on_the_timeline(clinic, plan):
    from aftercare.links import link_current

    link_current(plan=plan, now=timezone.now())
    text = (
        _client(clinic, StaffRole.FRONT_DESK)
        .get(reverse("patients:timeline", args=[plan.treatment.patient_id]))
        .content.decode()
    )
    assert "Active" in text
    assert reverse("aftercare:revoke_links", args=[plan.treatment.patient_id]) in text
    assert reverse("aftercare:reissue_link", args=[plan.treatment.patient_id]) in text


def test_only_admins_see_the_audit_on_the_timeline(clinic, plan):
    url = reverse("patients:timeline", args=[plan.treatment.patient_id])
    assert "audit_entries" not in _client(clinic, StaffRole.PRACTITIONER).get(url).context
    admin_page = _client(clinic, StaffRole.CLINIC_ADMIN).get(url).content.decode()
    assert "viewed (timeline)" in admin_page


def test_front_desk_adds_a_patient_without_clinical_fields(clinic):
    client = _client(clinic, StaffRole.FRONT_DESK)
    form = client.get(reverse("patients:create")).context["form"]
    assert "skin_type" not in form.fields and "history_notes" not in form.fields
    client.post(
        reverse("patients:create"),
        {"first_name": "Tom", "last_name": "Hale", "skin_type": "6", "slow_healing": "on"},
    )
    patient = Patient.objects.get(last_name="Hale")
    assert patient.skin_type is None
    assert not patient.slow_healing


def test_front_desk_cannot_change_clinical_fields_by_posting_them(clinic):
    patient = PatientFactory(clinic=clinic, skin_type=2, history_notes="keloid scarring")
    _client(clinic, StaffRole.FRONT_DESK).post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "phone": "07400 900999",
            "skin_type": "6",
            "history_notes": "",
        },
    )
    patient.refresh_from_db()
    assert patient.phone == "+447400900999"
    assert patient.skin_type == 2
    assert patient.history_notes == "keloid scarring"


def test_a_treatment_waits_for_the_skin_type(clinic):
    patient = PatientFactory(clinic=clinic, skin_type=None)
    response = _client(clinic, StaffRole.PRACTITIONER).get(
        reverse("patients:treatment_create", args=[patient.pk])
    )
    assert response.url == reverse("patients:edit", args=[patient.pk])


def test_the_json_export_is_a_download_without_the_name_in_its_file_name(clinic, plan):
    response = _client(clinic, StaffRole.CLINIC_ADMIN).get(
        reverse("patients:export_json", args=[plan.treatment.patient_id])
    )
    data = json.loads(response.content)
    assert data["patient"]["first_name"] == "Ines"
    assert data["treatments"][0]["plans"][0]["content"] == plan.content
    assert "Ines" not in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"


def test_the_readable_export_shows_the_record(clinic, plan):
    text = (
        _client(clinic, StaffRole.CLINIC_ADMIN)
        .get(reverse("patients:export_html", args=[plan.treatment.patient_id]))
        .content.decode()
    )
    assert "Record of Ines" in text
    assert "Aftercare plan revision 1" in text


def test_erasing_needs_the_confirmation(clinic, plan):
    client = _client(clinic, StaffRole.CLINIC_ADMIN)
    url = reverse("patients:erase", args=[plan.treatment.patient_id])
    response = client.post(url, {})
    assert "Tick the box" in response.content.decode()
    assert Patient.objects.get(pk=plan.treatment.patient_id).erased_at is None


def test_an_erased_patient_leaves_the_list_and_their_pages(clinic, plan):
    client = _client(clinic, StaffRole.CLINIC_ADMIN)
    patient_id = plan.treatment.patient_id
    response = client.post(reverse("patients:erase", args=[patient_id]), {"confirm": "on"})
    assert response.url == reverse("patients:list")
    assert "Ines" not in client.get(reverse("patients:list")).content.decode()
    assert client.get(reverse("patients:timeline", args=[patient_id])).status_code == 404
    assert client.get(reverse("patients:detail", args=[patient_id])).status_code == 404


def test_correcting_a_bounced_address_in_the_admin_resumes_the_reminders(clinic, plan, settings):
    patient = plan.treatment.patient
    Patient.objects.filter(pk=patient.pk).update(
        email_undeliverable_at=timezone.now(), email_undeliverable_reason="bounced"
    )
    Reminder.objects.filter(plan=plan).update(
        status=ReminderStatus.CANCELLED, cancelled_reason="email address undeliverable"
    )
    admin = _client(clinic, StaffRole.CLINIC_ADMIN)
    url = reverse("admin:patients_patient_change", args=[patient.pk])
    form = admin.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data |= {"email": "corrected@example.com", "email_consent": "on"}
    data |= {
        f"{prefix}-{key}": value
        for prefix in ("treatments", "consent_changes")
        for key, value in {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0}.items()
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    patient.refresh_from_db()
    assert patient.email == "corrected@example.com" and not patient.email_undeliverable
    assert plan.reminders.filter(status=ReminderStatus.PENDING).exists()


def test_the_timeline_runs_the_same_queries_however_long_the_record(
    clinic, plan, django_assert_max_num_queries
):
    patient = plan.treatment.patient
    for _ in range(3):
        plan_create(treatment=TreatmentFactory(patient=patient, clinic=clinic))
    client = _client(clinic, StaffRole.FRONT_DESK)
    url = reverse("patients:timeline", args=[patient.pk])
    # Session, user, second factor, membership, clinic and permissions take 7; the record
    # 10; the audit entry 1.
    with django_assert_max_num_queries(18):
        assert client.get(url).status_code == 200


def test_the_timeline_shows_each_texts_channel_status_and_delivery(clinic):
    patient = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=timezone.now())
    plan = plan_create(treatment=TreatmentFactory(patient=patient))
    text = plan.reminders.filter(channel=Channel.TEXT).order_by("due_at").first()
    Reminder.objects.filter(pk=text.pk).update(
        status=ReminderStatus.SENT,
        sent_at=timezone.now(),
        delivery_status="undelivered",
        delivery_status_at=timezone.now(),
    )
    page = _client(clinic, StaffRole.FRONT_DESK).get(
        reverse("patients:timeline", args=[patient.pk])
    )
    event = next(e for e in page.context["events"] if e.title == f"Text: {text.label}")
    assert (event.kind, event.badge, event.delivery, event.delivery_style) == (
        "text",
        "Sent",
        "Not delivered to the phone",
        "danger",
    )
    html = page.content.decode()
    assert f"<strong>Text: {text.label}</strong>" in html
    assert f"<strong>Email: {text.label}</strong>" in html
    assert "Not delivered to the phone</span>" in html


def test_the_timeline_shows_text_consent_and_a_number_texts_cannot_reach(clinic):
    client = _client(clinic, StaffRole.FRONT_DESK)
    client.post(
        reverse("patients:create"),
        {"first_name": "Tia", "last_name": "Okoro", "phone": "07400 900321", "text_consent": "on"},
    )
    patient = Patient.objects.get(last_name="Okoro")
    Patient.objects.filter(pk=patient.pk).update(
        phone_undeliverable_at=timezone.now(), phone_undeliverable_reason="invalid"
    )
    page = client.get(reverse("patients:timeline", args=[patient.pk]))
    titles = [e.title for e in page.context["events"]]
    assert "Agreed to aftercare texts" in titles
    assert "Not a mobile number we can text: check it with the patient" in titles
    html = page.content.decode()
    assert "By email" not in html and "Not set up" in html
    assert 'href="tel:+447400900321">07400 900321</a>' in html
