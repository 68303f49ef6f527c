"""What a patient reads first (aftercare.planner.today): pure, no database.

Plans are built by hand from a small guidance, treated on Thursday 26 November 2026 at
10:00 in London, so days, weekdays and hours are known.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from aftercare.planner.inputs import (
    ClinicFacts,
    Guidance,
    GuidanceItem,
    Phase,
    Restriction,
    TreatmentFacts,
)
from aftercare.planner.planning import Plan, build_plan
from aftercare.planner.today import (
    POINTS_ON_A_PAGE,
    SOON_DAYS,
    day_label,
    relative_days,
    restates,
    today_items,
    today_points,
    wait_list,
)

LONDON = ZoneInfo("Europe/London")
TREATED = datetime(2026, 11, 26, 10, 0, tzinfo=LONDON)  # a Thursday
CLINIC = ClinicFacts(
    name="Clinic", phone="+44 20 7946 0123", email="c@example.com", timezone="Europe/London"
)
PHASES = (Phase("inflammation", "Settling down", "Red and warm.", 0, 72),)


def item(
    key: str, kind: str, start: int, end: int | None, facts: tuple[str, ...] = (), order: int = 0
) -> GuidanceItem:
    title = key.replace("_", " ").capitalize()
    return GuidanceItem(key, kind, title, f"{title}.", start, end, fact_ids=facts, order=order)


def restriction(key: str, hours: int, facts: tuple[str, ...] = ()) -> Restriction:
    label = key.replace("_", " ").capitalize()
    return Restriction(key, label, f"Wait with {key}.", hours, hours, hours, fact_ids=facts)


def plan_of(items=(), restrictions=()) -> Plan:
    guidance = Guidance(
        phases=PHASES,
        items=tuple(items),
        restrictions=tuple(restrictions),
        reminders=(),
        intensity_factors=(),
        intensity_levels=(),
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


def keys(items) -> list[str]:
    return [found.key for found in items]


# The rule


def test_warning_signs_are_never_points():
    plan = plan_of([item("infection", "warning", 0, None), item("wash", "do", 0, 48)])
    assert keys(today_items(plan, TREATED + timedelta(hours=1))) == ["wash"]


def test_what_started_today_comes_before_anything_older():
    plan = plan_of([item("spf", "do", 0, None), item("flaking", "expect", 72, 120)])
    day_3 = TREATED + timedelta(hours=73)
    assert keys(today_items(plan, day_3)) == ["flaking", "spf"]


def test_do_and_avoid_come_before_expect_and_products_last():
    plan = plan_of(
        [
            item("cream", "product", 0, 48),
            item("redness", "expect", 0, 48),
            item("no_touching", "avoid", 0, 48, order=2),
            item("wash", "do", 0, 48, order=1),
        ]
    )
    assert keys(today_items(plan, TREATED + timedelta(hours=1))) == [
        "wash",
        "no_touching",
        "redness",
        "cream",
    ]


def test_the_freshest_comes_first_within_a_kind():
    plan = plan_of([item("old", "do", 0, 96), item("fresh", "do", 20, 96)])
    next_day = TREATED + timedelta(hours=25)  # both started before today
    assert keys(today_items(plan, next_day)) == ["fresh", "old"]


def test_a_tip_that_ends_soon_comes_before_a_habit_for_good():
    plan = plan_of([item("for_good", "do", 0, None), item("tonight", "do", 0, 12)])
    assert keys(today_items(plan, TREATED + timedelta(hours=1))) == ["tonight", "for_good"]


def test_equal_items_keep_the_plans_order():
    plan = plan_of([item("b", "do", 0, 48, order=2), item("a", "do", 0, 48, order=1)])
    assert keys(today_items(plan, TREATED + timedelta(hours=1))) == ["a", "b"]


def test_today_points_keeps_the_first_five():
    plan = plan_of([item(f"tip_{n}", "do", 0, 48, order=n) for n in range(8)])
    points = today_points(plan, TREATED + timedelta(hours=1))
    assert len(points) == POINTS_ON_A_PAGE == 5
    assert keys(points) == [f"tip_{n}" for n in range(5)]


def test_today_points_takes_a_smaller_limit_for_an_email():
    plan = plan_of([item(f"tip_{n}", "do", 0, 48, order=n) for n in range(8)])
    assert keys(today_points(plan, TREATED, limit=3)) == ["tip_0", "tip_1", "tip_2"]


def test_items_that_ended_or_not_started_are_not_points():
    plan = plan_of([item("gone", "do", 0, 2), item("later", "do", 48, 72)])
    assert today_items(plan, TREATED + timedelta(hours=3)) == ()


def test_a_naive_moment_is_refused():
    plan = plan_of([item("wash", "do", 0, 48)])
    with pytest.raises(ValueError, match="timezone-aware"):
        today_items(plan, datetime(2026, 11, 26, 12, 0))  # noqa: DTZ001


# One place for each thing


def test_an_avoid_item_with_the_restrictions_label_is_left_to_the_restriction():
    plan = plan_of([item("makeup", "avoid", 0, 48)], [restriction("makeup", 48)])
    assert today_items(plan, TREATED + timedelta(hours=1)) == ()


def test_an_avoid_item_resting_only_on_the_restrictions_facts_is_left_to_it():
    plan = plan_of(
        [item("no_foundation", "avoid", 0, 48, facts=("R1",))],
        [restriction("makeup", 48, facts=("R1", "X8"))],
    )
    assert today_items(plan, TREATED + timedelta(hours=1)) == ()


def test_an_avoid_item_with_facts_of_its_own_stays():
    plan = plan_of(
        [item("no_touching", "avoid", 0, 48, facts=("H1", "R1"))],
        [restriction("makeup", 48, facts=("R1",))],
    )
    assert keys(today_items(plan, TREATED + timedelta(hours=1))) == ["no_touching"]


def test_an_avoid_item_comes_back_once_its_restriction_ended():
    plan = plan_of([item("makeup", "avoid", 0, None)], [restriction("makeup", 24)])
    assert keys(today_items(plan, TREATED + timedelta(hours=30))) == ["makeup"]


def test_a_do_item_never_restates_a_restriction():
    plan = plan_of([item("sun", "do", 0, 24, facts=("C4",))], [restriction("sun", 48, ("C4",))])
    found = plan.items[0]
    assert not restates(found, plan.restrictions[0])


# What has to wait


def test_the_wait_list_is_sorted_by_the_end_of_each_wait():
    plan = plan_of(restrictions=[restriction("sun", 96), restriction("makeup", 48)])
    waits = wait_list(plan, TREATED + timedelta(hours=1))
    assert [s.restriction.key for s in waits.soon] == ["makeup", "sun"]


def test_a_wait_says_in_how_many_local_days_it_ends():
    plan = plan_of(restrictions=[restriction("makeup", 48), restriction("exercise", 8)])
    [exercise, makeup] = wait_list(plan, TREATED + timedelta(hours=1)).soon
    assert (exercise.days_away, exercise.when) == (0, "today")
    assert (makeup.days_away, makeup.when) == (2, "in 2 days")  # Saturday 10:00


def test_a_wait_that_ended_lately_is_allowed_and_listed_first():
    plan = plan_of(restrictions=[restriction("sun", 96), restriction("makeup", 48)])
    waits = wait_list(plan, TREATED + timedelta(hours=60))
    assert [(s.restriction.key, s.allowed) for s in waits.soon] == [
        ("makeup", True),
        ("sun", False),
    ]


def test_a_wait_that_ended_long_ago_moves_to_earlier():
    plan = plan_of(restrictions=[restriction("makeup", 48), restriction("sun", 336)])
    waits = wait_list(plan, TREATED + timedelta(hours=100))
    assert [s.restriction.key for s in waits.earlier] == ["makeup"]
    assert [s.restriction.key for s in waits.soon] == ["sun"]


def test_waits_beyond_the_first_week_fold_into_later():
    plan = plan_of(restrictions=[restriction("makeup", 48), restriction("sun", 24 * 14)])
    waits = wait_list(plan, TREATED + timedelta(hours=1))
    assert [s.restriction.key for s in waits.soon] == ["makeup"]
    assert [s.restriction.key for s in waits.later] == ["sun"]
    assert waits.later[0].days_away > SOON_DAYS


def test_the_next_wait_to_end_is_always_in_the_first_list():
    plan = plan_of(restrictions=[restriction("sun", 24 * 14), restriction("actives", 24 * 16)])
    waits = wait_list(plan, TREATED + timedelta(hours=1))
    assert [s.restriction.key for s in waits.soon] == ["sun"]
    assert [s.restriction.key for s in waits.later] == ["actives"]


def test_the_days_count_in_the_clinics_zone_across_a_clock_change():
    # Treated 26 Nov in London; in 2027 March the clocks go forward: local days still count.
    plan = plan_of(restrictions=[restriction("long", 24 * 130)])
    [wait] = wait_list(plan, TREATED + timedelta(hours=1)).soon
    ends = wait.restriction.ends_at.astimezone(LONDON)
    assert (ends.date().isoformat(), ends.hour) == ("2027-04-05", 11)  # BST by then
    assert wait.days_away == 130


# Words


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (0, "today"),
        (1, "tomorrow"),
        (2, "in 2 days"),
        (16, "in 16 days"),
        (-1, "yesterday"),
        (-3, "3 days ago"),
    ],
)
def test_relative_days_reads_as_words(days, words):
    assert relative_days(days) == words


@pytest.mark.parametrize(("number", "label"), [(0, "Treatment day"), (1, "Day 1"), (3, "Day 3")])
def test_day_label_calls_day_0_the_treatment_day(number, label):
    assert day_label(number) == label
