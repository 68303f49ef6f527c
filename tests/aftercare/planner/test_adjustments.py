"""Applying a practitioner's adjustments to planner values: pure, no database."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aftercare.planner.adjustments import (
    ADD_REMINDER,
    NOTE,
    RESTRICTION,
    SKIP_REMINDER,
    Adjustment,
    apply_adjustments,
)
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import ClinicFacts, TreatmentFacts
from aftercare.planner.planning import Plan, build_plan, plan_from_dict, plan_to_dict

LONDON = ZoneInfo("Europe/London")
CLINIC = ClinicFacts(name="Clinic", phone="1", email="c@example.com", timezone="Europe/London")


def _plan(performed_at: datetime = datetime(2026, 3, 27, 10, 0, tzinfo=LONDON)) -> Plan:
    facts = TreatmentFacts(
        performed_at=performed_at,
        depth_mm=Decimal("1.0"),
        passes=2,
        areas=frozenset({"cheeks"}),
        device="pen",
        skin_type=3,
    )
    return build_plan(facts, CLINIC, DEFAULT_GUIDANCE)


def _restriction(plan: Plan, key: str):
    return next(r for r in plan.restrictions if r.key == key)


def test_a_longer_restriction_ends_that_many_real_hours_after_the_treatment():
    plan = _plan()
    adjusted = apply_adjustments(plan, [Adjustment(kind=RESTRICTION, key="makeup", hours=72)])
    makeup = _restriction(adjusted, "makeup")
    assert makeup.hours == 72
    # 27 March 2026 10:00 GMT + 72 h crosses the clocks going forward: 11:00 BST on the 30th.
    assert makeup.ends_at == datetime(2026, 3, 30, 11, 0, tzinfo=LONDON)


def test_an_adjusted_restriction_remembers_what_the_guidance_said():
    plan = _plan()
    once = apply_adjustments(plan, [Adjustment(kind=RESTRICTION, key="makeup", hours=72)])
    twice = apply_adjustments(once, [Adjustment(kind=RESTRICTION, key="makeup", hours=24)])
    # 1.0 mm, 2 passes on one area scores 2, still Light: 48 h + 2 points x 6 h.
    assert _restriction(twice, "makeup").guidance_hours == 60
    assert _restriction(twice, "makeup").is_adjusted


def test_other_restrictions_are_left_alone():
    plan = _plan()
    adjusted = apply_adjustments(plan, [Adjustment(kind=RESTRICTION, key="makeup", hours=72)])
    assert _restriction(adjusted, "sun") == _restriction(plan, "sun")


def test_the_day_by_day_entries_follow_the_new_end():
    plan = _plan()
    adjusted = apply_adjustments(plan, [Adjustment(kind=RESTRICTION, key="makeup", hours=72)])
    ending = {day.number for day in adjusted.days if "makeup" in day.restriction_keys_ending}
    assert ending == {3}


def test_a_note_is_kept_on_the_plan_and_an_empty_one_removes_it():
    plan = apply_adjustments(_plan(), [Adjustment(kind=NOTE, text="  Deeper on the cheeks. ")])
    assert plan.note == "Deeper on the cheeks."
    assert apply_adjustments(plan, [Adjustment(kind=NOTE, text="")]).note == ""


def test_a_skipped_reminder_leaves_the_schedule():
    plan = apply_adjustments(_plan(), [Adjustment(kind=SKIP_REMINDER, key="day-3")])
    assert "day-3" not in [reminder.key for reminder in plan.reminders]


def test_an_added_reminder_goes_out_at_the_clinics_hour_on_its_day_in_order():
    added = Adjustment(
        kind=ADD_REMINDER, key="extra-1", day_number=2, label="Check-in", text="How is it?"
    )
    plan = apply_adjustments(_plan(), [added])
    keys = [reminder.key for reminder in plan.reminders]
    assert keys.index("extra-1") == keys.index("day-1") + 1
    extra = plan.reminders[keys.index("extra-1")]
    assert extra.send_at == datetime(2026, 3, 29, 9, 0, tzinfo=LONDON)  # BST by then
    assert (extra.label, extra.summary_md) == ("Check-in", "How is it?")


def test_adding_the_same_reminder_twice_keeps_one():
    added = Adjustment(kind=ADD_REMINDER, key="extra-1", day_number=2, label="A", text="B")
    plan = apply_adjustments(_plan(), [added, added])
    assert [reminder.key for reminder in plan.reminders].count("extra-1") == 1


def test_adjustments_replayed_on_a_fresh_plan_give_the_same_plan():
    adjustments = [
        Adjustment(kind=RESTRICTION, key="makeup", hours=72),
        Adjustment(kind=NOTE, text="No makeup for three days."),
        Adjustment(kind=SKIP_REMINDER, key="day-6"),
        Adjustment(kind=ADD_REMINDER, key="extra-1", day_number=2, label="A", text="B"),
    ]
    one_by_one = _plan()
    for adjustment in adjustments:
        one_by_one = apply_adjustments(one_by_one, [adjustment])
    assert apply_adjustments(_plan(), adjustments) == one_by_one


def test_an_adjusted_plan_survives_storage():
    adjusted = apply_adjustments(
        _plan(),
        [Adjustment(kind=RESTRICTION, key="makeup", hours=72), Adjustment(kind=NOTE, text="Hi")],
    )
    assert plan_from_dict(plan_to_dict(adjusted)) == adjusted


def test_an_adjustment_of_a_restriction_the_guidance_no_longer_has_is_ignored():
    plan = _plan()
    adjusted = apply_adjustments(plan, [Adjustment(kind=RESTRICTION, key="gone", hours=5)])
    assert adjusted.restrictions == plan.restrictions


def test_a_plan_stored_before_adjustments_existed_still_reads():
    stored = plan_to_dict(_plan())
    del stored["note"], stored["course"]
    for restriction in stored["restrictions"]:
        del restriction["guidance_hours"]
    plan = plan_from_dict(stored)
    assert (plan.note, plan.course) == ("", None)
    assert _restriction(plan, "makeup").hours_by_guidance == 60


def test_a_restriction_can_be_shortened_to_end_before_midnight_of_day_0():
    plan = apply_adjustments(_plan(), [Adjustment(kind=RESTRICTION, key="makeup", hours=4)])
    assert _restriction(plan, "makeup").ends_at - plan.performed_at == timedelta(hours=4)
    assert "makeup" in plan.days[0].restriction_keys_ending
