from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from aftercare.delivery.dispatch import dispatch_due
from aftercare.models import (
    AftercarePlan,
    GuidanceSnapshot,
    Reminder,
    ReminderStatus,
    RestrictionRule,
    SentMessage,
)
from aftercare.planner.adjustments import ADD_REMINDER, NOTE, RESTRICTION, SKIP_REMINDER, Adjustment
from aftercare.planner.planning import plan_from_dict
from aftercare.plans.services import (
    PlanNotCurrent,
    course_end,
    course_start,
    plan_adjust,
    plan_create,
    treatment_facts,
)
from patients.services import treatment_create
from tests.factories import PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def _restriction_end(plan: AftercarePlan, key: str) -> str:
    return next(r for r in plan.content["restrictions"] if r["key"] == key)["ends_at"]


def test_saving_a_treatment_stores_its_plan(patient, practitioner):
    treatment = treatment_create(
        patient=patient,
        practitioner=practitioner,
        treatment=TreatmentFactory.build(patient=None, clinic=None, practitioner=None),
    )
    plan = treatment.plans.get()
    assert plan.is_current
    assert plan.created_by == practitioner
    assert plan_from_dict(plan.content).warnings


def test_a_plan_records_the_guidance_it_came_from():
    plan = plan_create(treatment=TreatmentFactory(), now=NOW)
    assert plan.guidance.data["restrictions"]
    assert GuidanceSnapshot.objects.count() == 1


def test_plans_from_unchanged_guidance_share_one_snapshot():
    plan_create(treatment=TreatmentFactory(), now=NOW)
    plan_create(treatment=TreatmentFactory(), now=NOW)
    assert GuidanceSnapshot.objects.count() == 1


def test_a_newer_treatment_supersedes_the_older_plan(patient):
    older = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=NOW - timedelta(days=30)), now=NOW
    )
    newer = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=NOW - timedelta(hours=1)), now=NOW
    )
    older.refresh_from_db()
    assert older.superseded_at == NOW
    assert older.superseded_by == newer
    assert newer.is_current


def test_a_backdated_treatment_does_not_replace_the_latest_plan(patient):
    latest = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=NOW - timedelta(hours=1)), now=NOW
    )
    backdated = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=NOW - timedelta(days=30)), now=NOW
    )
    latest.refresh_from_db()
    assert latest.is_current
    assert backdated.superseded_by == latest


def test_another_patients_plan_is_left_alone(patient):
    other = plan_create(treatment=TreatmentFactory(), now=NOW)
    plan_create(treatment=TreatmentFactory(patient=patient), now=NOW)
    other.refresh_from_db()
    assert other.is_current


def test_regenerating_makes_a_new_revision_and_keeps_the_old_one():
    treatment = TreatmentFactory()
    first = plan_create(treatment=treatment, now=NOW)
    second = plan_create(treatment=treatment, now=NOW + timedelta(minutes=5))
    first.refresh_from_db()
    assert (first.revision, second.revision) == (1, 2)
    assert first.superseded_by == second
    assert list(treatment.plans.filter(superseded_at__isnull=True)) == [second]


def test_editing_guidance_changes_new_plans_but_not_stored_ones():
    treatment = TreatmentFactory(depth_mm=Decimal("0.5"), passes=1)
    before = plan_create(treatment=treatment, now=NOW)
    RestrictionRule.objects.filter(key="makeup").update(
        hours_light=96, hours_moderate=96, hours_intense=96
    )
    after = plan_create(treatment=treatment, now=NOW)
    before.refresh_from_db()
    assert _restriction_end(after, "makeup") != _restriction_end(before, "makeup")
    assert before.guidance != after.guidance


def test_treatment_facts_use_the_clinic_timezone_and_patient_details(clinic):
    clinic.timezone = "Australia/Sydney"
    clinic.save()
    patient = PatientFactory(clinic=clinic, date_of_birth=date(1980, 1, 16), breakout_prone=True)
    treatment = TreatmentFactory(
        patient=patient, performed_at=datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    )
    facts = treatment_facts(treatment)
    assert facts.performed_at.utcoffset() == timedelta(hours=11)
    assert facts.age_years == 46  # 16 January in Sydney: the birthday has come
    assert facts.history == {"breakout_prone"}


# A practitioner's adjustments (plan_adjust)

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # noon in London (GMT), a Tuesday


def _sent_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _adjust(plan: AftercarePlan, adjustment: Adjustment, *, reason: str = "", at=None):
    user = plan.treatment.practitioner
    return plan_adjust(
        plan=plan,
        adjustment=adjustment,
        reason=reason,
        user=user,
        now=at or T0 + timedelta(hours=1),
    )


