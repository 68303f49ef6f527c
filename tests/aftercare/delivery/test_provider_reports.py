"""Keeping the email provider's reports and acting on them (aftercare.delivery.provider_reports).

Reports are built here as django-anymail hands them over; the providers' own signed
payloads, posted to the real webhook endpoints, are in test_webhook_urls.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from anymail.signals import AnymailTrackingEvent
from django.utils import timezone

from aftercare.delivery.dispatch import claim_due_reminders, dispatch_due, send_claimed
from aftercare.delivery.provider_reports import delivery_report_record
from aftercare.delivery.reminders import UNDELIVERABLE
from aftercare.models import (
    AftercarePlan,
    DeliveryEvent,
    Reminder,
    ReminderStatus,
    SentMessage,
)
from aftercare.plans.services import plan_create
from patients.models import ConsentSource, Patient, UndeliverableReason
from patients.services import patient_update
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db

PROVIDER_ID = "0a129aee-e1cd-480d-b08d-4f48548ff48d"


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def plan(now) -> AftercarePlan:
    treatment = TreatmentFactory(performed_at=now - timedelta(hours=1))
    return plan_create(treatment=treatment, now=now)


@pytest.fixture
def sent(plan, now) -> SentMessage:
    """The day-0 email, as the dispatch records it after the provider took it."""
    reminder = plan.reminders.get(day_number=0)
    Reminder.objects.filter(pk=reminder.pk).update(status=ReminderStatus.SENT, sent_at=now)
    return SentMessage.objects.create(
        reminder=reminder,
        message_id=reminder.message_id,
        provider_message_id=PROVIDER_ID,
        to=plan.treatment.patient.email,
        subject="Your aftercare",
        text_body="text",
        html_body="<p>html</p>",
        sent_at=now,
    )


def report(event_type: str, *, esp_event: dict | None = None, **fields) -> AnymailTrackingEvent:
    fields.setdefault("message_id", PROVIDER_ID)
    fields.setdefault("timestamp", timezone.now())
    # The provider's raw report: what identifies a retry when it carries no event id.
    raw = {"event": event_type, "at": fields["timestamp"].isoformat(), **(esp_event or {})}
    return AnymailTrackingEvent(event_type=event_type, esp_event=raw, **fields)


def hard_bounce() -> AnymailTrackingEvent:
    return report("bounced", reject_reason="bounced", esp_event={"Type": "HardBounce"})


def patient_of(sent: SentMessage) -> Patient:
    return Patient.objects.get(pk=sent.reminder.patient_id)


def test_a_delivered_report_is_kept_on_the_reminder(sent):
    record = delivery_report_record(event=report("delivered", event_id="e1"), provider="postmark")
    assert record is not None and record.sent_message == sent
    assert Reminder.objects.get(pk=sent.reminder_id).delivery_status == "delivered"


def test_a_hard_bounce_marks_the_address_and_cancels_the_reminders_still_to_send(sent, plan):
    delivery_report_record(event=hard_bounce(), provider="postmark")
    patient = patient_of(sent)
    assert patient.email_undeliverable_reason == UndeliverableReason.BOUNCED
    assert patient.email_problem == "Email bounced: call the patient"
    assert not patient.can_receive_reminders
    later = plan.reminders.exclude(pk=sent.reminder_id)
    assert {r.status for r in later} == {ReminderStatus.CANCELLED}
    assert {r.cancelled_reason for r in later} == {UNDELIVERABLE}


def test_a_hard_bounce_leaves_consent_as_it_was(sent):
    delivery_report_record(event=hard_bounce(), provider="postmark")
    assert patient_of(sent).email_consent


@pytest.mark.parametrize(
    ("provider", "esp_event"),
    [
        ("postmark", {"Type": "SoftBounce"}),
        ("postmark", {"Type": "Transient"}),
        ("brevo", {"event": "soft_bounce"}),
        ("amazon_ses", {"bounce": {"bounceType": "Transient"}}),
        ("sendgrid", {"type": "blocked"}),
    ],
)
def test_a_soft_bounce_is_kept_but_does_not_mark_the_address(sent, provider, esp_event):
    delivery_report_record(event=report("bounced", esp_event=esp_event), provider=provider)
    assert DeliveryEvent.objects.filter(event_type="bounced").count() == 1
    assert not patient_of(sent).email_undeliverable


def test_a_complaint_marks_the_address_and_withdraws_consent(sent):
    delivery_report_record(event=report("complained"), provider="amazon_ses")
    patient = patient_of(sent)
    assert patient.email_undeliverable_reason == UndeliverableReason.COMPLAINED
    assert patient.email_problem == "Marked our email as spam: call the patient"
    assert not patient.email_consent
    change = patient.consent_changes.get()
    assert (change.given, change.source) == (False, ConsentSource.SPAM_COMPLAINT)


@pytest.mark.parametrize("reason", ["invalid", "bounced", "blocked", "spam", "unsubscribed"])
def test_a_refusal_because_of_the_address_marks_it(sent, reason):
    delivery_report_record(event=report("rejected", reject_reason=reason), provider="mailgun")
    assert patient_of(sent).email_undeliverable_reason == UndeliverableReason.REJECTED


def test_a_refusal_for_another_reason_is_only_kept(sent):
    delivery_report_record(event=report("rejected", reject_reason="other"), provider="mailgun")
    assert Reminder.objects.get(pk=sent.reminder_id).delivery_status == "rejected"
    assert not patient_of(sent).email_undeliverable


def test_a_retried_webhook_is_kept_once(sent):
    event = report("delivered", event_id="same-event")
    assert delivery_report_record(event=event, provider="sendgrid") is not None
    assert delivery_report_record(event=event, provider="sendgrid") is None
    assert DeliveryEvent.objects.count() == 1


def test_a_retried_webhook_without_an_event_id_is_kept_once(sent):
    event = report("delivered")
    assert delivery_report_record(event=event, provider="brevo") is not None
    assert delivery_report_record(event=event, provider="brevo") is None
    assert DeliveryEvent.objects.count() == 1


def test_the_same_event_id_from_two_providers_is_kept_twice(sent):
    delivery_report_record(event=report("delivered", event_id="42"), provider="sendgrid")
    delivery_report_record(event=report("delivered", event_id="42"), provider="brevo")
    assert DeliveryEvent.objects.count() == 2


def test_a_report_about_an_email_not_sent_from_here_is_ignored(sent):
    assert delivery_report_record(event=report("bounced", message_id="nope"), provider="x") is None
    assert not DeliveryEvent.objects.exists()
    assert not patient_of(sent).email_undeliverable


@pytest.mark.parametrize("event_type", ["opened", "clicked", "unknown"])
def test_opens_and_clicks_are_not_kept(sent, event_type):
    assert delivery_report_record(event=report(event_type), provider="postmark") is None
    assert not DeliveryEvent.objects.exists()


def test_a_report_quoting_our_own_message_id_finds_the_email(sent):
    bare = sent.message_id.strip("<>")
    delivery_report_record(event=report("delivered", message_id=bare), provider="smtp-relay")
    assert DeliveryEvent.objects.get().sent_message == sent


def test_an_older_report_arriving_late_does_not_replace_a_newer_status(sent, now):
    delivery_report_record(event=report("delivered", timestamp=now), provider="postmark")
    earlier = report("deferred", timestamp=now - timedelta(minutes=5))
    delivery_report_record(event=earlier, provider="postmark")
    assert Reminder.objects.get(pk=sent.reminder_id).delivery_status == "delivered"
    assert DeliveryEvent.objects.count() == 2


def test_a_bounce_for_an_address_staff_already_changed_leaves_the_new_one_alone(sent):
    Patient.objects.filter(pk=sent.reminder.patient_id).update(email="new@example.com")
    delivery_report_record(event=hard_bounce(), provider="postmark")
    assert not patient_of(sent).email_undeliverable


def test_correcting_the_address_clears_the_mark_and_resumes_the_reminders_to_come(sent, plan, now):
    delivery_report_record(event=hard_bounce(), provider="postmark")
    patient = patient_of(sent)
    patient.email = "right@example.com"
    patient_update(patient=patient, now=now)
    patient.refresh_from_db()
    assert not patient.email_undeliverable and patient.can_receive_reminders
    later = plan.reminders.exclude(pk=sent.reminder_id)
    assert {r.status for r in later} == {ReminderStatus.PENDING}
    assert all(r.next_attempt_at == r.due_at for r in later)


def test_reminders_whose_time_passed_while_the_address_bounced_stay_cancelled(sent, plan, now):
    delivery_report_record(event=hard_bounce(), provider="postmark")
    patient = patient_of(sent)
    patient.email = "right@example.com"
    patient_update(patient=patient, now=now + timedelta(days=400))
    assert not plan.reminders.filter(status=ReminderStatus.PENDING).exists()


def test_saving_the_same_address_keeps_the_mark(sent, now):
    delivery_report_record(event=hard_bounce(), provider="postmark")
    patient = patient_of(sent)
    patient.phone = "+447400123999"
    patient_update(patient=patient, now=now)
    assert patient_of(sent).email_undeliverable


def test_a_bounce_arriving_while_staff_edit_the_patient_is_not_lost(sent, now):
    opened_form = patient_of(sent)
    delivery_report_record(event=hard_bounce(), provider="postmark")
    opened_form.phone = "+447400123999"
    patient_update(patient=opened_form, now=now)
    assert patient_of(sent).email_undeliverable


def test_the_dispatch_sends_nothing_to_an_address_that_bounced_after_the_claim(
    sent, plan, now, smtp_sink
):
    later = plan.reminders.exclude(pk=sent.reminder_id).order_by("due_at").first()
    Reminder.objects.filter(pk=later.pk).update(next_attempt_at=now)
    claim = claim_due_reminders(now=now, limit=10, lease_seconds=120)
    assert claim.ids == (later.pk,)
    delivery_report_record(event=hard_bounce(), provider="postmark")
    result = send_claimed(claim, clock=lambda: now)
    assert (result.sent, smtp_sink.messages) == (0, [])
    assert Reminder.objects.get(pk=later.pk).status == ReminderStatus.CANCELLED


def test_a_new_plan_for_a_patient_whose_address_bounced_schedules_no_emails(sent, now, smtp_sink):
    delivery_report_record(event=hard_bounce(), provider="postmark")
    treatment = TreatmentFactory(patient=patient_of(sent), performed_at=now)
    plan_create(treatment=treatment, now=now)
    dispatch_due(now=now + timedelta(days=30))
    assert smtp_sink.messages == []
