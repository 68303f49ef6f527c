"""Twilio's delivery reports (aftercare.delivery.text_reports.text_status_record), posted
signed by the local Twilio (twilio_api.TwilioApi) to the app under Django's live server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from aftercare.delivery.dispatch import dispatch_due
from aftercare.delivery.text_consent import NUMBER_UNDELIVERABLE
from aftercare.models import (
    AftercarePlan,
    DeliveryEvent,
    DeliveryEventType,
    Reminder,
    ReminderStatus,
    SentMessage,
)
from aftercare.plans.services import plan_create
from patients.models import Channel, TextProblem
from tests.aftercare.delivery.twilio_api import TwilioApi, new_sid, signed_form_post
from tests.factories import TreatmentFactory

NUMBER = "+447700900123"


@pytest.fixture
def sent(live_server, settings, twilio: TwilioApi) -> tuple[AftercarePlan, Reminder]:
    """A plan whose first text went out through Twilio, with the status callback pointing
    at the live server."""
    settings.SITE_URL = live_server.url
    now = timezone.localtime(timezone.now()).replace(hour=12, minute=0, second=0, microsecond=0)
    treatment = TreatmentFactory(
        performed_at=now - timedelta(hours=1),
        patient__phone=NUMBER,
        patient__text_consent=True,
        patient__text_consent_at=now,
        patient__email_consent=False,
        patient__email_consent_at=None,
    )
    plan = plan_create(treatment=treatment, now=now)
    assert dispatch_due(now=now).sent == 1
    return plan, plan.reminders.get(status=ReminderStatus.SENT)


def _report(twilio: TwilioApi, status: str, error_code: int | None = None) -> int:
    return twilio.send_status_callback(twilio.accepted[0], status, error_code)


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        ("delivered", DeliveryEventType.DELIVERED),
        ("undelivered", DeliveryEventType.UNDELIVERED),
        ("failed", DeliveryEventType.FAILED),
    ],
)
def test_a_report_is_kept_as_an_event_and_on_the_reminder(twilio, sent, status, event_type):
    _, row = sent
    assert _report(twilio, status) == 204
    event = DeliveryEvent.objects.get(sent_message__reminder=row)
    assert (event.provider, event.event_type) == ("twilio", event_type)
    row.refresh_from_db()
    assert row.delivery_status == event_type


def test_a_sent_report_after_delivered_keeps_delivered(twilio, sent):
    _, row = sent
    _report(twilio, "delivered")
    _report(twilio, "sent")
    row.refresh_from_db()
    assert row.delivery_status == DeliveryEventType.DELIVERED
    assert DeliveryEvent.objects.filter(sent_message__reminder=row).count() == 2


def test_the_same_report_twice_counts_once(twilio, sent):
    _, row = sent
    assert _report(twilio, "delivered") == 204
    assert _report(twilio, "delivered") == 204
    assert DeliveryEvent.objects.filter(sent_message__reminder=row).count() == 1


def test_a_report_with_an_error_code_keeps_it_in_the_detail(twilio, sent):
    _, row = sent
    _report(twilio, "undelivered", 30003)
    assert DeliveryEvent.objects.get().detail == "Twilio error 30003"
    row.patient.refresh_from_db()
    assert row.patient.phone_undeliverable_at is None


@pytest.mark.parametrize("code", [30005, 30006])
def test_a_number_that_cannot_get_texts_is_marked_and_its_texts_stop(twilio, sent, code):
    plan, row = sent
    _report(twilio, "undelivered", code)
    patient = row.patient
    patient.refresh_from_db()
    assert patient.phone_undeliverable_at is not None
    assert patient.phone_undeliverable_reason == TextProblem.INVALID
    waiting = plan.reminders.filter(channel=Channel.TEXT).exclude(pk=row.pk)
    assert waiting.exists()
    assert set(waiting.values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, NUMBER_UNDELIVERABLE)
    }


def test_a_report_about_a_text_not_sent_from_here_is_answered_and_kept_nowhere(
    twilio, sent, live_server
):
    params = {"MessageSid": new_sid("SM"), "MessageStatus": "delivered", "To": NUMBER}
    url = f"{live_server.url}/texts/twilio/status/"
    status, _ = signed_form_post(url, params, twilio.auth_token)
    assert status == 204
    assert DeliveryEvent.objects.count() == 0


def test_a_status_not_kept_changes_nothing(twilio, sent):
    _, row = sent
    assert _report(twilio, "sending") == 204
    assert DeliveryEvent.objects.count() == 0
    assert SentMessage.objects.get(reminder=row).provider_message_id == twilio.accepted[0].sid