def _current(treatment) -> AftercarePlan:
    return AftercarePlan.objects.get(
        treatment__patient=treatment.patient, superseded_at__isnull=True
    )


MAKEUP_72 = Adjustment(kind=RESTRICTION, key="makeup", hours=72)


def test_an_adjustment_makes_a_new_revision_and_keeps_the_earlier_one_as_it_was():
    plan = plan_create(treatment=TreatmentFactory(performed_at=T0 - timedelta(hours=1)), now=T0)
    before = dict(plan.content)
    record = _adjust(plan, MAKEUP_72, reason="Deeper on the cheeks today.")
    plan.refresh_from_db()
    assert plan.content == before
    assert plan.superseded_by == record.plan
    assert record.plan.revision == plan.revision + 1
    assert _restriction_end(record.plan, "makeup") == (T0 + timedelta(hours=71)).isoformat()


def test_an_adjustment_records_who_when_what_and_why():
    plan = plan_create(treatment=TreatmentFactory(performed_at=T0 - timedelta(hours=1)), now=T0)
    record = _adjust(plan, MAKEUP_72, reason="Deeper on the cheeks today.")
    assert record.created_by == plan.treatment.practitioner
    assert record.created_at == T0 + timedelta(hours=1)
    assert (record.previous_hours, record.hours, record.guidance_hours) == (48, 72, 48)
    assert record.describe() == "Makeup: 2 days → 3 days (guidance: 2 days)"
    assert record.reason == "Deeper on the cheeks today."


