"""Sending due reminders (aftercare.delivery.dispatch) through the transport and emails,
to a real SMTP sink.

Time is always passed in as `now`; the sink (tests.smtp_sink) answers 451/550 or
refuses connections on demand. The transport is only observed at its edge
(`aftercare.delivery.transports.get_connection`), never replaced.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from aftercare.delivery import transports
from aftercare.delivery.dispatch import (
    claim_due_reminders,
    dispatch_due,
    retry_delay,
    send_claimed,
)
from aftercare.delivery.emails import TOKEN_MASK
from aftercare.delivery.reminders import new_message_id, reminders_stop_for_patient
from aftercare.delivery.transports import EmailTransport, TransportError
from aftercare.links import hash_token
from aftercare.models import (
    AftercarePlan,
    GuidanceSnapshot,
    PatientLink,
    Reminder,
    ReminderStatus,
    SentMessage,
)
from aftercare.plans.services import plan_create
from aftercare.tasks import dispatch_due_reminders, send_plan_reminders_now
from patients.models import Device, Patient, TreatmentArea
from tests.factories import TreatmentFactory

LONDON = ZoneInfo("Europe/London")
LEASE = 120


@pytest.fixture
def now() -> datetime:
    """Noon today in London: a fixed moment of the day, on today's date so links are valid."""
    return timezone.localtime(timezone.now(), LONDON).replace(
        hour=12, minute=0, second=0, microsecond=0
    )


@pytest.fixture
def smtp_edge(monkeypatch) -> SmtpEdge:
    edge = SmtpEdge()
    real = transports.get_connection

    def get_connection(*args: object, **kwargs: object):
        backend = real(*args, **kwargs)
        real_open, real_send = backend.open, backend.send_messages

        def open_() -> bool | None:
            opened = real_open()
            if opened:
                edge.opened += 1
            return opened

        def send_messages(messages: list[EmailMultiAlternatives]) -> int:
            for hook in edge.before_send:
                hook(messages)
            return real_send(messages)

        backend.open, backend.send_messages = open_, send_messages
        return backend

    monkeypatch.setattr(transports, "get_connection", get_connection)
    return edge


class SmtpEdge:
    """What passes through `aftercare.delivery.transports.get_connection`: connections
    opened, messages sent."""

    def __init__(self) -> None:
        self.opened = 0
        self.before_send: list[Callable[[list[EmailMultiAlternatives]], None]] = []


def _plan(now: datetime, **patient: object) -> AftercarePlan:
    """A plan whose day-0 email is due at `now` (treated an hour earlier, in daytime)."""
    treatment = TreatmentFactory(
        performed_at=now - timedelta(hours=1),
        **{f"patient__{key}": value for key, value in patient.items()},
    )
    return plan_create(treatment=treatment, now=now)


def _day_0(plan: AftercarePlan) -> Reminder:
    return plan.reminders.get(day_number=0)


def _bare_reminders(count: int, *, due: datetime) -> list[int]:
    """Rows with no real plan behind them: enough for claiming, not for sending."""
    treatment = TreatmentFactory()
    plan = AftercarePlan.objects.create(
        treatment=treatment,
        content={},
        guidance=GuidanceSnapshot.objects.create(fingerprint=uuid.uuid4().hex, data={}),
        intensity=1,
        created_at=due,
    )
    rows = Reminder.objects.bulk_create(
        Reminder(
            plan=plan,
            patient=treatment.patient,
            kind=f"kind-{number}",
            label="Reminder",
            covers="",
            day_number=number,
            due_at=due,
            next_attempt_at=due,
            message_id=new_message_id(),
        )
        for number in range(count)
    )
    return [row.pk for row in rows]


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def _html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def _token_from(message: EmailMessage) -> str:
    # The plan link: /p/<clinic slug>/<token>/
    return re.search(r"/p/[^/\s]+/([^/\s]+)/", _text(message)).group(1)


# Sending


