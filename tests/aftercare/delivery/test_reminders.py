"""Turning plans into reminder rows, and stopping them (aftercare.delivery.reminders)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftercare.delivery.dispatch import dispatch_due
from aftercare.delivery.reminders import (
    link_reissue,
    reminder_resend,
    reminders_cancel_for_plans,
    reminders_schedule,
    reminders_stop_for_patient,
)
from aftercare.links import link_current, link_for_token, token_for
from aftercare.models import AftercarePlan, PatientLink, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # noon in London (GMT)
LONDON = ZoneInfo("Europe/London")
DEFAULT_KINDS = ["day-0", "day-1", "day-3", "day-6", "day-14", "rebooking", "long-term"]


def _plan(*, performed_at: datetime = NOW - timedelta(hours=1), **treatment) -> AftercarePlan:
    return plan_create(treatment=TreatmentFactory(performed_at=performed_at, **treatment), now=NOW)


def _kinds(plan: AftercarePlan) -> list[str]:
    return list(plan.reminders.order_by("due_at").values_list("kind", flat=True))


def _set_status(plan: AftercarePlan, kind: str, status: str) -> Reminder:
    changes = {"status": status}
    if status == ReminderStatus.SENT:
        changes["sent_at"] = NOW
    if status == ReminderStatus.SENDING:
        changes["lease_token"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    plan.reminders.filter(kind=kind).update(**changes)
    return plan.reminders.get(kind=kind)


# Scheduling


def test_it_schedules_a_row_for_each_reminder_of_the_plan():
    plan = _plan()
    planned = [reminder["key"] for reminder in plan.content["reminders"]]
    assert _kinds(plan) == planned == DEFAULT_KINDS


def test_rows_start_pending_and_due_at_their_planned_time():
    plan = _plan()
    planned = {r["key"]: datetime.fromisoformat(r["send_at"]) for r in plan.content["reminders"]}
    for row in plan.reminders.exclude(day_number=0):
        assert (row.status, row.attempts) == (ReminderStatus.PENDING, 0)
        assert row.due_at == row.next_attempt_at == planned[row.kind]


def test_the_day_0_reminder_is_due_at_once():
    plan = _plan()
    assert plan.reminders.get(kind="day-0").due_at == NOW


def test_later_reminders_are_due_at_the_clinics_reminder_hour():
    clinic = ClinicFactory(reminder_hour=10)
    plan = _plan(patient__clinic=clinic)
    local_times = {
        row.due_at.astimezone(LONDON).time().isoformat()
        for row in plan.reminders.exclude(day_number=0)
    }
    assert local_times == {"10:00:00"}


def test_later_reminders_fall_on_their_day_after_the_treatment():
    plan = _plan()
    treated_on = (NOW - timedelta(hours=1)).astimezone(LONDON).date()
    for row in plan.reminders.all():
        assert (row.due_at.astimezone(LONDON).date() - treated_on).days == row.day_number


def test_each_row_has_its_own_message_id():
    rows = list(_plan().reminders.all()) + list(_plan().reminders.all())
    ids = [row.message_id for row in rows]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"<reminder-[0-9a-f]{32}@[^<>@\s]+>", id_) for id_ in ids)


def test_a_late_logged_treatment_gets_day_0_now_and_skips_moments_already_past():
    plan = _plan(performed_at=NOW - timedelta(days=4))
    assert _kinds(plan) == ["day-0", "day-6", "day-14", "rebooking", "long-term"]
    assert plan.reminders.get(kind="day-0").due_at == NOW


def test_a_patient_without_consent_gets_no_reminders():
    patient = PatientFactory(email_consent=False, email_consent_at=None)
    plan = _plan(patient=patient)
    assert not Reminder.objects.filter(plan=plan).exists()


def test_a_patient_without_an_email_address_gets_no_reminders():
    patient = PatientFactory(email="", email_consent=False, email_consent_at=None)
    plan = _plan(patient=patient)
    assert reminders_schedule(plan=plan, now=NOW) == []
    assert not Reminder.objects.filter(plan=plan).exists()


def test_a_superseded_plan_gets_no_reminders():
    plan = _plan()
    plan.reminders.all().delete()
    AftercarePlan.objects.filter(pk=plan.pk).update(superseded_at=NOW)
    plan.refresh_from_db()
    assert reminders_schedule(plan=plan, now=NOW) == []


def test_a_backdated_treatment_schedules_nothing_and_leaves_the_latest_plan_alone():
    patient = PatientFactory()
    latest = _plan(patient=patient)
    backdated = _plan(patient=patient, performed_at=NOW - timedelta(days=30))
    assert not backdated.reminders.exists()
    assert set(latest.reminders.values_list("status", flat=True)) == {ReminderStatus.PENDING}


# Regenerating and superseding


def test_regenerating_does_not_resend_kinds_already_sent():
    first = _plan()
    _set_status(first, "day-0", ReminderStatus.SENT)
    second = plan_create(treatment=first.treatment, now=NOW + timedelta(minutes=5))
    assert _kinds(second) == DEFAULT_KINDS[1:]


def test_regenerating_cancels_the_old_revisions_waiting_reminders():
    first = _plan()
    _set_status(first, "day-0", ReminderStatus.SENT)
    plan_create(treatment=first.treatment, now=NOW + timedelta(minutes=5))
    statuses = dict(first.reminders.values_list("kind", "status"))
    assert statuses.pop("day-0") == ReminderStatus.SENT
    assert set(statuses.values()) == {ReminderStatus.CANCELLED}
    assert set(
        first.reminders.exclude(kind="day-0").values_list("cancelled_reason", flat=True)
    ) == {"superseded"}


def test_regenerating_schedules_day_0_again_if_it_was_never_sent():
    first = _plan()
    second = plan_create(treatment=first.treatment, now=NOW + timedelta(minutes=5))
    assert second.reminders.get(kind="day-0").due_at == NOW + timedelta(minutes=5)


def test_a_newer_treatment_cancels_the_older_plans_reminders():
    patient = PatientFactory()
    older = _plan(patient=patient, performed_at=NOW - timedelta(days=2))
    _plan(patient=patient)
    assert set(older.reminders.values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, "superseded")
    }


def test_cancelling_for_plans_leaves_sent_and_sending_rows_alone():
    plan = _plan()
    _set_status(plan, "day-0", ReminderStatus.SENT)
    _set_status(plan, "day-1", ReminderStatus.SENDING)
    cancelled = reminders_cancel_for_plans([plan.pk], reason="superseded")
    statuses = dict(plan.reminders.values_list("kind", "status"))
    assert cancelled == len(DEFAULT_KINDS) - 2
    assert (statuses["day-0"], statuses["day-1"]) == (ReminderStatus.SENT, ReminderStatus.SENDING)


# Stopping


def test_stopping_cancels_every_waiting_reminder_of_the_patient():
    plan = _plan()
    _set_status(plan, "day-1", ReminderStatus.FAILED)
    stopped = reminders_stop_for_patient(patient=plan.treatment.patient, reason="unsubscribed")
    assert stopped == len(DEFAULT_KINDS)
    assert set(plan.reminders.values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, "unsubscribed")
    }


def test_stopping_covers_every_plan_of_the_patient():
    patient = PatientFactory()
    # A backdated treatment's plan is born superseded; give it a waiting row by hand.
    latest = _plan(patient=patient)
    other = _plan(patient=patient, performed_at=NOW - timedelta(days=30))
    Reminder.objects.create(
        plan=other,
        patient=patient,
        kind="day-90",
        label="Later",
        covers="",
        day_number=90,
        due_at=NOW + timedelta(days=60),
        next_attempt_at=NOW + timedelta(days=60),
        message_id="<reminder-extra@example.com>",
    )
    reminders_stop_for_patient(patient=patient, reason="staff")
    rows = Reminder.objects.filter(plan__in=[latest, other])
    assert set(rows.values_list("status", flat=True)) == {ReminderStatus.CANCELLED}


def test_stopping_leaves_sent_rows_alone():
    plan = _plan()
    _set_status(plan, "day-0", ReminderStatus.SENT)
    reminders_stop_for_patient(patient=plan.treatment.patient, reason="unsubscribed")
    assert plan.reminders.get(kind="day-0").status == ReminderStatus.SENT


def test_stopping_cancels_a_row_being_sent_and_takes_its_lease():
    plan = _plan()
    _set_status(plan, "day-1", ReminderStatus.SENDING)
    reminders_stop_for_patient(patient=plan.treatment.patient, reason="unsubscribed")
    row = plan.reminders.get(kind="day-1")
    assert (row.status, row.cancelled_reason, row.lease_token) == (
        ReminderStatus.CANCELLED,
        "unsubscribed",
        None,
    )


def test_stopping_withdraws_email_consent():
    plan = _plan()
    patient = plan.treatment.patient
    reminders_stop_for_patient(patient=patient, reason="unsubscribed")
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.email_consent, stored.email_consent_at) == (False, None)
    assert not patient.can_receive_reminders


def test_stopping_leaves_other_patients_alone():
    mine, theirs = _plan(), _plan()
    reminders_stop_for_patient(patient=mine.treatment.patient, reason="unsubscribed")
    assert set(theirs.reminders.values_list("status", flat=True)) == {ReminderStatus.PENDING}
    assert Patient.objects.get(pk=theirs.treatment.patient_id).email_consent


def test_regenerating_after_stopping_schedules_nothing():
    plan = _plan()
    reminders_stop_for_patient(patient=plan.treatment.patient, reason="unsubscribed")
    treatment = plan.treatment
    treatment.patient.refresh_from_db()
    second = plan_create(treatment=treatment, now=NOW + timedelta(minutes=5))
    assert not second.reminders.exists()


# Resending


def test_resend_puts_a_failed_reminder_back_in_the_queue_due_now():
    plan = _plan()
    plan.reminders.filter(kind="day-1").update(
        status=ReminderStatus.FAILED,
        attempts=6,
        last_error="451 try later",
        first_refused_at=NOW - timedelta(days=1),
    )
    row = plan.reminders.get(kind="day-1")
    later = NOW + timedelta(hours=3)
    assert reminder_resend(reminder=row, now=later) is True
    row.refresh_from_db()
    # A fresh retry window: the next refusal starts it again.
    assert (
        row.status,
        row.attempts,
        row.last_error,
        row.next_attempt_at,
        row.first_refused_at,
    ) == (ReminderStatus.PENDING, 0, "", later, None)


@pytest.mark.parametrize(
    "status", [ReminderStatus.PENDING, ReminderStatus.SENT, ReminderStatus.CANCELLED]
)
def test_resend_refuses_a_reminder_that_has_not_failed(status):
    plan = _plan()
    row = _set_status(plan, "day-1", status)
    assert reminder_resend(reminder=row, now=NOW + timedelta(hours=3)) is False
    unchanged = plan.reminders.get(kind="day-1")
    assert (unchanged.status, unchanged.next_attempt_at) == (status, row.next_attempt_at)


def test_a_resent_reminder_goes_out_on_the_next_pass(smtp_sink):
    plan = _plan()
    _set_status(plan, "day-0", ReminderStatus.SENT)
    row = _set_status(plan, "day-1", ReminderStatus.FAILED)
    later = NOW + timedelta(hours=3)
    reminder_resend(reminder=row, now=later)
    assert dispatch_due(now=later).sent == 1
    assert [m["Message-ID"].strip() for m in smtp_sink.messages] == [row.message_id]


# Reissuing a patient's link


def test_reissuing_revokes_the_old_link():
    plan = _plan()
    old = token_for(link_current(plan=plan, now=NOW))
    link_reissue(patient=plan.treatment.patient, now=NOW + timedelta(days=2))
    assert link_for_token(old, now=NOW + timedelta(days=2)) is None


def test_reissuing_issues_a_new_link_for_the_current_plan():
    plan = _plan()
    old = link_current(plan=plan, now=NOW)
    link_reissue(patient=plan.treatment.patient, now=NOW + timedelta(days=2))
    new = link_current(plan=plan, now=NOW + timedelta(days=2))
    assert new != old
    assert PatientLink.objects.filter(plan=plan, revoked_at__isnull=True).get() == new


def test_reissuing_queues_a_new_link_email_due_now():
    plan = _plan()
    later = NOW + timedelta(days=2)
    row = link_reissue(patient=plan.treatment.patient, now=later)
    assert (row.plan, row.status, row.due_at, row.next_attempt_at, row.day_number) == (
        plan,
        ReminderStatus.PENDING,
        later,
        later,
        2,
    )


def test_the_new_link_email_carries_the_new_link(smtp_sink):
    plan = _plan()
    _set_status(plan, "day-0", ReminderStatus.SENT)
    later = NOW + timedelta(hours=3)  # before day 1's email is due
    row = link_reissue(patient=plan.treatment.patient, now=later)
    assert dispatch_due(now=later).sent == 1
    [message] = smtp_sink.messages
    token = re.search(r"/p/[^/\s]+/([^/\s]+)/", message.get_body(("plain",)).get_content())
    assert message["Message-ID"].strip() == row.message_id
    assert link_for_token(token.group(1), now=later).plan == plan


def test_reissuing_for_a_patient_who_stopped_emails_sends_nothing():
    plan = _plan()
    reminders_stop_for_patient(patient=plan.treatment.patient, reason="unsubscribed")
    assert link_reissue(patient=plan.treatment.patient, now=NOW) is None
    assert not plan.reminders.exclude(status=ReminderStatus.CANCELLED).exists()


def test_reissuing_twice_in_the_same_second_sends_two_links():
    plan = _plan()
    patient = plan.treatment.patient
    link_reissue(patient=patient, now=NOW)
    assert link_reissue(patient=patient, now=NOW + timedelta(milliseconds=300)) is not None
