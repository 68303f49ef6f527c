"""Reminder dispatch under faults, with real Celery processes, Redis, PostgreSQL and SMTP.

Each test makes N >= 200 due reminders, runs `celery beat` and `celery worker --pool=solo`
subprocesses against the test database, and lets them mail an SMTP sink in this process,
while something goes wrong: a worker is SIGKILLed mid-batch, its database connection is
killed, Redis is flushed, two workers and two beats run at once, the mail server refuses
connections for longer than the old retry schedule lasted, a patient unsubscribes while a
batch is being sent.

Every reminder must arrive, and arrive once. The only duplicates allowed are messages in
flight when a worker or its database connection dies (at most one per fault: the worker
hands one message at a time to the mail server, and each message's record is committed,
its answer read, before the next is handed over), and a duplicate carries the Message-ID of
its reminder, so the patient's mail client shows it once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from unittest import mock

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from aftercare.delivery.reminders import new_message_id, reminders_stop_for_patient
from aftercare.models import Reminder, ReminderStatus, SentMessage
from aftercare.plans.services import plan_create
from aftercare.tasks import send_plan_reminders_now
from patients.models import Patient
from tests.celery_processes import FAULT_BATCH_SIZE as BATCH_SIZE
from tests.celery_processes import FAULT_BROKER_DB as BROKER_DB
from tests.celery_processes import redis_url_on_db
from tests.factories import PatientFactory, TreatmentFactory
from tests.smtp_sink import SmtpSink

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

N = 200
OUTAGE_SECONDS = 20
PATIENTS = 8
DELIVERY_TIMEOUT = 90.0


@dataclass(frozen=True)
class Due:
    """The reminders a test expects: Message-ID -> recipient."""

    recipients: dict[str, str]

    @property
    def message_ids(self) -> set[str]:
        return set(self.recipients)


def make_due_reminders(count: int = N) -> Due:
    """`count` reminders due now, spread over a few patients with email and consent.

    Real plans give each patient their reminders; the rest are extra rows of the same
    plans (one per kind), all made due a minute ago. The task a new plan queues to send
    its first email at once is not queued: beat's ticks must do all the work here.
    """
    now = timezone.now()
    plans = []
    with mock.patch.object(send_plan_reminders_now, "delay"):
        for _ in range(PATIENTS):
            patient = PatientFactory(email_consent=True)
            treatment = TreatmentFactory(patient=patient, performed_at=now - timedelta(hours=2))
            plans.append(plan_create(treatment=treatment, now=now))
    past = now - timedelta(minutes=1)
    planned = Reminder.objects.filter(plan__in=plans, status=ReminderStatus.PENDING)
    planned.update(due_at=past, next_attempt_at=past)
    extra = [
        Reminder(
            plan=plans[i % PATIENTS],
            patient=plans[i % PATIENTS].treatment.patient,
            kind=f"fault-{i}",
            label="Checking in",
            covers="How your skin is doing.",
            day_number=1,
            due_at=past,
            next_attempt_at=past,
            message_id=new_message_id(),
        )
        for i in range(count - planned.count())
    ]
    Reminder.objects.bulk_create(extra)
    rows = Reminder.objects.filter(plan__in=plans).select_related("patient")
    assert len(rows) == count
    assert all(row.status == ReminderStatus.PENDING and row.plan.is_current for row in rows)
    return Due({row.message_id: row.patient.email for row in rows})


class SlowSink(SmtpSink):
    """A sink that takes `delay` seconds to accept each message, so a batch takes a while."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        accept = self.handler.handle_DATA

        async def handle_data(server, session, envelope):
            await asyncio.sleep(self.delay)
            return await accept(server, session, envelope)

        # aiosmtpd looks its hooks up on the handler object when a connection opens.
        self.handler.handle_DATA = handle_data


def received(sink: SmtpSink) -> Counter[str]:
    return Counter(str(message["Message-ID"]) for message in sink.messages)


class TimedOut(Exception):
    """Something the test waits for did not happen in time (not an AssertionError, so an
    expected failure cannot pass for one)."""