@pytest.mark.django_db
def test_it_sends_a_due_reminder_to_the_patient(smtp_sink, now):
    plan = _plan(now)
    result = dispatch_due(now=now)
    assert result.sent == 1
    [message] = smtp_sink.messages
    assert message["To"] == plan.treatment.patient.email
    assert message["Message-ID"].strip() == _day_0(plan).message_id


@pytest.mark.django_db
def test_it_records_the_sent_row(smtp_sink, now):
    plan = _plan(now)
    dispatch_due(now=now)
    row = _day_0(plan)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == (
        ReminderStatus.SENT,
        now,
        1,
        "",
    )


@pytest.mark.django_db
def test_it_leaves_reminders_that_are_not_due_yet(smtp_sink, now):
    plan = _plan(now)
    dispatch_due(now=now)
    later = plan.reminders.exclude(day_number=0)
    assert later.exists()
    assert set(later.values_list("status", "attempts")) == {(ReminderStatus.PENDING, 0)}
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db
def test_a_second_pass_sends_nothing_again(smtp_sink, now):
    _plan(now)
    dispatch_due(now=now)
    assert dispatch_due(now=now + timedelta(minutes=1)).sent == 0
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db
def test_plan_id_limits_the_pass_to_that_plan(smtp_sink, now):
    mine, other = _plan(now), _plan(now)
    assert dispatch_due(now=now, plan_id=mine.pk).sent == 1
    assert _day_0(other).status == ReminderStatus.PENDING
    assert [m["To"] for m in smtp_sink.messages] == [mine.treatment.patient.email]


@pytest.mark.django_db
def test_it_sends_each_batch_over_one_smtp_connection(smtp_sink, smtp_edge, now, settings):
    settings.REMINDER_BATCH_SIZE = 2
    for _ in range(5):
        _plan(now)
    result = dispatch_due(now=now)
    assert (result.sent, result.batches) == (5, 3)
    assert smtp_edge.opened == 3
    assert len(smtp_sink.messages) == 5


@pytest.mark.django_db
def test_a_batch_with_nothing_to_send_opens_no_connection(smtp_sink, smtp_edge, now):
    plan = _plan(now)
    Patient.objects.filter(pk=plan.treatment.patient_id).update(
        email_consent=False, email_consent_at=None
    )
    dispatch_due(now=now)
    assert smtp_edge.opened == 0


