import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils.html import escape

from aftercare.delivery.dispatch import dispatch_due
from aftercare.models import AftercarePlan, DeliveryEvent, DeliveryEventType
from aftercare.plans.services import plan_create
from patients.models import Channel
from tests.factories import OpeningHoursFactory, StaffMembershipFactory, TreatmentFactory
from tests.two_factor import verified_client

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
    assert 'Makeup</th>\n        <td class="when">Wed 11 Nov, 14:30<span' in page
    assert "Reminder emails" in page
    assert "Revision 1" in page


def test_the_sheet_shows_restriction_ends_and_clinic_contact(practitioner_client, plan, clinic):
    page = practitioner_client.get(reverse("aftercare:sheet", args=[plan.pk])).content.decode()
    assert "from Wednesday 11 November, 14:30" in page
    assert clinic.phone in page


def test_the_sheet_gives_each_warning_sign_and_what_to_do(practitioner_client, plan):
    page = practitioner_client.get(reverse("aftercare:sheet", args=[plan.pk])).content.decode()
    warnings = plan.content_plan.warnings
    assert warnings
    for warning in warnings:
        assert escape(warning.title) in page
    assert "emergency number" in page
    assert "<strong>contact your clinic</strong>" in page.lower()


def test_the_sheet_says_whom_to_call_with_both_numbers_and_the_hours(practitioner_client, plan):
    clinic = plan.treatment.clinic
    OpeningHoursFactory(clinic=clinic, weekday=0, opens="09:00", closes="18:00")
    page = practitioner_client.get(reverse("aftercare:sheet", args=[plan.pk])).content.decode()
    who = " ".join(re.search(r'<div class="who-to-call">(.*?)</div>', page, re.S)[1].split())
    assert '<a href="tel:999"><strong>Call 999 now</strong></a>' in who
    assert '<a href="tel:+442079460123">+44 20 7946 0123</a> (open Mon 9:00-18:00)' in who
    assert '<a href="tel:+442079460999">+44 20 7946 0999</a>' in who
    assert "open now" not in who and "closed now" not in who


def test_the_sheet_gives_the_emergency_number_of_the_clinics_country(practitioner_client, plan):
    clinic = plan.treatment.clinic
    clinic.country = "US"
    clinic.save()
    page = practitioner_client.get(reverse("aftercare:sheet", args=[plan.pk])).content.decode()
    assert "Call 911 now" in page


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


def _failed_reminder(plan):
    from aftercare.models import ReminderStatus

    reminder = plan.reminders.order_by("due_at").last()
    reminder.status = ReminderStatus.FAILED
    reminder.last_error = "550 mailbox unavailable"
    reminder.save()
    return reminder


def test_the_patient_page_lists_reminders_with_status_and_error(practitioner_client, plan):
    _failed_reminder(plan)
    page = practitioner_client.get(
        reverse("patients:detail", args=[plan.treatment.patient_id])
    ).content.decode()
    assert '<h2 class="h5 mt-4">Reminders</h2>' in page
    assert "Failed" in page
    assert "550 mailbox unavailable" in page


def test_staff_can_resend_a_failed_reminder(practitioner_client, plan):
    reminder = _failed_reminder(plan)
    response = practitioner_client.post(reverse("aftercare:reminder_resend", args=[reminder.pk]))
    reminder.refresh_from_db()
    assert response.status_code == 302
    assert reminder.status == "pending"
    assert reminder.attempts == 0


def test_resending_a_reminder_that_did_not_fail_changes_nothing(practitioner_client, plan):
    reminder = plan.reminders.first()
    practitioner_client.post(reverse("aftercare:reminder_resend", args=[reminder.pk]))
    reminder.refresh_from_db()
    assert reminder.status == "pending"
    assert reminder.next_attempt_at == reminder.due_at


def test_staff_can_stop_every_future_reminder_of_a_patient(practitioner_client, plan):
    patient = plan.treatment.patient
    practitioner_client.post(reverse("aftercare:stop_reminders", args=[patient.pk]))
    patient.refresh_from_db()
    assert not patient.email_consent
    assert set(plan.reminders.values_list("status", flat=True)) == {"cancelled"}


def test_another_clinics_reminder_cannot_be_resent(practitioner_client):
    other = plan_create(treatment=TreatmentFactory())
    reminder = _failed_reminder(other)
    response = practitioner_client.post(reverse("aftercare:reminder_resend", args=[reminder.pk]))
    assert response.status_code == 404


def test_another_clinics_patient_reminders_cannot_be_stopped(practitioner_client):
    other = plan_create(treatment=TreatmentFactory())
    response = practitioner_client.post(
        reverse("aftercare:stop_reminders", args=[other.treatment.patient_id])
    )
    assert response.status_code == 404