class MissingCopy(AssertionError):
    """A reminder went out but the clinic's records hold no copy of it."""


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimedOut(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_delivery(sink: SmtpSink, due: Due, *, timeout: float = DELIVERY_TIMEOUT) -> None:
    """Every reminder reached the sink and its row says `sent`."""

    def delivered() -> bool:
        return (
            due.message_ids <= set(received(sink))
            and not Reminder.objects.exclude(status=ReminderStatus.SENT).exists()
        )

    try:
        wait_until(delivered, timeout=timeout, what="every reminder to be sent")
    except TimedOut:
        counts = Counter(Reminder.objects.values_list("status", flat=True))
        missing = len(due.message_ids - set(received(sink)))
        raise TimedOut(
            f"not delivered in {timeout:.0f} s: {missing} of {len(due.message_ids)} never "
            f"reached the sink; rows by status: {dict(counts)}"
        ) from None


def assert_delivered(sink: SmtpSink, due: Due, *, duplicates_allowed: int = 0) -> Counter[str]:
    """Every reminder arrived, to its patient, and nothing else did; returns the counts."""
    counts = received(sink)
    assert set(counts) == due.message_ids, "messages with unknown Message-IDs arrived"
    for message in sink.messages:
        # A duplicate is the same email: same Message-ID, same patient.
        assert message["To"] == due.recipients[str(message["Message-ID"])]
    extra = sum(count - 1 for count in counts.values())
    assert extra <= duplicates_allowed, {mid: n for mid, n in counts.items() if n > 1}
    rows = Reminder.objects.all()
    assert {row.status for row in rows} == {ReminderStatus.SENT}
    assert all(row.sent_at is not None for row in rows)
    return counts


def assert_one_copy_each(due: Due) -> None:
    """The clinic's records hold exactly one copy of every reminder sent."""
    copies = Counter(SentMessage.objects.values_list("message_id", flat=True))
    missing = due.message_ids - set(copies)
    if missing:
        raise MissingCopy(f"{len(missing)} sent reminder(s) have no SentMessage copy: {missing}")
    assert set(copies) == due.message_ids
    assert set(copies.values()) == {1}


@pytest.fixture
def sinks() -> Iterator[Callable[[float], SlowSink]]:
    started: list[SlowSink] = []

    def make(delay: float = 0.0) -> SlowSink:
        sink = SlowSink(delay).start()
        started.append(sink)
        return sink

    yield make
    for sink in started:
        sink.stop()


def test_a_worker_killed_mid_batch_loses_nothing(sinks, celery_processes):
    due = make_due_reminders()
    sink = sinks(0.03)
    processes = celery_processes(sink)
    processes.beat("b1")
    worker = processes.worker("w1")

    def mid_batch() -> bool:
        # Frozen, the worker cannot finish its batch between this check and the kill.
        if len(sink.messages) < 40:
            return False
        worker.pause()
        if Reminder.objects.filter(status=ReminderStatus.SENDING).exists():
            return True
        worker.resume()
        return False

    wait_until(mid_batch, timeout=DELIVERY_TIMEOUT, what="the worker to be mid-batch")
    worker.kill()
    time.sleep(0.2)  # A statement the worker had sent may still complete on the server.
    stranded = Reminder.objects.filter(status=ReminderStatus.SENDING).count()
    assert 0 < stranded <= BATCH_SIZE
    assert len(set(received(sink))) < N

    processes.worker("w2")
    wait_for_delivery(sink, due)

    assert_delivered(sink, due, duplicates_allowed=1)
    # The rows the dead worker held were claimed again once its lease ran out.
    assert Reminder.objects.filter(attempts__gte=2).count() >= stranded


def test_flushing_redis_mid_run_loses_nothing(sinks, celery_processes):
    due = make_due_reminders()
    sink = sinks(0.02)
    processes = celery_processes(sink)
    processes.beat("b1")
    processes.worker("w1")

    wait_until(lambda: len(sink.messages) >= 40, timeout=DELIVERY_TIMEOUT, what="40 messages")
    # The broker's own database only: other test runs may share the server.
    redis.Redis.from_url(redis_url_on_db(settings.REDIS_URL, BROKER_DB)).flushdb()
    assert len(set(received(sink))) < N

    wait_for_delivery(sink, due)
    assert_delivered(sink, due)
    assert_one_copy_each(due)


def test_two_workers_and_two_beats_send_each_reminder_once(sinks, celery_processes):
    due = make_due_reminders()
    sink = sinks(0.01)
    # No worker dies here, so no lease needs to run out: a long one keeps a batch slowed
    # by a loaded machine from being taken over (and sent twice) by the other worker.
    processes = celery_processes(sink, REMINDER_LEASE_SECONDS="30")
    for name in ("b1", "b2"):
        processes.beat(name, wait=False)
    for name in ("w1", "w2"):
        processes.worker(name, wait=False)
    processes.wait_ready()

    wait_for_delivery(sink, due)
    assert_delivered(sink, due)
    assert_one_copy_each(due)
    # Both workers sent some, and both beats ticked.
    logs = {process.name: process.log() for process in processes.started}
    assert all(re.search(r"reminders: [1-9]\d* sent", logs[name]) for name in ("w1", "w2"))
    assert all("Sending due task" in logs[name] for name in ("b1", "b2"))


def test_a_mail_server_that_refuses_connections_for_a_while_loses_nothing(sinks, celery_processes):
    due = make_due_reminders()
    sink = sinks(0.01)
    processes = celery_processes(sink, REMINDER_RETRY_WINDOW_HOURS="0")
    processes.beat("b1")
    processes.worker("w1")

    wait_until(lambda: len(sink.messages) >= 40, timeout=DELIVERY_TIMEOUT, what="40 messages")
    sink.refuse_connections(True)
    wait_until(
        lambda: Reminder.objects.exclude(last_error="").count() >= BATCH_SIZE,
        timeout=30,
        what="the worker to meet the refusals",
    )
    # Longer than the 8 tries the old schedule allowed (1 s, then 2 s apart: 15 s), with
    # a retry window shorter than the outage: an unreachable server only delays.
    time.sleep(OUTAGE_SECONDS)
    assert not Reminder.objects.filter(status=ReminderStatus.FAILED).exists()
    sink.refuse_connections(False)

    wait_for_delivery(sink, due)
    assert_delivered(sink, due)
    assert_one_copy_each(due)


def test_a_worker_killed_while_recording_a_send_keeps_the_clinics_copy(sinks, celery_processes):
    due = make_due_reminders()
    # Slow enough to lock the claimed rows before the first email is accepted.
    sink = sinks(1.0)
    processes = celery_processes(sink)
    table = Reminder._meta.db_table
    db = connection.settings_dict
    locker = psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or None,
    )
    try:
        processes.beat("b1")
        worker = processes.worker("w1")
        wait_until(
            lambda: Reminder.objects.filter(status=ReminderStatus.SENDING).exists(),
            timeout=30,
            what="the worker to claim a batch",
        )
        # Row locks stop the worker's "sent" UPDATE, right after its first email went out.
        locker.execute(f'SELECT id FROM "{table}" WHERE status = %s FOR UPDATE', ["sending"])
        wait_until(
            lambda: _waiting_for_lock(f"%UPDATE%{table}%SET%status%"),
            timeout=30,
            what="the worker to record its first email",
        )
        # Killed now (its "sent" transaction waiting on the server), the worker never
        # commits: the server rolls the transaction back, mark and copy together, and the
        # row is sent again later, with its copy. Never a mark without a copy.
        worker.kill()
    finally:
        locker.close()
    assert len(sink.messages) == 1

    sink.delay = 0.0
    processes.worker("w2")
    wait_for_delivery(sink, due)

    assert_delivered(sink, due, duplicates_allowed=1)
    assert_one_copy_each(due)