def test_the_database_refuses_a_shorter_restriction_without_a_reason():
    plan = plan_create(treatment=TreatmentFactory(performed_at=T0 - timedelta(hours=1)), now=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        _adjust(plan, Adjustment(kind=RESTRICTION, key="makeup", hours=24))


def test_a_superseded_plan_cannot_be_adjusted():
    plan = plan_create(treatment=TreatmentFactory(performed_at=T0 - timedelta(hours=1)), now=T0)
    _adjust(plan, MAKEUP_72)
    with pytest.raises(PlanNotCurrent):
        _adjust(plan, Adjustment(kind=NOTE, text="Hello"))


def test_waiting_reminders_move_to_the_new_revision_with_their_message_ids():
    plan = plan_create(treatment=TreatmentFactory(performed_at=T0 - timedelta(hours=1)), now=T0)
    ids = dict(plan.reminders.values_list("kind", "message_id"))
    record = _adjust(plan, MAKEUP_72)
    assert dict(record.plan.reminders.values_list("kind", "message_id")) == ids
    assert not plan.reminders.exists()


def test_an_adjustment_leaves_emails_already_sent_unchanged(smtp_sink):
    plan = plan_create(treatment=TreatmentFactory(performed_at=T0 - timedelta(hours=1)), now=T0)
    dispatch_due(now=T0)
    copy = SentMessage.objects.get()
    before = (copy.reminder_id, copy.text_body, copy.html_body, copy.reminder.plan_id)
    _adjust(plan, MAKEUP_72, reason="Deeper today.")
    _adjust(_current(plan.treatment), Adjustment(kind=NOTE, text="Rest well."))
    copy.refresh_from_db()
    assert (copy.reminder_id, copy.text_body, copy.html_body, copy.reminder.plan_id) == before
    assert "Rest well." not in _sent_text(smtp_sink.messages[0])


def test_the_next_email_shows_the_new_end_and_carries_the_note_once(smtp_sink):
    treatment = TreatmentFactory(performed_at=T0 - timedelta(hours=1))
    plan = plan_create(treatment=treatment, now=T0)
    dispatch_due(now=T0)
    _adjust(plan, MAKEUP_72)
    _adjust(_current(treatment), Adjustment(kind=NOTE, text="No makeup for 72 hours, please."))
    smtp_sink.clear()
    dispatch_due(now=T0 + timedelta(days=3, hours=1))  # day-1 and day-3
    texts = [_sent_text(m) for m in smtp_sink.wait_for(2)]
    assert "Makeup: OK again from Fri 13 Mar, 11:00" in texts[0]
    assert ["No makeup for 72 hours, please." in text for text in texts] == [True, False]


def test_a_skipped_reminder_is_cancelled_with_a_reason_and_never_sent(smtp_sink):
    treatment = TreatmentFactory(performed_at=T0 - timedelta(hours=1))
    plan = plan_create(treatment=treatment, now=T0)
    record = _adjust(plan, Adjustment(kind=SKIP_REMINDER, key="day-3"))
    row = Reminder.objects.get(patient=treatment.patient, kind="day-3")
    assert (row.status, row.cancelled_reason) == (
        ReminderStatus.CANCELLED,
        "skipped by the practitioner",
    )
    assert record.label == "Three days in"
    dispatch_due(now=T0 + timedelta(days=400))
    assert "Three days in" not in " ".join(_sent_text(m) for m in smtp_sink.messages)
    assert Reminder.objects.get(pk=row.pk).status == ReminderStatus.CANCELLED


def test_an_added_reminder_is_sent_once_on_its_day(smtp_sink):
    treatment = TreatmentFactory(performed_at=T0 - timedelta(hours=1))
    plan = plan_create(treatment=treatment, now=T0)
    added = Adjustment(
        kind=ADD_REMINDER,
        key="extra-check",
        day_number=2,
        label="A quick check-in",
        text="How does your skin feel today?",
    )
    _adjust(plan, added, reason="Sensitive skin.")
    row = Reminder.objects.get(patient=treatment.patient, kind="extra-check")
    assert row.due_at == datetime(2026, 3, 12, 9, 0, tzinfo=LONDON)
    dispatch_due(now=T0 + timedelta(days=2))
    dispatch_due(now=T0 + timedelta(days=2, minutes=5))
    dispatch_due(now=T0 + timedelta(days=30))
    texts = [_sent_text(m) for m in smtp_sink.messages]
    assert sum("How does your skin feel today?" in text for text in texts) == 1
    row.refresh_from_db()
    assert row.status == ReminderStatus.SENT


def test_an_added_reminder_for_today_after_the_hour_is_due_at_once():
    treatment = TreatmentFactory(performed_at=T0 - timedelta(hours=1))
    plan = plan_create(treatment=treatment, now=T0)
    added = Adjustment(kind=ADD_REMINDER, key="extra-now", day_number=0, label="A", text="B")
    _adjust(plan, added, at=T0 + timedelta(hours=2))
    assert Reminder.objects.get(kind="extra-now").due_at == T0 + timedelta(hours=2)


def test_regenerating_keeps_the_adjustments():
    treatment = TreatmentFactory(performed_at=T0 - timedelta(hours=1))
    plan = plan_create(treatment=treatment, now=T0)
    _adjust(plan, MAKEUP_72)
    _adjust(_current(treatment), Adjustment(kind=SKIP_REMINDER, key="day-6"))
    regenerated = plan_create(treatment=treatment, now=T0 + timedelta(hours=2))
    assert _restriction_end(regenerated, "makeup") == (T0 + timedelta(hours=71)).isoformat()
    assert "day-6" not in [r["key"] for r in regenerated.content["reminders"]]
    assert not regenerated.reminders.filter(kind="day-6").exists()


def test_regenerating_can_drop_the_adjustments():
    treatment = TreatmentFactory(performed_at=T0 - timedelta(hours=1))
    plan = plan_create(treatment=treatment, now=T0)
    record = _adjust(plan, MAKEUP_72)
    regenerated = plan_create(
        treatment=treatment,
        now=T0 + timedelta(hours=2),
        created_by=treatment.practitioner,
        drop_adjustments=True,
    )
    assert _restriction_end(regenerated, "makeup") == (T0 + timedelta(hours=47)).isoformat()
    record.refresh_from_db()
    assert (record.dropped_at, record.dropped_by) == (
        T0 + timedelta(hours=2),
        treatment.practitioner,
    )


# Combined treatments: one plan per visit


def test_a_second_treatment_the_same_day_replaces_the_first_plan_with_a_combined_one(patient):
    face = TreatmentFactory(
        patient=patient, performed_at=T0 - timedelta(hours=2), depth_mm=Decimal("1.5")
    )
    first = plan_create(treatment=face, now=T0)
    neck = TreatmentFactory(
        patient=patient,
        performed_at=T0 - timedelta(hours=1),
        depth_mm=Decimal("0.5"),
        areas=["neck"],
    )
    combined = plan_create(treatment=neck, now=T0 + timedelta(minutes=5))
    first.refresh_from_db()
    assert first.superseded_by == combined
    assert (
        AftercarePlan.objects.filter(treatment__patient=patient, superseded_at__isnull=True).get()
        == combined
    )
    item_keys = [item["key"] for item in combined.content["items"]]
    assert {"delicate-areas-swelling", "deeper-treatment"} <= set(item_keys)
    assert len(item_keys) == len(set(item_keys))
    assert combined.content["performed_at"] == face.performed_at.astimezone(LONDON).isoformat()


def test_the_day_0_email_of_a_visit_is_not_sent_twice(patient, smtp_sink):
    face = TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=2))
    plan_create(treatment=face, now=T0)
    dispatch_due(now=T0)
    neck = TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=1), areas=["neck"])
    combined = plan_create(treatment=neck, now=T0 + timedelta(minutes=5))
    dispatch_due(now=T0 + timedelta(days=200))
    kinds = Reminder.objects.filter(patient=patient, status=ReminderStatus.SENT).values_list(
        "kind", flat=True
    )
    assert sorted(kinds) == sorted(set(kinds))
    assert list(combined.reminders.values_list("kind", flat=True)).count("day-0") == 0
    assert len(smtp_sink.messages) == len(kinds)


