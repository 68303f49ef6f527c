"""Recording sent emails (aftercare.recording): the row marked sent and the copy kept, together.

On PostgreSQL the statement is in flight while the next email is sent; these tests
check that nothing else on the connection can overtake it and that its errors and
answers still arrive.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import DataError, connection
from django.utils import timezone

from aftercare.dispatch import claim_due_reminders
from aftercare.emails import reminder_email
from aftercare.links import link_addresses, links_current
from aftercare.models import Reminder, ReminderStatus, SentMessage
from aftercare.plan_cache import stored_plan
from aftercare.recording import SentRecorder, copy_of
from aftercare.services import plan_create
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def _claimed_day_0() -> tuple[Reminder, uuid.UUID, SentMessage]:
    """The day-0 reminder of a new plan, claimed, with the copy of its email."""
    (claimed,) = _claimed_day_0s(1)
    return claimed


def _claimed_day_0s(count: int) -> list[tuple[Reminder, uuid.UUID, SentMessage]]:
    """The day-0 reminders of `count` new plans, claimed together, with their copies."""
    # Noon in London today: inside the send window, on today's date so the link is valid.
    now = timezone.localtime(timezone.now(), LONDON).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    plans = [
        plan_create(treatment=TreatmentFactory(performed_at=now - timedelta(hours=1)), now=now)
        for _ in range(count)
    ]
    claim = claim_due_reminders(now=now, limit=10 * count, lease_seconds=120)
    links = links_current(plans=plans, now=now)
    claimed = []
    for plan in plans:
        reminder = Reminder.objects.select_related("patient", "plan__treatment__clinic").get(
            id__in=claim.ids, plan=plan, day_number=0
        )
        token, plan_url, unsubscribe_url = link_addresses(links[plan.pk])
        rendered = reminder_email(
            reminder, plan=stored_plan(plan), plan_url=plan_url, unsubscribe_url=unsubscribe_url
        )
        claimed.append(
            (reminder, claim.lease_token, copy_of(reminder, rendered, token, sent_at=now))
        )
    return claimed


def _status(reminder: Reminder) -> str:
    return Reminder.objects.values_list("status", flat=True).get(pk=reminder.pk)


def test_it_marks_the_row_sent_and_keeps_the_copy():
    reminder, lease_token, copy = _claimed_day_0()
    with SentRecorder() as recorder:
        recorder.record(reminder, lease_token, copy)
    assert _status(reminder) == ReminderStatus.SENT
    kept = SentMessage.objects.get(reminder=reminder)
    assert (kept.message_id, kept.subject, kept.headers) == (
        reminder.message_id,
        copy.subject,
        copy.headers,
    )


def test_the_sent_time_is_stored_on_the_row_and_the_copy():
    reminder, lease_token, copy = _claimed_day_0()
    copy.sent_at = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.get_current_timezone())
    with SentRecorder() as recorder:
        recorder.record(reminder, lease_token, copy)
    reminder.refresh_from_db()
    assert reminder.sent_at == copy.sent_at
    assert SentMessage.objects.get(reminder=reminder).sent_at == copy.sent_at


def test_records_made_one_after_another_all_land():
    claimed = _claimed_day_0s(3)
    with SentRecorder() as recorder:
        for reminder, lease_token, copy in claimed:
            recorder.record(reminder, lease_token, copy)
    ids = [reminder.pk for reminder, _, _ in claimed]
    assert set(Reminder.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        ReminderStatus.SENT
    }
    assert SentMessage.objects.filter(reminder__in=ids).count() == 3


def test_a_query_run_while_a_record_is_in_flight_sees_it():
    reminder, lease_token, copy = _claimed_day_0()
    with SentRecorder() as recorder:
        recorder.record(reminder, lease_token, copy)
        assert _status(reminder) == ReminderStatus.SENT
        assert SentMessage.objects.filter(reminder=reminder).count() == 1


def test_the_connection_is_free_once_the_block_ends():
    reminder, lease_token, copy = _claimed_day_0()
    with SentRecorder() as recorder:
        recorder.record(reminder, lease_token, copy)
    if connection.vendor == "postgresql":
        assert not connection.connection.pgconn.is_busy()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_row_whose_lease_went_elsewhere_keeps_its_new_owner_but_the_copy_is_kept(caplog):
    reminder, _, copy = _claimed_day_0()
    with caplog.at_level(logging.WARNING, logger="aftercare.recording"), SentRecorder() as recorder:
        recorder.record(reminder, uuid.uuid4(), copy)
    assert _status(reminder) == ReminderStatus.SENDING
    assert SentMessage.objects.filter(reminder=reminder).count() == 1
    assert f"reminder {reminder.pk} was sent after its lease ran out" in caplog.text


@pytest.mark.postgres
def test_the_connections_execute_wrappers_see_the_statement():
    reminder, lease_token, copy = _claimed_day_0()
    seen: list[str] = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy), SentRecorder() as recorder:
        recorder.record(reminder, lease_token, copy)
    assert len(seen) == 1
    assert "INSERT INTO" in seen[0]


@pytest.mark.postgres
def test_a_statement_the_server_refuses_raises_a_django_error():
    reminder, lease_token, copy = _claimed_day_0()
    copy.to = "x" * 300 + "@example.com"  # Longer than the column allows.
    with pytest.raises(DataError, match="too long"), SentRecorder() as recorder:
        recorder.record(reminder, lease_token, copy)


@pytest.mark.postgres
def test_the_batchs_own_error_is_not_hidden_by_a_refused_record(caplog):
    reminder, lease_token, copy = _claimed_day_0()
    copy.to = "x" * 300 + "@example.com"
    with pytest.raises(RuntimeError, match="the batch failed"), SentRecorder() as recorder:
        recorder.record(reminder, lease_token, copy)
        raise RuntimeError("the batch failed")
    assert "could not read the last 'sent' record's answer" in caplog.text
