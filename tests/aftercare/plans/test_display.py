"""Shaping a plan for the pages (aftercare.plans.display): milestones and days; no database.

Plans are built by hand, treated on Thursday 26 November 2026 at 10:00 in London.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aftercare.planner.inputs import (
    ClinicFacts,
    Guidance,
    GuidanceItem,
    IntensityLevel,
    Phase,
    ReminderMoment,
    Restriction,
    TreatmentFacts,
)
from aftercare.planner.planning import CourseStep, Plan, build_plan
from aftercare.plans.display import (
    BOOKING_MILESTONE,
    REDNESS_MILESTONE,
    grouped_by_kind,
    plan_context,
    plan_milestones,
    sheet_periods,
)

LONDON = ZoneInfo("Europe/London")
TREATED = datetime(2026, 11, 26, 10, 0, tzinfo=LONDON)
CLINIC = ClinicFacts(
    name="Clinic", phone="+44 20 7946 0123", email="c@example.com", timezone="Europe/London"
)
PHASES = (
    Phase("inflammation", "Settling down", "Red and warm.", 0, 72),
    Phase("proliferation", "Rebuilding", "Some flaking.", 72, 168),
    Phase("remodelling", "Strengthening", "Firmer skin.", 168, None),
)
LEVELS = (IntensityLevel(rank=1, label="Light", min_score=0, downtime_hours=48),)


def plan_of(*, phases=PHASES, items=(), restrictions=(), reminders=()) -> Plan:
    guidance = Guidance(
        phases=tuple(phases),
        items=tuple(items),
        restrictions=tuple(restrictions),
        reminders=tuple(reminders),
        intensity_factors=(),
        intensity_levels=LEVELS,
    )
    treatment = TreatmentFacts(
        performed_at=TREATED,
        depth_mm=Decimal("0.5"),
        passes=2,
        areas=frozenset({"cheeks"}),
        device="pen",
        skin_type=3,
    )
    return build_plan(treatment, CLINIC, guidance)


def restriction(key: str, label: str, hours: int) -> Restriction:
    return Restriction(key, label, "Why.", hours, hours, hours)


def by_day(plan: Plan) -> dict[int, tuple[str, ...]]:
    return {m.day_number: m.titles for m in plan_milestones(plan)}


# Milestones


def test_redness_is_mostly_gone_when_the_expected_downtime_ends():
    assert by_day(plan_of())[2] == (REDNESS_MILESTONE,)  # 48 hours: Saturday


def test_each_later_phase_reads_as_what_happens():
    days = by_day(plan_of())
    assert days[3] == ("Flaking may start",)
    assert days[7] == ("New collagen starts to firm up",)


def test_a_phase_the_clinic_added_reads_as_its_name_beginning():
    phases = (*PHASES[:2], Phase("calm", "Calm skin", "Calm.", 168, None))
    assert by_day(plan_of(phases=phases))[7] == ("Calm skin begins",)


def test_each_restriction_end_is_a_milestone_on_its_day_in_time_order():
    plan = plan_of(
        restrictions=[restriction("pools", "Pools", 80), restriction("makeup", "Makeup", 72)]
    )
    assert by_day(plan)[3] == ("Flaking may start", "Makeup: OK again", "Pools: OK again")


def test_the_window_for_the_next_session_of_a_course_is_a_milestone():
    plan = replace(
        plan_of(),
        course=CourseStep(
            session=1,
            sessions=3,
            next_window_opens=date(2026, 12, 24),
            next_window_closes=date(2026, 12, 31),
        ),
    )
    [booking] = [m for m in plan_milestones(plan) if BOOKING_MILESTONE in m.titles]
    assert (booking.day_number, booking.date) == (28, date(2026, 12, 24))


def test_after_the_last_session_of_a_course_there_is_nothing_to_book():
    rebooking = ReminderMoment("rebooking", "Time to think about your next session", "", 28)
    plan = replace(plan_of(reminders=[rebooking]), course=CourseStep(session=3, sessions=3))
    assert all(BOOKING_MILESTONE not in m.titles for m in plan_milestones(plan))


def test_without_a_course_the_rebooking_day_is_the_time_to_book():
    rebooking = ReminderMoment("rebooking", "Time to think about your next session", "", 28)
    plan = plan_of(reminders=[rebooking])
    assert by_day(plan)[28] == (BOOKING_MILESTONE,)


def test_milestones_never_use_the_emails_subjects():
    moments = [
        ReminderMoment("day-3", "Three days in", "", 3),
        ReminderMoment("rebooking", "Time to think about your next session", "", 28),
    ]
    titles = {t for m in plan_milestones(plan_of(reminders=moments)) for t in m.titles}
    assert not titles & {"Three days in", "Time to think about your next session"}


def test_milestones_come_in_day_order_with_their_labels():
    milestones = plan_milestones(plan_of(restrictions=[restriction("sun", "Sun", 24 * 14)]))
    assert [m.day_number for m in milestones] == sorted(m.day_number for m in milestones)
    assert milestones[0].label == "Day 2"


# Days and groups


def test_a_day_lists_what_starts_that_day_first():
    items = [
        GuidanceItem("spf", "do", "Sunscreen", "Every day.", 0, None),
        GuidanceItem("flaking", "expect", "Flaking", "Normal.", 72, 120),
    ]
    days = plan_context(plan_of(items=items))["days"]
    day_3 = days[3]
    assert [(item.key, new) for item, new in day_3.entries] == [
        ("flaking", True),
        ("spf", False),
    ]
    assert (days[0].label, day_3.label) == ("Treatment day", "Day 3")


def test_grouped_by_kind_follows_the_headings_and_skips_empty_kinds():
    plan = plan_of(
        items=[
            GuidanceItem("cream", "product", "Cream", "Use.", 0, 48),
            GuidanceItem("wash", "do", "Wash", "Gently.", 0, 48),
        ]
    )
    groups = grouped_by_kind(plan.items)
    assert [(heading, [i.key for i in found]) for heading, found in groups] == [
        ("What to do", ["wash"]),
        ("Products that help", ["cream"]),
    ]


def test_milestones_are_worked_out_in_the_clinics_zone():
    plan = plan_of(restrictions=[restriction("late", "Late", 14)])  # Thursday 24:00 local
    late = next(m for m in plan_milestones(plan) if "Late: OK again" in m.titles)
    assert late.date == (TREATED + timedelta(hours=14)).astimezone(LONDON).date()
    assert late.day_number == 1


# The print sheet's instructions (sheet_periods)

SHEET_ITEMS = [
    GuidanceItem("cool", "expect", "Warm skin", "Normal.", 0, 24),
    GuidanceItem("wash", "do", "Wash gently", "Lukewarm water.", 0, 96),
    GuidanceItem("spf", "do", "Sunscreen", "Every morning.", 24, None),
    GuidanceItem("flaking", "expect", "Flaking", "Normal.", 72, 120),
    GuidanceItem("results", "expect", "Results", "They take time.", 168, None),
    GuidanceItem("fever", "warning", "Fever", "Call us.", 0, None),
]


def _sheet_keys(period) -> list[str]:
    return [line.item.key for _, lines in period.sections for line in lines]


def test_the_sheet_lists_each_item_once_under_the_phase_it_starts_in():
    periods = sheet_periods(plan_of(items=SHEET_ITEMS))
    assert [(period.heading, _sheet_keys(period)) for period in periods] == [
        ("Settling down: treatment day to day 2", ["cool", "wash", "spf"]),
        ("Rebuilding: days 3–6", ["flaking"]),
        ("Strengthening: from day 7", ["results"]),
    ]


def test_the_sheet_groups_each_phase_by_kind_with_the_days_in_the_patients_words():
    first = sheet_periods(plan_of(items=SHEET_ITEMS))[0]
    assert [
        (heading, [(line.item.key, line.when) for line in lines])
        for heading, lines in first.sections
    ] == [
        ("What to expect", [("cool", "until day 1")]),
        ("What to do", [("wash", "until day 4"), ("spf", "from day 1")]),
    ]


def test_the_sheet_skips_a_phase_where_nothing_starts():
    items = [item for item in SHEET_ITEMS if item.key != "flaking"]
    headings = [period.heading for period in sheet_periods(plan_of(items=items))]
    assert headings == ["Settling down: treatment day to day 2", "Strengthening: from day 7"]


def test_without_phases_the_sheet_has_one_list():
    periods = sheet_periods(plan_of(phases=(), items=SHEET_ITEMS))
    assert [period.heading for period in periods] == ["Your aftercare"]
    assert sorted(_sheet_keys(periods[0])) == ["cool", "flaking", "results", "spf", "wash"]