def test_staff_can_read_a_sent_email_with_the_link_masked(practitioner_client, plan, smtp_sink):
    from aftercare.delivery.dispatch import dispatch_due

    dispatch_due(now=plan.reminders.order_by("due_at").first().due_at)
    sent = plan.reminders.get(status="sent").sent_messages.get()
    page = practitioner_client.get(
        reverse("aftercare:sent_message", args=[sent.pk])
    ).content.decode()
    assert "[patient link]" in page
    # Once, in the list of headers, without the angle brackets of the raw header.
    assert page.count(sent.message_id.strip("<>")) == 1
    assert escape(sent.message_id) not in page


def _sent(plan):
    from aftercare.delivery.dispatch import dispatch_due

    dispatch_due(now=plan.reminders.order_by("due_at").first().due_at)
    return plan.reminders.get(status="sent").sent_messages.get()


def test_a_sent_email_is_shown_as_the_patient_saw_it_in_a_sandboxed_frame(
    practitioner_client, plan, smtp_sink
):
    sent = _sent(plan)
    page = practitioner_client.get(reverse("aftercare:sent_message", args=[sent.pk]))
    frame = re.search(r"<iframe[^>]*>", page.content.decode())[0]
    assert 'sandbox=""' in frame
    assert f'srcdoc="{escape(sent.html_body)}"' in frame


def test_the_plain_text_part_of_a_sent_email_is_there_too(practitioner_client, plan, smtp_sink):
    sent = _sent(plan)
    page = practitioner_client.get(reverse("aftercare:sent_message", args=[sent.pk]))
    assert escape(sent.text_body) in page.content.decode()


def test_each_header_of_a_sent_email_is_listed_once(practitioner_client, plan, smtp_sink):
    sent = _sent(plan)
    page = practitioner_client.get(reverse("aftercare:sent_message", args=[sent.pk]))
    names = re.findall(r'<dt class="col-sm-3">([^<]+)</dt>', page.content.decode())
    assert names == ["Message-ID", *[name for name in sent.headers if name != "Message-ID"]]


def test_the_sent_email_page_allows_exactly_the_emails_own_inline_styles(
    practitioner_client, plan, smtp_sink
):
    import base64
    import hashlib

    sent = _sent(plan)
    policy = practitioner_client.get(reverse("aftercare:sent_message", args=[sent.pk]))[
        "Content-Security-Policy"
    ]
    body_style = re.search(r'<body style="([^"]+)"', sent.html_body)[1]
    digest = base64.b64encode(hashlib.sha256(body_style.encode()).digest()).decode()
    assert "style-src-attr 'unsafe-hashes'" in policy
    assert f"'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy
    assert "script-src 'self'" in policy


@pytest.fixture
def sent_text(clinic, smtp_sink):
    """A reminder text really sent (to the memory transport), and the clinic's copy."""
    treatment = TreatmentFactory(
        patient__clinic=clinic,
        patient__text_consent=True,
        patient__text_consent_at=datetime(2026, 11, 1, tzinfo=LONDON),
        performed_at=datetime(2026, 11, 9, 14, 30, tzinfo=LONDON),
    )
    plan = plan_create(treatment=treatment)
    text = plan.reminders.filter(channel=Channel.TEXT).order_by("due_at").first()
    dispatch_due(now=text.due_at)
    return text.sent_messages.get()


def test_a_sent_text_shows_its_words_with_the_link_masked_and_no_frame(
    practitioner_client, sent_text, texts_in_memory
):
    page = practitioner_client.get(reverse("aftercare:sent_message", args=[sent_text.pk]))
    html = page.content.decode()
    assert (
        f'<pre class="border rounded p-3 bg-white sent-text">{escape(sent_text.text_body)}</pre>'
        in html
    )
    assert "[patient link]" in html
    assert "<iframe" not in html
    link = re.search(r"https?://\S+", texts_in_memory[-1].body)[0]
    assert link not in html


def test_a_sent_text_names_the_number_as_the_clinic_dials_it(practitioner_client, sent_text):
    html = practitioner_client.get(
        reverse("aftercare:sent_message", args=[sent_text.pk])
    ).content.decode()
    assert "<title>Sent text" in html
    assert '<dd class="col-sm-10">07400 123456</dd>' in html


def test_a_sent_text_lists_what_the_phone_network_reported(practitioner_client, sent_text):
    for minutes, event_type in ((1, DeliveryEventType.SENT), (2, DeliveryEventType.UNDELIVERED)):
        DeliveryEvent.objects.create(
            sent_message=sent_text,
            provider="twilio",
            event_type=event_type,
            occurred_at=sent_text.sent_at + timedelta(minutes=minutes),
            received_at=sent_text.sent_at + timedelta(minutes=minutes),
            detail="30003" if event_type == DeliveryEventType.UNDELIVERED else "",
        )
    html = practitioner_client.get(
        reverse("aftercare:sent_message", args=[sent_text.pk])
    ).content.decode()
    events = html[html.index('id="delivery-events"') :]
    assert events.index("Sent by the provider") < events.index("Not delivered to the phone")
    assert "(30003)" in events


def test_another_clinics_staff_cannot_read_a_sent_text(sent_text):
    outsider = verified_client(StaffMembershipFactory().user)
    page = outsider.get(reverse("aftercare:sent_message", args=[sent_text.pk]))
    assert page.status_code == 404