def test_retry_delay_waits_as_long_as_the_refusals_lasted_within_bounds(settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    settings.REMINDER_RETRY_MAX_SECONDS = 300
    delays = [retry_delay(timedelta(seconds=s)).total_seconds() for s in (0, 60, 120, 240, 480)]
    assert delays == [60, 60, 120, 240, 300]


# Temporary and permanent errors


@pytest.mark.django_db
def test_it_retries_a_451_with_backoff(smtp_sink, now, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    plan = _plan(now)
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")
    result = dispatch_due(now=now)
    row = _day_0(plan)
    assert (result.sent, result.retried) == (0, 1)
    assert (row.status, row.attempts, row.first_refused_at) == (ReminderStatus.PENDING, 1, now)
    assert row.next_attempt_at == now + timedelta(seconds=60)
    assert "451" in row.last_error
    assert row.lease_token is None


@pytest.mark.django_db
def test_a_retried_row_is_not_due_before_its_backoff(smtp_sink, now, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    plan = _plan(now)
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")
    dispatch_due(now=now)
    smtp_sink.reply_to_rcpt(None)
    assert dispatch_due(now=now + timedelta(seconds=59)).sent == 0
    assert _day_0(plan).attempts == 1
    assert dispatch_due(now=now + timedelta(seconds=60)).sent == 1


@pytest.mark.django_db
def test_the_gap_between_tries_doubles(smtp_sink, now, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    settings.REMINDER_RETRY_MAX_SECONDS = 3600
    plan = _plan(now)
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")
    tries = [now]
    for _ in range(4):
        dispatch_due(now=tries[-1])
        tries.append(_day_0(plan).next_attempt_at)
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(tries)]
    assert gaps == [60, 60, 120, 240]


@pytest.mark.django_db
def test_451s_are_retried_however_many_tries_within_the_window(smtp_sink, now, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 1
    settings.REMINDER_RETRY_MAX_SECONDS = 1
    settings.REMINDER_RETRY_WINDOW_HOURS = 1
    plan = _plan(now)
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")
    moment = now
    for _ in range(30):
        assert dispatch_due(now=moment).failed == 0
        moment = _day_0(plan).next_attempt_at
    row = _day_0(plan)
    assert (row.status, row.attempts, row.first_refused_at) == (ReminderStatus.PENDING, 30, now)


@pytest.mark.django_db
def test_a_451_after_the_window_since_the_first_refusal_fails_the_row(smtp_sink, now, settings):
    settings.REMINDER_RETRY_WINDOW_HOURS = 24
    plan = _plan(now)
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")
    dispatch_due(now=now)
    dispatch_due(now=now + timedelta(hours=23, minutes=59))
    row = _day_0(plan)
    assert row.status == ReminderStatus.PENDING
    assert row.next_attempt_at >= now + timedelta(hours=24)
    dispatch_due(now=row.next_attempt_at)
    row = _day_0(plan)
    assert (row.status, row.lease_token, row.first_refused_at) == (
        ReminderStatus.FAILED,
        None,
        now,
    )
    assert "451" in row.last_error


@pytest.mark.django_db
def test_an_outage_after_a_451_does_not_restart_the_window(smtp_sink, now, settings):
    settings.REMINDER_RETRY_WINDOW_HOURS = 24
    plan = _plan(now)
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")
    dispatch_due(now=now)
    smtp_sink.refuse_connections()
    dispatch_due(now=now + timedelta(hours=12))
    assert _day_0(plan).first_refused_at == now
    smtp_sink.refuse_connections(False)
    dispatch_due(now=now + timedelta(hours=24))
    assert _day_0(plan).status == ReminderStatus.FAILED


@pytest.mark.django_db
def test_a_failed_row_is_not_tried_again(smtp_sink, now, settings):
    settings.REMINDER_RETRY_WINDOW_HOURS = 0
    plan = _plan(now)
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")
    dispatch_due(now=now)
    smtp_sink.reply_to_rcpt(None)
    assert dispatch_due(now=now + timedelta(hours=1)).sent == 0
    assert _day_0(plan).status == ReminderStatus.FAILED


@pytest.mark.django_db
def test_a_550_fails_the_row_at_once(smtp_sink, now):
    plan = _plan(now)
    smtp_sink.reply_to_rcpt("550 5.1.1 No such user")
    result = dispatch_due(now=now)
    row = _day_0(plan)
    assert result.failed == 1
    assert (row.status, row.attempts, row.first_refused_at) == (ReminderStatus.FAILED, 1, None)
    assert "550" in row.last_error
    assert not SentMessage.objects.exists()


@pytest.mark.django_db
def test_a_mail_server_that_refuses_connections_never_fails_a_row(smtp_sink, now, settings):
    # Even with no window at all for refusals: an unreachable server is not one.
    settings.REMINDER_RETRY_WINDOW_HOURS = 0
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    plan = _plan(now)
    smtp_sink.refuse_connections()
    moment = now
    for _ in range(20):
        result = dispatch_due(now=moment)
        row = _day_0(plan)
        assert (result.failed, row.status) == (0, ReminderStatus.PENDING)
        assert row.next_attempt_at == moment + timedelta(seconds=60)
        moment = row.next_attempt_at
    assert (row.attempts, row.first_refused_at) == (20, None)
    assert row.last_error
    assert smtp_sink.messages == []


@pytest.mark.django_db
def test_an_unreachable_server_puts_the_whole_batch_back_and_ends_the_pass(
    smtp_sink, smtp_edge, now, settings
):
    settings.REMINDER_BATCH_SIZE = 2
    plans = [_plan(now) for _ in range(5)]
    tries = []
    smtp_edge.before_send.append(tries.append)
    smtp_sink.refuse_connections()
    result = dispatch_due(now=now)
    assert (result.batches, result.retried, result.failed) == (1, 2, 0)
    assert tries == []  # the connection failed before any message was handed over
    rows = [_day_0(plan) for plan in plans]
    assert {row.status for row in rows} == {ReminderStatus.PENDING}
    assert sum(row.attempts for row in rows) == 2


@pytest.mark.django_db
def test_rows_held_back_by_a_refusing_server_are_sent_once_it_is_back(smtp_sink, now):
    plans = [_plan(now), _plan(now)]
    smtp_sink.refuse_connections()
    dispatch_due(now=now)
    smtp_sink.refuse_connections(False)
    retry_at = max(_day_0(plan).next_attempt_at for plan in plans)
    assert dispatch_due(now=retry_at).sent == 2
    assert {_day_0(plan).status for plan in plans} == {ReminderStatus.SENT}
    assert len(smtp_sink.messages) == 2


@pytest.mark.django_db
def test_a_reminder_that_cannot_be_built_does_not_hold_up_the_others(smtp_sink, now):
    broken, healthy = _plan(now), _plan(now)
    # An address Django refuses to put in a header (say, imported with two addresses in it).
    Patient.objects.filter(pk=broken.treatment.patient_id).update(
        email="one@example.com, two@example.com"
    )
    for moment in (now, now + timedelta(seconds=LEASE + 1)):
        dispatch_due(now=moment)
    assert _day_0(healthy).status == ReminderStatus.SENT
    assert _day_0(broken).status in {ReminderStatus.FAILED, ReminderStatus.PENDING}


# Claims, leases and fencing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_never_get_the_same_row(now):
    ids = _bare_reminders(200, due=now)
    claimed: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def claimer() -> None:
        try:
            start.wait()
            while claim := claim_due_reminders(now=now, limit=7, lease_seconds=LEASE).ids:
                claimed.extend(claim)
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [id_ for id_, count in Counter(claimed).items() if count > 1] == []
    assert sorted(claimed) == sorted(ids)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_claim_marks_rows_sending_under_a_lease(now):
    [id_] = _bare_reminders(1, due=now)
    claim = claim_due_reminders(now=now, limit=10, lease_seconds=LEASE)
    row = Reminder.objects.get(pk=id_)
    assert claim.ids == (id_,)
    assert (row.status, row.lease_token, row.attempts) == (
        ReminderStatus.SENDING,
        claim.lease_token,
        1,
    )
    assert row.next_attempt_at == now + timedelta(seconds=LEASE)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_sending_row_is_not_claimed_again_while_its_lease_runs(now):
    _bare_reminders(1, due=now)
    claim_due_reminders(now=now, limit=10, lease_seconds=LEASE)
    later = now + timedelta(seconds=LEASE - 1)
    assert claim_due_reminders(now=later, limit=10, lease_seconds=LEASE).ids == ()


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_expired_lease_makes_a_sending_row_claimable_again(now):
    [id_] = _bare_reminders(1, due=now)
    first = claim_due_reminders(now=now, limit=10, lease_seconds=LEASE)
    second = claim_due_reminders(now=now + timedelta(seconds=LEASE), limit=10, lease_seconds=LEASE)
    row = Reminder.objects.get(pk=id_)
    assert second.ids == (id_,)
    assert second.lease_token != first.lease_token
    assert (row.lease_token, row.attempts) == (second.lease_token, 2)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_stale_claim_sends_nothing_once_another_worker_took_the_row(smtp_sink, now):
    plan = _plan(now)
    stale = claim_due_reminders(now=now, limit=10, lease_seconds=LEASE)
    fresh = claim_due_reminders(now=now + timedelta(seconds=LEASE), limit=10, lease_seconds=LEASE)
    result = send_claimed(stale, clock=lambda: now + timedelta(seconds=LEASE + 5))
    row = _day_0(plan)
    assert result.sent == 0
    assert smtp_sink.messages == []
    assert (row.status, row.lease_token, row.attempts) == (
        ReminderStatus.SENDING,
        fresh.lease_token,
        2,
    )


class _StallingClock:
    """Reads `now` until the send starts, then a moment past the lease: a worker that
    stalls inside the SMTP conversation."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def stall(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_stale_worker_cannot_overwrite_the_row_after_its_lease_expired(smtp_sink, smtp_edge, now):
    plan = _plan(now)
    stale = claim_due_reminders(now=now, limit=10, lease_seconds=LEASE)
    taken_over = []
    clock = _StallingClock(now)

    # The stale worker stalls mid-send past its lease, and another worker reclaims the row.
    def stall(messages: list[EmailMultiAlternatives]) -> None:
        clock.moment = now + timedelta(seconds=LEASE + 2)
        taken_over.append(
            claim_due_reminders(
                now=now + timedelta(seconds=LEASE + 1), limit=10, lease_seconds=LEASE
            )
        )

    smtp_edge.before_send.append(stall)
    send_claimed(stale, clock=clock)
    row = _day_0(plan)
    assert taken_over[0].ids == (row.pk,)
    assert (row.status, row.lease_token, row.attempts, row.sent_at) == (
        ReminderStatus.SENDING,
        taken_over[0].lease_token,
        2,
        None,
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_stale_worker_still_keeps_a_copy_of_what_it_sent(smtp_sink, smtp_edge, now):
    plan = _plan(now)
    stale = claim_due_reminders(now=now, limit=10, lease_seconds=LEASE)
    clock = _StallingClock(now)

    def stall(messages: list[EmailMultiAlternatives]) -> None:
        clock.moment = now + timedelta(seconds=LEASE + 2)
        claim_due_reminders(now=now + timedelta(seconds=LEASE + 1), limit=10, lease_seconds=LEASE)

    smtp_edge.before_send.append(stall)
    send_claimed(stale, clock=clock)
    row = _day_0(plan)
    assert row.status == ReminderStatus.SENDING
    assert list(SentMessage.objects.filter(reminder=row).values_list("message_id", flat=True)) == [
        row.message_id
    ]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_stale_worker_cannot_turn_a_sent_row_back_into_a_retry(smtp_sink, smtp_edge, now):
    plan = _plan(now)
    stale = claim_due_reminders(now=now, limit=10, lease_seconds=LEASE)
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")

    def taken_over_and_sent(messages: list[EmailMultiAlternatives]) -> None:
        smtp_edge.before_send.clear()
        smtp_sink.reply_to_rcpt(None)
        fresh = claim_due_reminders(
            now=now + timedelta(seconds=LEASE + 1), limit=10, lease_seconds=LEASE
        )
        send_claimed(fresh, clock=lambda: now + timedelta(seconds=LEASE + 1))
        smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")

    clock = _StallingClock(now)
    smtp_edge.before_send.insert(
        0, lambda messages: clock.stall(now + timedelta(seconds=LEASE + 2))
    )
    smtp_edge.before_send.append(taken_over_and_sent)
    result = send_claimed(stale, clock=clock)
    row = _day_0(plan)
    assert result.retried == 0
    assert (row.status, row.sent_at, row.attempts) == (
        ReminderStatus.SENT,
        now + timedelta(seconds=LEASE + 1),
        2,
    )


# Consent and superseded plans, checked again at send time


@pytest.mark.django_db
def test_withdrawn_consent_at_send_time_cancels_the_row(smtp_sink, now):
    plan = _plan(now)
    Patient.objects.filter(pk=plan.treatment.patient_id).update(
        email_consent=False, email_consent_at=None
    )
    result = dispatch_due(now=now)
    row = _day_0(plan)
    assert result.cancelled == 1
    assert (row.status, row.cancelled_reason) == (ReminderStatus.CANCELLED, "no consent")
    assert smtp_sink.messages == []
    assert not SentMessage.objects.exists()


@pytest.mark.django_db
def test_consent_withdrawn_during_a_batch_stops_the_next_message(smtp_sink, smtp_edge, now):
    first, second = _plan(now), _plan(now)

    def withdraw_the_second(messages: list[EmailMultiAlternatives]) -> None:
        smtp_edge.before_send.clear()
        Patient.objects.filter(pk=second.treatment.patient_id).update(
            email_consent=False, email_consent_at=None
        )

    smtp_edge.before_send.append(withdraw_the_second)
    result = dispatch_due(now=now)
    assert (result.sent, result.cancelled) == (1, 1)
    assert [m["To"] for m in smtp_sink.messages] == [first.treatment.patient.email]
    row = _day_0(second)
    assert (row.status, row.cancelled_reason) == (ReminderStatus.CANCELLED, "no consent")


@pytest.mark.django_db
def test_an_erased_patient_is_not_sent_to(smtp_sink, now):
    plan = _plan(now)
    Patient.objects.filter(pk=plan.treatment.patient_id).update(erased_at=now)
    assert dispatch_due(now=now).cancelled == 1
    assert smtp_sink.messages == []


@pytest.mark.django_db
def test_a_row_stopped_while_its_batch_is_sending_is_not_sent(smtp_sink, smtp_edge, now):
    first, second = _plan(now), _plan(now)
    stopped = []

    def stop_the_second(messages: list[EmailMultiAlternatives]) -> None:
        smtp_edge.before_send.clear()
        stopped.append(_day_0(second).status)
        patient = Patient.objects.get(pk=second.treatment.patient_id)
        reminders_stop_for_patient(patient=patient, reason="unsubscribed")

    smtp_edge.before_send.append(stop_the_second)
    result = dispatch_due(now=now)
    assert stopped == [ReminderStatus.SENDING]
    assert result.sent == 1
    assert [m["To"] for m in smtp_sink.messages] == [first.treatment.patient.email]
    row = _day_0(second)
    assert (row.status, row.cancelled_reason, row.lease_token) == (
        ReminderStatus.CANCELLED,
        "unsubscribed",
        None,
    )


@pytest.mark.django_db
def test_a_row_stopped_while_its_message_is_in_flight_stays_cancelled_with_its_copy(
    smtp_sink, smtp_edge, now
):
    plan = _plan(now)

    def stop_now(messages: list[EmailMultiAlternatives]) -> None:
        patient = Patient.objects.get(pk=plan.treatment.patient_id)
        reminders_stop_for_patient(patient=patient, reason="unsubscribed")

    smtp_edge.before_send.append(stop_now)
    dispatch_due(now=now)
    row = _day_0(plan)
    assert len(smtp_sink.messages) == 1
    assert (row.status, row.sent_at) == (ReminderStatus.CANCELLED, None)
    assert SentMessage.objects.get().message_id == row.message_id


@pytest.mark.django_db
def test_each_sent_mark_is_stored_before_the_next_message_goes(smtp_sink, smtp_edge, now):
    plans = [_plan(now) for _ in range(3)]
    seen = []
    smtp_edge.before_send.append(
        lambda messages: seen.append(
            (
                Reminder.objects.filter(status=ReminderStatus.SENT).count(),
                SentMessage.objects.count(),
            )
        )
    )
    assert dispatch_due(now=now).sent == len(plans)
    assert seen == [(0, 0), (1, 1), (2, 2)]


@pytest.mark.django_db
def test_a_superseded_plan_cancels_the_row_at_send_time(smtp_sink, now):
    plan = _plan(now)
    AftercarePlan.objects.filter(pk=plan.pk).update(superseded_at=now)
    result = dispatch_due(now=now)
    row = _day_0(plan)
    assert result.cancelled == 1
    assert (row.status, row.cancelled_reason) == (ReminderStatus.CANCELLED, "superseded")
    assert smtp_sink.messages == []


# The email


@pytest.mark.django_db
def test_the_email_has_plain_text_and_html_parts(smtp_sink, now):
    _plan(now)
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    assert message.get_content_type() == "multipart/alternative"
    assert "Hello Jordan" in _text(message)
    assert "<html" in _html(message)


@pytest.mark.django_db
def test_the_email_carries_the_clinic_name_and_contact(smtp_sink, now):
    plan = _plan(now)
    clinic = plan.treatment.clinic
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    for part in (_text(message), _html(message)):
        assert clinic.name in part
        assert clinic.phone in part
        assert clinic.email in part
    assert clinic.sender_name in message["From"]
    assert message["Reply-To"] == clinic.email


@pytest.mark.django_db
def test_the_email_carries_a_link_that_opens_the_plan(smtp_sink, now, settings):
    settings.SITE_URL = "https://aftercare.example.com"
    cache.clear()  # no rate limit left over from bad links tried by earlier tests
    slug = _plan(now).treatment.clinic.slug
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    path = f"/p/{slug}/{_token_from(message)}/"
    assert f"https://aftercare.example.com{path}" in _text(message).splitlines()
    assert f'href="https://aftercare.example.com{path}"' in _html(message)
    response = Client().get(path, follow=True)
    assert response.status_code == 200
    assert "<h1>Treatment day</h1>" in response.content.decode()


@pytest.mark.django_db
def test_list_unsubscribe_is_one_url_with_one_click_post(smtp_sink, now, settings):
    settings.SITE_URL = "https://aftercare.example.com"
    slug = _plan(now).treatment.clinic.slug
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    header = message["List-Unsubscribe"].strip()  # the sender may fold a long header
    assert re.fullmatch(r"<https?://[^<>,\s]+>", header)
    # Its own token (aftercare.links), not the plan link's: it outlives the plan link.
    assert re.fullmatch(rf"<https://aftercare\.example\.com/p/{slug}/unsubscribe/[^/]+/>", header)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.django_db
def test_the_list_unsubscribe_url_stops_the_reminders(smtp_sink, now):
    plan = _plan(now)
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    path = re.search(r"https?://[^/]+(/[^>]+)>", message["List-Unsubscribe"]).group(1)
    cache.clear()  # no rate limit left over from bad links tried by earlier tests
    response = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert not plan.reminders.filter(status=ReminderStatus.PENDING).exists()


@pytest.mark.django_db
def test_the_body_has_a_visible_unsubscribe_link(smtp_sink, now):
    _plan(now)
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    url = re.search(r"<([^>]+)>", message["List-Unsubscribe"]).group(1)
    assert f"Stop these reminders: {url}" in _text(message)
    assert f'href="{url}"' in _html(message)


@pytest.mark.django_db
def test_the_email_gives_every_warning_sign_of_its_day_in_full(smtp_sink, now):
    warnings = _plan(now).content_plan.warnings_on_day_of(now)
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    text, html = _text(message), _html(message)
    assert len(warnings) >= 4
    for warning in warnings:
        assert warning.title in text
        assert warning.body_md.replace("**", "").split(". ")[0] in " ".join(text.split())
        assert escape(warning.title) in html
    assert "emergency number" in text
    assert "emergency number" in html


@pytest.mark.django_db
def test_the_subject_says_nothing_clinical(smtp_sink, now):
    treatment = TreatmentFactory(
        performed_at=now - timedelta(hours=1),
        areas=list(TreatmentArea.values),
        device="rf",
    )
    plan_create(treatment=treatment, now=now)
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    subject = message["Subject"].lower()
    clinical = {"microneedl", "needle", "depth", "mm", "passes"}
    clinical |= {value.replace("_", " ") for value in TreatmentArea.values}
    clinical |= {label.lower() for label in TreatmentArea.labels}
    clinical |= set(Device.values) | {label.lower() for label in Device.labels}
    assert [word for word in clinical if re.search(rf"\b{re.escape(word)}", subject)] == []
    assert treatment.clinic.sender_name.lower() in subject


@pytest.mark.django_db
def test_the_email_has_its_reminders_message_id(smtp_sink, now):
    plan = _plan(now)
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    assert re.fullmatch(r"<reminder-[0-9a-f]{32}@[^>]+>", message["Message-ID"].strip())
    assert message["Message-ID"].strip() == _day_0(plan).message_id


# The copy that is kept


@pytest.mark.django_db
def test_it_keeps_a_copy_of_each_sent_message(smtp_sink, now):
    plan = _plan(now)
    dispatch_due(now=now)
    [message] = smtp_sink.messages
    copy = SentMessage.objects.get()
    assert copy.reminder == _day_0(plan)
    assert (copy.message_id, copy.to, copy.subject, copy.sent_at) == (
        _day_0(plan).message_id,
        plan.treatment.patient.email,
        message["Subject"],
        now,
    )
    assert "Hello Jordan" in copy.text_body
    assert "<html" in copy.html_body
    assert copy.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert copy.headers["Message-ID"] == _day_0(plan).message_id


@pytest.mark.django_db
def test_the_kept_copy_masks_the_patients_link(smtp_sink, now):
    _plan(now)
    dispatch_due(now=now)
    copy = SentMessage.objects.get()
    assert TOKEN_MASK in copy.text_body
    assert TOKEN_MASK in copy.html_body
    assert TOKEN_MASK in copy.headers["List-Unsubscribe"]


@pytest.mark.django_db
def test_the_raw_token_is_never_stored(smtp_sink, now):
    plan = _plan(now)
    dispatch_due(now=now)
    token = _token_from(smtp_sink.messages[0])
    stored = [
        *SentMessage.objects.values_list("subject", "text_body", "html_body", "headers", "to"),
        *PatientLink.objects.values_list("salt", "token_hash"),
        *plan.reminders.values_list("message_id", "last_error", "covers", "label"),
    ]
    assert stored
    assert [value for row in stored for value in row if token in str(value)] == []
    assert PatientLink.objects.get().token_hash == hash_token(token)


# Tasks: thin wrappers


@pytest.mark.django_db
def test_the_send_now_task_sends_the_plans_due_reminders(smtp_sink, now):
    plan = _plan(now)
    plan.reminders.filter(day_number=0).update(next_attempt_at=timezone.now())
    assert send_plan_reminders_now(plan.pk) == 1
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db
def test_the_beat_task_sends_every_due_reminder(smtp_sink, now):
    plans = [_plan(now), _plan(now)]
    Reminder.objects.filter(plan__in=plans, day_number=0).update(next_attempt_at=timezone.now())
    assert dispatch_due_reminders() == 2
    assert len(smtp_sink.messages) == 2


# The transport on its own


def _email(to: str = "patient@example.com") -> EmailMultiAlternatives:
    return EmailMultiAlternatives("Hello", "Body", "clinic@example.com", [to])


def test_the_transport_calls_a_4xx_temporary(smtp_sink):
    smtp_sink.reply_to_rcpt("451 4.3.0 Try again later")
    with EmailTransport() as transport, pytest.raises(TransportError) as caught:
        transport.send(_email())
    assert (caught.value.permanent, caught.value.connection_lost) == (False, False)


def test_the_transport_calls_a_5xx_permanent(smtp_sink):
    smtp_sink.reply_to_rcpt("550 5.1.1 No such user")
    with EmailTransport() as transport, pytest.raises(TransportError) as caught:
        transport.send(_email())
    assert caught.value.permanent


def test_the_transport_calls_a_refused_connection_temporary_and_lost(smtp_sink):
    smtp_sink.refuse_connections()
    with EmailTransport() as transport, pytest.raises(TransportError) as caught:
        transport.send(_email())
    assert (caught.value.permanent, caught.value.connection_lost) == (False, True)


def test_the_transport_reconnects_after_losing_the_server(smtp_sink):
    smtp_sink.refuse_connections()
    with EmailTransport() as transport:
        with pytest.raises(TransportError):
            transport.send(_email())
        smtp_sink.refuse_connections(False)
        transport.send(_email())
    assert len(smtp_sink.messages) == 1


def test_the_transport_keeps_going_after_a_refused_recipient(smtp_sink, smtp_edge):
    with EmailTransport() as transport:
        smtp_sink.reply_to_rcpt("550 5.1.1 No such user")
        with pytest.raises(TransportError):
            transport.send(_email("gone@example.com"))
        smtp_sink.reply_to_rcpt(None)
        transport.send(_email("here@example.com"))
    assert [message["To"] for message in smtp_sink.messages] == ["here@example.com"]
    assert smtp_edge.opened == 1