def test_the_adjustments_of_the_first_treatment_carry_into_the_combined_plan(patient):
    face = TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=2))
    _adjust(plan_create(treatment=face, now=T0), MAKEUP_72)
    neck = TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=1), areas=["neck"])
    combined = plan_create(treatment=neck, now=T0 + timedelta(hours=2))
    assert _restriction_end(combined, "makeup") == (T0 + timedelta(hours=70)).isoformat()


def test_treatments_on_different_local_days_are_separate_visits(patient):
    clinic = patient.clinic
    clinic.timezone = "Australia/Sydney"
    clinic.save()
    # 12:30 and 13:30 UTC on 10 March are 23:30 that day and 00:30 the next in Sydney.
    evening = TreatmentFactory(
        patient=patient, performed_at=datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    )
    plan_create(treatment=evening, now=T0)
    night = TreatmentFactory(
        patient=patient, performed_at=datetime(2026, 3, 10, 13, 30, tzinfo=UTC)
    )
    later = plan_create(treatment=night, now=T0)
    assert later.content["performed_at"] == "2026-03-11T00:30:00+11:00"


# Courses


def _start_course(patient, *, sessions=4, starts_on=date(2026, 3, 10), by=None, now=T0):
    """A course of `sessions`, 4 to 6 weeks apart."""
    return course_start(
        patient=patient,
        sessions=sessions,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=starts_on,
        created_by=by,
        now=now,
    )


def _treated_on_course(patient):
    """Treated an hour before T0, on a course of 4, with only the rebooking email left."""
    plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=1)), now=T0
    )
    _start_course(patient)
    Reminder.objects.filter(patient=patient).exclude(kind="rebooking").update(
        status=ReminderStatus.CANCELLED
    )


def test_starting_a_course_makes_the_current_plan_say_which_session_it_is(patient):
    treatment = TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=1))
    plan = plan_create(treatment=treatment, now=T0)
    _start_course(patient, by=treatment.practitioner, now=T0 + timedelta(hours=1))
    current = _current(treatment)
    assert current.revision == plan.revision + 1
    assert current.content["course"] == {
        "session": 1,
        "sessions": 4,
        "next_window_opens": "2026-04-07",
        "next_window_closes": "2026-04-21",
    }


def test_the_second_session_across_the_clocks_change_is_numbered_and_windowed_by_local_days(
    patient,
):
    first = TreatmentFactory(patient=patient, performed_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    plan_create(treatment=first, now=T0)
    _start_course(patient, starts_on=date(2026, 3, 2), by=first.practitioner)
    # 23:30 UTC on 29 March is 00:30 BST on 30 March, the day after the clocks went forward.
    second = TreatmentFactory(
        patient=patient, performed_at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    )
    plan = plan_create(treatment=second, now=datetime(2026, 3, 30, 8, 0, tzinfo=UTC))
    assert plan.content["course"] == {
        "session": 2,
        "sessions": 4,
        "next_window_opens": "2026-04-27",
        "next_window_closes": "2026-05-11",
    }


def test_ending_a_course_takes_the_session_off_the_plan(patient):
    treatment = TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=1))
    plan_create(treatment=treatment, now=T0)
    course = _start_course(patient, sessions=3)
    assert course_end(course=course, user=None, now=T0 + timedelta(hours=1))
    assert _current(treatment).content["course"] is None
    assert not course_end(course=course, user=None, now=T0 + timedelta(hours=2))


def test_the_rebooking_email_names_the_window_and_the_booking_page(patient, smtp_sink):
    clinic = patient.clinic
    clinic.booking_url = "https://book.example.com/clinic"
    clinic.save()
    _treated_on_course(patient)
    dispatch_due(now=T0 + timedelta(days=29))
    text = _sent_text(smtp_sink.wait_for(1)[0])
    assert "Session 1 of 4 of your course." in text
    assert "between Tuesday 7 April and Tuesday 21 April" in text
    assert "Book it here: https://book.example.com/clinic" in text


def test_without_a_booking_page_the_rebooking_email_gives_the_phone(patient, smtp_sink):
    _treated_on_course(patient)
    dispatch_due(now=T0 + timedelta(days=29))
    text = _sent_text(smtp_sink.wait_for(1)[0])
    assert f"Call {patient.clinic.phone} to book it." in text