def _waiting_for_lock(query_like: str) -> bool:
    """A session of the test database waits for a lock while running a query like this."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE %s",
            [query_like],
        )
        return cursor.fetchone()[0] > 0


def test_a_database_connection_killed_mid_batch_duplicates_one_email_at_most(
    sinks, celery_processes
):
    due = make_due_reminders()
    sink = sinks(0.03)
    processes = celery_processes(sink)
    processes.beat("b1")
    processes.worker("w1")
    killed: list[int] = []

    def kill_mid_batch() -> bool:
        if len(sink.messages) < 40:
            return False
        if not Reminder.objects.filter(status=ReminderStatus.SENDING).exists():
            return False
        killed.extend(_terminate_other_backends())
        return bool(killed)

    wait_until(kill_mid_batch, timeout=DELIVERY_TIMEOUT, what="the worker's database session")
    assert len(set(received(sink))) < N

    # The same worker goes on: its next task opens a new connection, and the rows the
    # dead session held are claimed again once their lease runs out.
    wait_for_delivery(sink, due)
    assert_delivered(sink, due, duplicates_allowed=1)
    assert_one_copy_each(due)


def test_no_email_reaches_a_patient_after_they_unsubscribe_but_one_in_flight(
    sinks, celery_processes
):
    due = make_due_reminders()
    sink = sinks(0.03)
    processes = celery_processes(sink)
    processes.beat("b1")
    processes.worker("w1")
    leaving = Patient.objects.order_by("pk").first()
    theirs = {mid for mid, email in due.recipients.items() if email == leaving.email}

    def to_them() -> int:
        return sum(1 for message in sink.messages if str(message["Message-ID"]) in theirs)

    # Mid-run, with a batch holding some of their reminders.
    wait_until(
        lambda: (
            to_them() >= 3
            and Reminder.objects.filter(patient=leaving, status=ReminderStatus.SENDING).exists()
        ),
        timeout=DELIVERY_TIMEOUT,
        what="a batch with the patient's reminders in it",
    )
    reminders_stop_for_patient(patient=leaving, reason="unsubscribed")
    before = to_them()

    wait_until(
        lambda: (
            not Reminder.objects.filter(
                status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING]
            ).exists()
        ),
        timeout=DELIVERY_TIMEOUT,
        what="every reminder to be sent or cancelled",
    )
    time.sleep(1)  # a message still on its way to the sink
    assert to_them() <= before + 1
    assert len(theirs) > to_them()  # some of theirs were stopped
    others = Due({mid: email for mid, email in due.recipients.items() if mid not in theirs})
    counts = received(sink)
    assert others.message_ids <= set(counts)
    assert all(counts[mid] == 1 for mid in others.message_ids)
    rows = Reminder.objects.filter(patient=leaving).exclude(status=ReminderStatus.SENT)
    assert set(rows.values_list("status", flat=True)) == {ReminderStatus.CANCELLED}


def _terminate_other_backends() -> list[int]:
    """End every client session of the test database but this process's own."""
    with connection.cursor() as cursor:
        # Two statements: in one WHERE clause PostgreSQL may terminate before it filters.
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pids
