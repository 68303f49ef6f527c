"""Time travel: the dispatcher run with an explicit clock through 100 days after each treatment.

Clinics in three zones, each treatment just before a DST change: London before the
late-October change, Sydney before the early-April one, New York (reminders at 10:00)
before the early-November one, plus a London treatment logged after the daytime
window. The clock steps through idle moments every few hours, and to one minute
before and a few random minutes after every due time; `aftercare.delivery.dispatch.dispatch_due`
runs at each step against the SMTP sink.

The journey runs once for the module, inside a transaction rolled back at the end;
the tests check what it recorded.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings

from aftercare.delivery.dispatch import dispatch_due
from aftercare.models import AftercarePlan, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory
from tests.smtp_sink import SmtpSink

# The journey reads the database; the mark also makes pytest-django create the test database.
pytestmark = pytest.mark.django_db

DAYS = 100
IDLE_STEP = timedelta(hours=6)
LATEST_STEP_AFTER_DUE = timedelta(minutes=10)
JUST_BEFORE = timedelta(minutes=1)
WINDOW = (time(8), time(21))


@dataclass(frozen=True)
class Scenario:
    name: str
    zone: str
    reminder_hour: int
    treated_at: datetime
    dst_change_on: date  # the day the zone's clocks change

    @classmethod
    def at(
        cls, name: str, zone: str, reminder_hour: int, treated: str, dst_change_on: str
    ) -> Scenario:
        treated_at = datetime.fromisoformat(treated).replace(tzinfo=ZoneInfo(zone))
        return cls(name, zone, reminder_hour, treated_at, date.fromisoformat(dst_change_on))


SCENARIOS = (
    Scenario.at("london", "Europe/London", 9, "2026-10-20T14:30", "2026-10-25"),
    Scenario.at("london-late", "Europe/London", 9, "2026-10-21T22:30", "2026-10-25"),
    Scenario.at("sydney", "Australia/Sydney", 9, "2026-03-30T15:00", "2026-04-05"),
    Scenario.at("new-york", "America/New_York", 10, "2026-10-28T11:00", "2026-11-01"),
)


@dataclass(frozen=True)
class Row:
    scenario: Scenario
    kind: str
    day_number: int
    message_id: str
    due_at: datetime

    @property
    def local_due(self) -> datetime:
        return self.due_at.astimezone(ZoneInfo(self.scenario.zone))


@dataclass
class Journey:
    rows: list[Row] = field(default_factory=list)
    arrivals: list[str] = field(default_factory=list)  # Message-IDs, in the sink's order
    sent_at_step: dict[str, datetime] = field(default_factory=dict)
    repeat_pass_sent: int = 0
    final_status: dict[str, str] = field(default_factory=dict)

    def plan_rows(self, name: str) -> list[Row]:
        return sorted(
            (row for row in self.rows if row.scenario.name == name), key=lambda r: r.due_at
        )


def _schedule(scenario: Scenario) -> AftercarePlan:
    clinic = ClinicFactory(timezone=scenario.zone, reminder_hour=scenario.reminder_hour)
    treatment = TreatmentFactory(
        patient=PatientFactory(clinic=clinic), performed_at=scenario.treated_at
    )
    # Staff save the treatment a couple of minutes after doing it.
    return plan_create(treatment=treatment, now=scenario.treated_at + timedelta(minutes=2))


def _travel(sink: SmtpSink) -> Journey:
    journey = Journey()
    plans = {_schedule(scenario).pk: scenario for scenario in SCENARIOS}
    for reminder in Reminder.objects.filter(plan_id__in=plans):
        journey.rows.append(
            Row(
                plans[reminder.plan_id],
                reminder.kind,
                reminder.day_number,
                reminder.message_id,
                reminder.due_at,
            )
        )

    chance = random.Random(20261020)
    due_steps = set()
    for row in journey.rows:
        offset = timedelta(seconds=chance.randrange(int(LATEST_STEP_AFTER_DUE.total_seconds())))
        due_steps.add(row.due_at + offset)
    idle_steps = {
        scenario.treated_at + IDLE_STEP * number
        for scenario in SCENARIOS
        for number in range(int(timedelta(days=DAYS) / IDLE_STEP) + 1)
    }
    before_steps = {row.due_at - JUST_BEFORE for row in journey.rows}
    for step in sorted(idle_steps | before_steps | due_steps):
        dispatch_due(now=step)
        arrived = sink.messages[len(journey.arrivals) :]
        for message in arrived:
            message_id = message["Message-ID"].strip()
            journey.arrivals.append(message_id)
            journey.sent_at_step.setdefault(message_id, step)
        if step in due_steps:
            journey.repeat_pass_sent += dispatch_due(now=step).sent
    rows = Reminder.objects.filter(plan_id__in=plans)
    journey.final_status = dict(rows.values_list("message_id", "status"))
    return journey


@pytest.fixture(scope="module")
def journey(django_db_setup, django_db_blocker) -> Iterator[Journey]:
    sink = SmtpSink().start()
    email = override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=sink.port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_TIMEOUT=5,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    try:
        with email, django_db_blocker.unblock(), transaction.atomic():
            recorded = _travel(sink)
            transaction.set_rollback(True)
        yield recorded
    finally:
        sink.stop()


def test_the_journey_covers_every_plan_with_its_reminders(journey):
    counts = Counter(row.scenario.name for row in journey.rows)
    assert set(counts) == {scenario.name for scenario in SCENARIOS}
    assert all(count >= 6 for count in counts.values())


def test_every_reminder_arrives_exactly_once(journey):
    assert Counter(journey.arrivals) == Counter(row.message_id for row in journey.rows)


def test_every_row_ends_sent(journey):
    assert set(journey.final_status.values()) == {ReminderStatus.SENT}


def test_a_second_pass_at_the_same_moment_sends_nothing(journey):
    assert journey.repeat_pass_sent == 0


def test_each_plans_reminders_arrive_in_order_of_due_time(journey):
    for scenario in SCENARIOS:
        expected = [row.message_id for row in journey.plan_rows(scenario.name)]
        arrived = [message_id for message_id in journey.arrivals if message_id in expected]
        assert arrived == expected, scenario.name


def test_nothing_is_sent_before_it_is_due(journey):
    # There is a step one minute before every due time: none of them sent that reminder.
    early = [row.kind for row in journey.rows if journey.sent_at_step[row.message_id] < row.due_at]
    assert early == []


def test_each_reminder_goes_at_the_first_step_after_it_is_due(journey):
    late = [
        (row.scenario.name, row.kind)
        for row in journey.rows
        if journey.sent_at_step[row.message_id] - row.due_at >= LATEST_STEP_AFTER_DUE
    ]
    assert late == []


def test_every_send_falls_inside_the_local_daytime_window(journey):
    outside = []
    for row in journey.rows:
        local = journey.sent_at_step[row.message_id].astimezone(ZoneInfo(row.scenario.zone))
        if not WINDOW[0] <= local.time() < WINDOW[1]:
            outside.append((row.scenario.name, row.kind, local.isoformat()))
    assert outside == []


def test_later_reminders_go_out_at_the_clinics_reminder_hour(journey):
    local_times = {
        (row.scenario.name, row.local_due.time().isoformat())
        for row in journey.rows
        if row.day_number > 0
    }
    assert local_times == {
        (scenario.name, time(scenario.reminder_hour).isoformat()) for scenario in SCENARIOS
    }


def test_the_local_hour_holds_across_the_dst_change(journey):
    for scenario in SCENARIOS:
        change = scenario.dst_change_on
        later = [row for row in journey.plan_rows(scenario.name) if row.day_number > 0]
        before = {row.local_due.utcoffset() for row in later if row.local_due.date() < change}
        after = {row.local_due.utcoffset() for row in later if row.local_due.date() >= change}
        assert len(before) == len(after) == 1, scenario.name
        assert before != after, scenario.name
        assert {row.local_due.hour for row in later} == {scenario.reminder_hour}


def test_day_0_goes_soon_after_a_daytime_treatment(journey):
    for name in ("london", "sydney", "new-york"):
        scenario = next(s for s in SCENARIOS if s.name == name)
        day_0 = journey.plan_rows(name)[0]
        assert day_0.day_number == 0
        assert journey.sent_at_step[day_0.message_id] - scenario.treated_at < timedelta(minutes=15)


def test_day_0_of_a_late_evening_treatment_waits_for_the_morning(journey):
    first, second = journey.plan_rows("london-late")[:2]
    assert (first.day_number, first.local_due.isoformat()) == (0, "2026-10-22T09:00:00+01:00")
    # At most one email a day: the deferred day-0 email replaces day 1's.
    assert second.day_number > 1
