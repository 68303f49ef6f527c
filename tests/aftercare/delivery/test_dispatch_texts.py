"""Sending due texts (aftercare.delivery.dispatch, the text channel): through the memory
backend, or the real twilio SDK against a local Twilio (twilio_api.TwilioApi).

Time is passed in as `now`, or set with time-machine where the code reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from aftercare.delivery.dispatch import (
    TEXT_COPY_SUBJECT,
    claim_due_reminders,
    dispatch_due,
    send_claimed,
)
from aftercare.delivery.emails import TOKEN_MASK
from aftercare.delivery.text_consent import NUMBER_UNDELIVERABLE, TEXTS_STOPPED
from aftercare.delivery.text_transports import outbox
from aftercare.models import AftercarePlan, Reminder, ReminderStatus, SentMessage
from aftercare.plans.services import plan_create
from patients.models import Channel, ConsentChange, ConsentSource, Patient, TextProblem
from tests.aftercare.delivery.twilio_api import (
    TwilioApi,
    invalid_number,
    rate_limited,
    unsubscribed_recipient,
)
from tests.factories import TreatmentFactory

LONDON = ZoneInfo("Europe/London")
NUMBER = "+447700900123"
OTHER_NUMBER = "+447700900456"


def _london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def now() -> datetime:
    """Noon in London on a fixed day (links are checked against `now`, passed in)."""
    return _london(2027, 4, 14, 12, 0)


def _plan(
    now: datetime, *, emails: bool = False, number: str = NUMBER, **treatment: object
) -> AftercarePlan:
    """A plan made at `now` for a patient agreeing to texts (and to emails if `emails`),
    treated an hour before `now`."""
    made = TreatmentFactory(
        performed_at=treatment.pop("performed_at", now - timedelta(hours=1)),
        patient__phone=number,
        patient__text_consent=True,
        patient__text_consent_at=now,
        patient__email_consent=emails,
        patient__email_consent_at=now if emails else None,
        **treatment,
    )
    with time_machine.travel(now, tick=False):
        return plan_create(treatment=made, now=now)


def _rows(plan: AftercarePlan, channel: Channel) -> list[Reminder]:
    return list(plan.reminders.filter(channel=channel).order_by("due_at", "id"))


def _status(plan: AftercarePlan, channel: Channel) -> list[str]:
    return [row.status for row in _rows(plan, channel)]


# Rows and sending


@pytest.mark.django_db
def test_a_patient_agreeing_to_texts_gets_a_text_row_per_moment_and_no_email(now):
    plan = _plan(now)
    moments = plan.content_plan.reminders
    assert [row.kind for row in _rows(plan, Channel.TEXT)] == [m.key for m in moments]
    assert _rows(plan, Channel.EMAIL) == []


@pytest.mark.django_db
def test_a_due_text_is_sent_to_the_patients_number(now):
    plan = _plan(now)
    result = dispatch_due(now=now)
    assert result.sent == 1
    (text,) = outbox
    assert text.to == NUMBER
    assert _rows(plan, Channel.TEXT)[0].status == ReminderStatus.SENT


@pytest.mark.django_db
def test_a_sent_text_keeps_a_copy_with_the_token_masked_and_the_provider_id(now):
    plan = _plan(now)
    dispatch_due(now=now)
    row = _rows(plan, Channel.TEXT)[0]
    copy = SentMessage.objects.get(reminder=row)
    token = outbox[0].body.split("/p/")[1].split("/")[1]
    assert token and token not in copy.text_body
    assert TOKEN_MASK in copy.text_body
    assert copy.text_body == outbox[0].body.replace(token, TOKEN_MASK)
    assert (copy.to, copy.subject, copy.html_body) == (NUMBER, TEXT_COPY_SUBJECT, "")
    assert copy.provider_message_id == "SM-memory-1"


@pytest.mark.django_db
def test_a_patient_agreeing_to_both_gets_an_email_and_a_text(now):
    plan = _plan(now, emails=True)
    assert len(_rows(plan, Channel.EMAIL)) == len(_rows(plan, Channel.TEXT)) > 1
    result = dispatch_due(now=now)
    assert result.sent == 2
    assert len(mail.outbox) == 1 and len(outbox) == 1


@pytest.mark.django_db
def test_a_superseded_plans_text_is_cancelled_unsent(now):
    plan = _plan(now)
    AftercarePlan.objects.filter(pk=plan.pk).update(superseded_at=now)
    result = dispatch_due(now=now)
    assert result.cancelled == 1 and outbox == []
    row = _rows(plan, Channel.TEXT)[0]
    assert (row.status, row.cancelled_reason) == (ReminderStatus.CANCELLED, "superseded")


@pytest.mark.django_db
def test_a_claim_of_texts_never_takes_emails_and_the_other_way_round(now):
    plan = _plan(now, emails=True)
    later = now + timedelta(days=400)  # every row is due
    texts = claim_due_reminders(now=later, limit=100, lease_seconds=60, channel=Channel.TEXT)
    emails = claim_due_reminders(now=later, limit=100, lease_seconds=60, channel=Channel.EMAIL)
    assert set(texts.ids) == {row.pk for row in _rows(plan, Channel.TEXT)}
    assert set(emails.ids) == {row.pk for row in _rows(plan, Channel.EMAIL)}


@pytest.mark.django_db
def test_consent_withdrawn_between_claim_and_send_cancels_the_text_unsent(now):
    plan = _plan(now)
    claim = claim_due_reminders(now=now, limit=10, lease_seconds=60, channel=Channel.TEXT)
    Patient.objects.filter(pk=plan.treatment.patient_id).update(
        text_consent=False, text_consent_at=None
    )
    result = send_claimed(claim, clock=lambda: now)
    assert result.cancelled == 1 and outbox == []
    row = _rows(plan, Channel.TEXT)[0]
    assert (row.status, row.cancelled_reason) == (ReminderStatus.CANCELLED, "no consent")


@pytest.mark.django_db
def test_a_number_marked_undeliverable_after_the_claim_gets_nothing(now):
    plan = _plan(now)
    claim = claim_due_reminders(now=now, limit=10, lease_seconds=60, channel=Channel.TEXT)
    Patient.objects.filter(pk=plan.treatment.patient_id).update(
        phone_undeliverable_at=now, phone_undeliverable_reason=TextProblem.INVALID
    )
    send_claimed(claim, clock=lambda: now)
    assert outbox == []


# Texting hours


@pytest.mark.django_db
def test_a_text_for_a_late_evening_treatment_is_due_at_the_next_morning(now):
    evening = _london(2027, 4, 14, 22, 30)
    plan = _plan(evening, performed_at=evening - timedelta(minutes=30))
    first_text = _rows(plan, Channel.TEXT)[0]
    assert first_text.due_at == _london(2027, 4, 15, 9, 0)
    dispatch_due(now=evening)
    dispatch_due(now=_london(2027, 4, 15, 8, 59))
    assert outbox == []
    dispatch_due(now=_london(2027, 4, 15, 9, 0))
    first_text.refresh_from_db()
    assert first_text.status == ReminderStatus.SENT


@pytest.mark.django_db
def test_a_text_found_due_after_the_texting_hours_waits_for_the_next_start(now):
    plan = _plan(now)
    row = _rows(plan, Channel.TEXT)[0]
    Reminder.objects.filter(pk=row.pk).update(
        due_at=_london(2027, 4, 14, 19, 55), next_attempt_at=_london(2027, 4, 14, 19, 55)
    )
    with time_machine.travel(_london(2027, 4, 14, 20, 5), tick=False):
        result = dispatch_due()
    assert result.deferred == 1 and outbox == []
    row.refresh_from_db()
    assert row.status == ReminderStatus.PENDING
    assert row.next_attempt_at == _london(2027, 4, 15, 9, 0)
    with time_machine.travel(_london(2027, 4, 15, 3, 0), tick=False):
        assert dispatch_due().sent == 0
    with time_machine.travel(_london(2027, 4, 15, 9, 0), tick=False):
        dispatch_due()
    row.refresh_from_db()
    assert row.status == ReminderStatus.SENT


@pytest.mark.django_db
def test_a_text_found_due_before_the_start_on_the_spring_dst_day_waits_for_9_local(now):
    # 28 March 2027: London's clocks go from 01:00 GMT to 02:00 BST; 09:00 BST is 08:00 UTC.
    plan = _plan(now)
    row = _rows(plan, Channel.TEXT)[0]
    early = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    Reminder.objects.filter(pk=row.pk).update(due_at=early, next_attempt_at=early)
    with time_machine.travel(early, tick=False):
        result = dispatch_due(plan_id=plan.pk)
    assert result.deferred == 1
    row.refresh_from_db()
    assert row.next_attempt_at == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_text_due_in_the_autumn_dst_night_waits_for_9_gmt(now):
    # 31 October 2027: 02:00 BST becomes 01:00 GMT; 09:00 GMT is 09:00 UTC.
    plan = _plan(now)
    row = _rows(plan, Channel.TEXT)[0]
    night = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    Reminder.objects.filter(pk=row.pk).update(due_at=night, next_attempt_at=night)
    with time_machine.travel(night, tick=False):
        dispatch_due(plan_id=plan.pk)
    row.refresh_from_db()
    assert row.next_attempt_at == datetime(2027, 10, 31, 9, 0, tzinfo=UTC)
    assert outbox == []


@pytest.mark.django_db
def test_the_clinics_own_texting_hours_are_used(now):
    plan = _plan(now)
    clinic = plan.treatment.clinic
    clinic.texts_from, clinic.texts_until = time(13, 0), time(17, 0)
    clinic.save()
    result = dispatch_due(now=now)  # noon: before 13:00
    assert result.deferred == 1 and outbox == []
    assert _rows(plan, Channel.TEXT)[0].next_attempt_at == _london(2027, 4, 14, 13, 0)


@pytest.mark.django_db
def test_a_text_held_back_by_an_outage_until_23_00_is_not_sent_at_night(now, twilio: TwilioApi):
    plan = _plan(now)
    row = _rows(plan, Channel.TEXT)[0]
    evening = _london(2027, 4, 14, 19, 58)
    Reminder.objects.filter(pk=row.pk).update(due_at=evening, next_attempt_at=evening)
    twilio.refuse_connections()
    assert dispatch_due(now=evening).retried == 1
    twilio.accept_connections()
    late = _london(2027, 4, 14, 23, 0)
    result = dispatch_due(now=late)
    assert (result.sent, result.deferred) == (0, 1)
    assert twilio.accepted == []
    row.refresh_from_db()
    assert row.next_attempt_at == _london(2027, 4, 15, 9, 0)
    dispatch_due(now=_london(2027, 4, 15, 9, 0))
    row.refresh_from_db()
    assert row.status == ReminderStatus.SENT
    assert SentMessage.objects.get(reminder=row).provider_message_id in {
        request.sid for request in twilio.accepted
    }


# Twilio's answers


@pytest.mark.django_db
def test_a_text_sent_through_twilio_keeps_twilios_sid(now, twilio: TwilioApi):
    plan = _plan(now)
    dispatch_due(now=now)
    (request,) = twilio.accepted
    assert SentMessage.objects.get(reminder__plan=plan).provider_message_id == request.sid
    assert TOKEN_MASK not in request.body


@pytest.mark.django_db
def test_21610_stops_texts_for_the_patient_and_leaves_emails(now, twilio: TwilioApi):
    plan = _plan(now, emails=True)
    patient = plan.treatment.patient
    twilio.answer_for(NUMBER, unsubscribed_recipient())
    dispatch_due(now=now)
    texts = _rows(plan, Channel.TEXT)
    assert {(row.status, row.cancelled_reason) for row in texts} == {
        (ReminderStatus.CANCELLED, TEXTS_STOPPED)
    }
    patient.refresh_from_db()
    assert (patient.text_consent, patient.text_consent_at) == (False, None)
    change = ConsentChange.objects.get(patient=patient, channel=Channel.TEXT)
    assert (change.given, change.source) == (False, ConsentSource.TEXT_STOP)
    emails = _status(plan, Channel.EMAIL)
    assert emails[0] == ReminderStatus.SENT
    assert set(emails[1:]) == {ReminderStatus.PENDING}
    assert patient.email_consent


@pytest.mark.django_db
def test_an_invalid_number_is_marked_and_its_texts_cancelled(now, twilio: TwilioApi):
    plan = _plan(now, emails=True)
    patient = plan.treatment.patient
    twilio.answer_for(NUMBER, invalid_number())
    result = dispatch_due(now=now)
    assert result.failed == 1
    patient.refresh_from_db()
    assert patient.phone_undeliverable_at == now
    assert patient.phone_undeliverable_reason == TextProblem.INVALID
    assert patient.phone_problem
    texts = _rows(plan, Channel.TEXT)
    # The refused one is failed, then cancelled with the rest: none will be tried again.
    assert {(row.status, row.cancelled_reason) for row in texts} == {
        (ReminderStatus.CANCELLED, NUMBER_UNDELIVERABLE)
    }
    assert "21211" in texts[0].last_error
    assert set(_status(plan, Channel.EMAIL)[1:]) == {ReminderStatus.PENDING}
    assert patient.text_consent  # the patient did not say no: staff correct the number


@pytest.mark.django_db
def test_twilio_down_puts_every_text_back_and_emails_still_go(now, twilio: TwilioApi):
    plans = [_plan(now, emails=True), _plan(now, emails=True, number=OTHER_NUMBER)]
    twilio.refuse_connections()
    result = dispatch_due(now=now)
    assert result.unreachable
    assert len(mail.outbox) == 2
    for plan in plans:
        row = _rows(plan, Channel.TEXT)[0]
        assert row.status == ReminderStatus.PENDING
        assert row.first_refused_at is None and row.last_error
        assert row.next_attempt_at > now
    assert result.failed == 0


@pytest.mark.django_db
def test_texts_held_back_by_an_outage_go_once_twilio_is_back(now, twilio: TwilioApi, settings):
    plan = _plan(now)
    twilio.refuse_connections()
    dispatch_due(now=now)
    twilio.accept_connections()
    later = now + timedelta(seconds=settings.REMINDER_RETRY_BASE_SECONDS)
    assert dispatch_due(now=later).sent == 1
    assert _rows(plan, Channel.TEXT)[0].status == ReminderStatus.SENT


@pytest.mark.django_db
def test_a_rate_limit_only_delays_the_texts(now, twilio: TwilioApi):
    plan = _plan(now)
    twilio.answer_next(rate_limited())
    result = dispatch_due(now=now)
    assert (result.failed, result.retried) == (0, 1)
    row = _rows(plan, Channel.TEXT)[0]
    assert row.status == ReminderStatus.PENDING and row.first_refused_at is None
