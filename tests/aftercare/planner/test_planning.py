from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercare.planner.inputs import (
    AREAS,
    DELICATE_AREAS,
    DEVICES,
    HISTORY_FLAGS,
    ClinicFacts,
    Conditions,
    Guidance,
    GuidanceItem,
    IntensityFactor,
    IntensityLevel,
    Phase,
    ReminderMoment,
    Restriction,
    TreatmentFacts,
)
from aftercare.planner.planning import (
    DAILY_DAYS,
    DAYTIME_END_HOUR,
    DAYTIME_START_HOUR,
    Plan,
    build_plan,
    plan_from_dict,
    plan_to_dict,
    score_intensity,
)
from clinic.zones import hemisphere_for_timezone

LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")

PHASES = (
    Phase("inflammation", "Inflammation", "Redness and warmth.", 0, 72, ("P2",)),
    Phase("proliferation", "Rebuilding", "New collagen forms.", 72, 168, ("P3",)),
    Phase("remodelling", "Remodelling", "Collagen matures for months.", 168, None, ("P4",)),
)


def item(
    key: str,
    kind: str,
    hours: tuple[int, int | None],
    *,
    when: Conditions | None = None,
    facts: tuple[str, ...] = (),
    order: int = 0,
) -> GuidanceItem:
    title = key.replace("_", " ").capitalize()
    start, end = hours
    return GuidanceItem(
        key, kind, title, f"{title}.", start, end, when or Conditions(), facts, order
    )


ITEMS = (
    item("redness", "expect", (0, 72), facts=("P5",)),
    item("gentle_cleansing", "do", (0, 48), facts=("C1",), order=1),
    item("daily_spf", "product", (24, None), facts=("S1",)),
    item("no_picking", "avoid", (0, None), facts=("R9",)),
    item("infection_signs", "warning", (0, 336), facts=("W2",), order=8),
    item("lasting_redness", "warning", (72, 168), facts=("W1",), order=9),
    item("delicate_swelling", "expect", (0, 96), when=Conditions(areas=DELICATE_AREAS)),
    item(
        "pigment_care",
        "do",
        (0, 720),
        when=Conditions(skin_types=frozenset({4, 5, 6})),
        facts=("S3",),
    ),
    item("breakout_care", "do", (24, 168), when=Conditions(history=frozenset({"breakout_prone"}))),
    item("summer_shade", "avoid", (0, 336), when=Conditions(seasons=frozenset({"summer"}))),
    item("winter_barrier", "product", (72, 336), when=Conditions(seasons=frozenset({"winter"}))),
    item("mature_hydration", "product", (72, 336), when=Conditions(min_age=50)),
    item("rf_warmth", "expect", (0, 48), when=Conditions(devices=frozenset({"rf"}))),
    item("pinpoint_bleeding", "expect", (0, 24), when=Conditions(min_depth_mm=Decimal("1.5"))),
    item(
        "superficial_routine",
        "do",
        (48, 168),
        when=Conditions(max_depth_mm=Decimal("0.5")),
        facts=("C2",),
    ),
    item("tightness", "expect", (0, 48), when=Conditions(min_passes=5)),
    item("intense_peeling", "expect", (48, 168), when=Conditions(min_intensity=3)),
)
WARNING_KEYS = {"infection_signs", "lasting_redness"}

RESTRICTIONS = (
    Restriction("makeup", "Makeup", "Mineral makeup only after.", 48, 48, 72, ("R1",), order=1),
    Restriction("sun", "Sun and tanning beds", "No sunbathing.", 336, 336, 504, ("R6",), order=3),
    Restriction("retinoids", "Retinoids and acids", "Pause them.", 168, 336, 504, ("R3",), 2),
    Restriction("exercise", "Heavy exercise", "No sweating.", 24, 48, 72, ("R2",), order=0),
)

REMINDERS = (
    ReminderMoment("welcome", "Your aftercare plan", "Here is your plan.", 0, fact_ids=("P1",)),
    ReminderMoment("day1", "Day 1", "Redness peaks.", 1),
    ReminderMoment("peeling_check", "Day 2", "Peeling starts.", 2, min_intensity=3),
    ReminderMoment("day3", "Day 3", "Inflammation ends.", 3),
    ReminderMoment("day6", "Day 6", "Rebuilding.", 6),
    ReminderMoment("day14", "Two weeks", "Sun care continues.", 14, fact_ids=("S1",)),
    ReminderMoment("day28", "Four weeks", "Book your next session.", 28),
    ReminderMoment("day90", "Three months", "Collagen matures.", 90),
)

FACTORS = (
    IntensityFactor("depth", 0, threshold=Decimal("0.1")),
    IntensityFactor("depth", 1, threshold=Decimal("0.5")),
    IntensityFactor("depth", 2, threshold=Decimal("1.0")),
    IntensityFactor("depth", 3, threshold=Decimal("1.5")),
    IntensityFactor("depth", 4, threshold=Decimal("2.0")),
    IntensityFactor("passes", 0, threshold=Decimal(1)),
    IntensityFactor("passes", 1, threshold=Decimal(3)),
    IntensityFactor("passes", 2, threshold=Decimal(5)),
    IntensityFactor("area_count", 1, threshold=Decimal(3)),
    IntensityFactor("device", 2, value="rf"),
)

LEVELS = (
    IntensityLevel(1, "Light", 0, 24),
    IntensityLevel(2, "Moderate", 2, 48),
    IntensityLevel(3, "Intense", 4, 72),
)

GUIDANCE = Guidance(PHASES, ITEMS, RESTRICTIONS, REMINDERS, FACTORS, LEVELS)

CLINIC = ClinicFacts(
    name="Glow Skin Clinic",
    phone="+44 20 7946 0018",
    email="aftercare@glow.example",
    timezone="Europe/London",
    hemisphere="north",
    reminder_hour=9,
)
SYDNEY_CLINIC = replace(
    CLINIC, phone="+61 2 9876 5432", timezone="Australia/Sydney", hemisphere="south"
)

# Light: depth 0.5 scores 1; two passes and one area score nothing.
BASE = TreatmentFacts(
    performed_at=datetime(2026, 3, 10, 10, 0, tzinfo=LONDON),
    depth_mm=Decimal("0.5"),
    passes=2,
    areas=frozenset({"cheeks"}),
    device="pen",
    skin_type=2,
    age_years=35,
)
MODERATE_DEPTH = Decimal("1.0")
INTENSE_DEPTH = Decimal("2.0")


def treatment(**changes) -> TreatmentFacts:
    return replace(BASE, **changes)


def plan_for(clinic: ClinicFacts = CLINIC, guidance: Guidance = GUIDANCE, **changes) -> Plan:
    return build_plan(treatment(**changes), clinic, guidance)


def item_keys(plan: Plan) -> set[str]:
    return {item.key for item in plan.items}


def restriction(plan: Plan, key: str):
    return next(r for r in plan.restrictions if r.key == key)


def reminder(plan: Plan, key: str):
    return next(r for r in plan.reminders if r.key == key)


def elapsed(start: datetime, end: datetime) -> timedelta:
    # Subtracting datetimes that share a tzinfo ignores DST; real elapsed time needs UTC.
    return end.astimezone(UTC) - start.astimezone(UTC)


# Intensity


def score(**changes):
    return score_intensity(treatment(**changes), FACTORS, LEVELS)


def test_shallow_single_area_pen_treatment_is_light():
    assert score() == score_intensity(BASE, FACTORS, LEVELS)
    assert (score().score, score().rank, score().label, score().downtime_hours) == (
        1,
        1,
        "Light",
        24,
    )


def test_depth_counts_only_the_largest_threshold_reached():
    assert score(depth_mm=Decimal("1.6")).score == 3


def test_depth_below_every_threshold_scores_nothing():
    assert score(depth_mm=Decimal("0.05")).score == 0


@pytest.mark.parametrize(("passes", "points"), [(1, 0), (2, 0), (3, 1), (4, 1), (5, 2), (9, 2)])
def test_passes_score_by_threshold(passes, points):
    assert score(depth_mm=Decimal("0.1"), passes=passes).score == points


def test_three_areas_add_an_area_count_point():
    two = score(depth_mm=Decimal("0.1"), areas=frozenset({"cheeks", "nose"}))
    three = score(depth_mm=Decimal("0.1"), areas=frozenset({"cheeks", "nose", "chin_jawline"}))
    assert (two.score, three.score) == (0, 1)


def test_area_rows_add_up_for_each_treated_area():
    factors = (
        *FACTORS,
        IntensityFactor("area", 1, value="periorbital"),
        IntensityFactor("area", 1, value="neck"),
        IntensityFactor("area", 5, value="scalp"),
    )
    facts = treatment(depth_mm=Decimal("0.1"), areas=frozenset({"periorbital", "neck", "cheeks"}))
    # Two area rows plus the area-count point for three areas.
    assert score_intensity(facts, factors, LEVELS).score == 3


def test_rf_device_adds_points():
    assert score(depth_mm=Decimal("0.1"), device="rf").score == 2
    assert score(depth_mm=Decimal("0.1"), device="roller").score == 0


def test_all_factors_add_up():
    intensity = score(
        depth_mm=Decimal("1.5"),
        passes=3,
        areas=frozenset({"cheeks", "nose", "forehead"}),
        device="rf",
    )
    assert intensity.score == 3 + 1 + 1 + 2


@pytest.mark.parametrize(
    ("depth", "rank", "label", "downtime"),
    [("0.5", 1, "Light", 24), ("1.0", 2, "Moderate", 48), ("2.0", 3, "Intense", 72)],
)
def test_score_picks_the_highest_level_reached(depth, rank, label, downtime):
    intensity = score(depth_mm=Decimal(depth))
    assert (intensity.rank, intensity.label, intensity.downtime_hours) == (rank, label, downtime)


def test_levels_may_arrive_unsorted():
    levels = (LEVELS[2], LEVELS[0], LEVELS[1])
    assert score_intensity(treatment(depth_mm=MODERATE_DEPTH), FACTORS, levels).label == "Moderate"


def test_score_below_every_level_falls_back_to_the_lowest_rank():
    levels = (IntensityLevel(3, "Intense", 10, 72), IntensityLevel(2, "Moderate", 5, 48))
    intensity = score_intensity(BASE, FACTORS, levels)
    assert (intensity.rank, intensity.label, intensity.downtime_hours) == (2, "Moderate", 48)


def test_downtime_never_drops_for_a_higher_rank():
    levels = (*LEVELS[:2], IntensityLevel(3, "Intense", 4, 12))
    intensity = score_intensity(treatment(depth_mm=INTENSE_DEPTH), FACTORS, levels)
    assert (intensity.rank, intensity.downtime_hours) == (3, 48)


def test_no_levels_means_light_with_a_day_of_downtime():
    intensity = score_intensity(treatment(depth_mm=INTENSE_DEPTH), FACTORS, ())
    assert (intensity.score, intensity.rank, intensity.label, intensity.downtime_hours) == (
        4,
        1,
        "Light",
        24,
    )


def test_plan_carries_the_intensity():
    assert plan_for(depth_mm=INTENSE_DEPTH).intensity.label == "Intense"


# Time zone and season


def test_plan_times_are_in_the_clinic_zone():
    plan = plan_for(SYDNEY_CLINIC, performed_at=datetime(2026, 1, 14, 23, 30, tzinfo=UTC))
    assert plan.performed_at == datetime(2026, 1, 15, 10, 30, tzinfo=SYDNEY)
    assert plan.timezone == "Australia/Sydney"
    moments = [plan.performed_at, *(i.starts_at for i in plan.items)]
    moments += [r.ends_at for r in plan.restrictions] + [r.send_at for r in plan.reminders]
    assert {m.tzinfo for m in moments} == {SYDNEY}


def test_naive_performed_at_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_for(performed_at=datetime(2026, 3, 10, 10, 0))  # noqa: DTZ001


def test_january_in_sydney_is_summer():
    plan = plan_for(SYDNEY_CLINIC, performed_at=datetime(2026, 1, 15, 10, 0, tzinfo=SYDNEY))
    assert plan.season == "summer"
    assert "summer_shade" in item_keys(plan)


def test_january_in_london_is_winter():
    plan = plan_for(performed_at=datetime(2026, 1, 15, 10, 0, tzinfo=LONDON))
    assert plan.season == "winter"
    assert "winter_barrier" in item_keys(plan)
    assert "summer_shade" not in item_keys(plan)


def test_july_in_sydney_gets_winter_items():
    plan = plan_for(SYDNEY_CLINIC, performed_at=datetime(2026, 7, 15, 10, 0, tzinfo=SYDNEY))
    assert plan.season == "winter"
    assert "winter_barrier" in item_keys(plan)
    assert "summer_shade" not in item_keys(plan)


def test_july_in_london_gets_summer_items():
    plan = plan_for(performed_at=datetime(2026, 7, 15, 10, 0, tzinfo=LONDON))
    assert "summer_shade" in item_keys(plan)


def test_spring_has_no_seasonal_items():
    assert not {"summer_shade", "winter_barrier"} & item_keys(plan_for())


def test_season_follows_the_clinic_s_local_date():
    # 14:00 UTC on 28 February is already 1 March (autumn) in Sydney.
    plan = plan_for(SYDNEY_CLINIC, performed_at=datetime(2026, 2, 28, 14, 0, tzinfo=UTC))
    assert plan.season == "autumn"


# Conditional items


@pytest.mark.parametrize("area", sorted(DELICATE_AREAS))
def test_delicate_area_adds_the_swelling_item(area):
    assert "delicate_swelling" in item_keys(plan_for(areas=frozenset({"cheeks", area})))


@pytest.mark.parametrize("area", ["cheeks", "hands", "decolletage"])
def test_other_areas_have_no_swelling_item(area):
    assert "delicate_swelling" not in item_keys(plan_for(areas=frozenset({area})))


@pytest.mark.parametrize(("skin_type", "expected"), [(1, False), (3, False), (4, True), (6, True)])
def test_skin_types_four_to_six_get_pigment_care(skin_type, expected):
    assert ("pigment_care" in item_keys(plan_for(skin_type=skin_type))) is expected


def test_breakout_prone_history_adds_breakout_care():
    plan = plan_for(history=frozenset({"sensitive_skin", "breakout_prone"}))
    assert "breakout_care" in item_keys(plan)


def test_other_history_has_no_breakout_care():
    assert "breakout_care" not in item_keys(plan_for(history=frozenset({"slow_healing"})))


@pytest.mark.parametrize(("age", "expected"), [(49, False), (50, True), (80, True)])
def test_age_limited_item_applies_from_its_minimum_age(age, expected):
    assert ("mature_hydration" in item_keys(plan_for(age_years=age))) is expected


def test_unknown_age_does_not_match_an_age_limited_item():
    keys = item_keys(plan_for(age_years=None))
    assert "mature_hydration" not in keys
    assert "redness" in keys


def test_maximum_age_is_inclusive():
    young = item("young", "expect", (0, 24), when=Conditions(max_age=25))
    guidance = replace(GUIDANCE, items=(young,))
    assert item_keys(plan_for(guidance=guidance, age_years=25)) == {"young"}
    assert item_keys(plan_for(guidance=guidance, age_years=26)) == set()


def test_rf_device_adds_the_warmth_item():
    assert "rf_warmth" in item_keys(plan_for(device="rf"))
    assert "rf_warmth" not in item_keys(plan_for(device="pen"))


@pytest.mark.parametrize(("depth", "expected"), [("1.4", False), ("1.5", True), ("2.5", True)])
def test_minimum_depth_is_inclusive(depth, expected):
    assert ("pinpoint_bleeding" in item_keys(plan_for(depth_mm=Decimal(depth)))) is expected


@pytest.mark.parametrize(("depth", "expected"), [("0.3", True), ("0.5", True), ("0.6", False)])
def test_maximum_depth_is_inclusive(depth, expected):
    assert ("superficial_routine" in item_keys(plan_for(depth_mm=Decimal(depth)))) is expected


def test_many_passes_add_the_tightness_item():
    assert "tightness" in item_keys(plan_for(passes=5))
    assert "tightness" not in item_keys(plan_for(passes=4))


def test_intense_only_item_needs_an_intense_treatment():
    assert "intense_peeling" in item_keys(plan_for(depth_mm=INTENSE_DEPTH))
    assert "intense_peeling" not in item_keys(plan_for(depth_mm=MODERATE_DEPTH))


def test_items_are_sorted_by_start_then_order_then_key():
    assert [item.key for item in plan_for().items] == [
        "no_picking",
        "redness",
        "gentle_cleansing",
        "infection_signs",
        "daily_spf",
        "superficial_routine",
        "lasting_redness",
    ]


def test_warning_items_are_listed_as_warnings_and_stay_in_items():
    plan = plan_for()
    assert [w.key for w in plan.warnings] == ["infection_signs", "lasting_redness"]
    assert set(plan.warnings) <= set(plan.items)


def test_items_start_and_end_hours_after_treatment():
    plan = plan_for()
    lasting = next(i for i in plan.items if i.key == "lasting_redness")
    assert lasting.starts_at == datetime(2026, 3, 13, 10, 0, tzinfo=LONDON)
    assert lasting.ends_at == datetime(2026, 3, 17, 10, 0, tzinfo=LONDON)
    assert next(i for i in plan.items if i.key == "no_picking").ends_at is None


# Phases


def test_phases_start_and_end_at_their_hours():
    inflammation, proliferation, remodelling = plan_for().phases
    assert inflammation.starts_at == BASE.performed_at
    assert inflammation.ends_at == proliferation.starts_at
    assert proliferation.starts_at == datetime(2026, 3, 13, 10, 0, tzinfo=LONDON)
    assert remodelling.starts_at == datetime(2026, 3, 17, 10, 0, tzinfo=LONDON)
    assert remodelling.ends_at is None


def test_phase_hours_are_real_hours_across_the_spring_change():
    plan = plan_for(performed_at=datetime(2026, 3, 27, 10, 0, tzinfo=LONDON))
    proliferation = plan.phases[1]
    # Clocks went forward on 29 March: 72 real hours later the wall clock reads 11:00.
    assert proliferation.starts_at == datetime(2026, 3, 30, 11, 0, tzinfo=LONDON)
    assert elapsed(plan.performed_at, proliferation.starts_at) == timedelta(hours=72)


# Restrictions


def test_restrictions_are_sorted_by_order():
    keys = [r.key for r in plan_for().restrictions]
    assert keys == ["exercise", "makeup", "retinoids", "sun"]


@pytest.mark.parametrize(
    ("depth", "makeup", "retinoids", "sun"),
    [("0.5", 48, 168, 336), ("1.0", 48, 336, 336), ("2.0", 72, 504, 504)],
)
def test_restriction_hours_follow_intensity(depth, makeup, retinoids, sun):
    plan = plan_for(depth_mm=Decimal(depth))
    hours = {r.key: r.hours for r in plan.restrictions}
    assert (hours["makeup"], hours["retinoids"], hours["sun"]) == (makeup, retinoids, sun)


def test_makeup_ends_72_hours_later_to_the_minute():
    # Clocks go back on 25 October, so the wall clock reads an hour earlier.
    performed_at = datetime(2026, 10, 23, 14, 37, tzinfo=LONDON)
    plan = plan_for(performed_at=performed_at, depth_mm=INTENSE_DEPTH)
    makeup = restriction(plan, "makeup")
    assert makeup.ends_at == datetime(2026, 10, 26, 13, 37, tzinfo=LONDON)
    assert elapsed(performed_at, makeup.ends_at) == timedelta(hours=72)


def test_a_lower_tier_longer_than_a_higher_one_still_counts():
    odd = Restriction("odd", "Odd", "Misconfigured.", 96, 48, 24)
    guidance = replace(GUIDANCE, restrictions=(odd,))
    hours = [
        plan_for(guidance=guidance, depth_mm=Decimal(depth)).restrictions[0].hours
        for depth in ("0.5", "1.0", "2.0")
    ]
    assert hours == [96, 96, 96]


def test_deeper_treatment_never_shortens_a_restriction():
    depths = [Decimal(tenths) / 10 for tenths in range(1, 31)]
    plans = [plan_for(depth_mm=depth) for depth in depths]
    for shallower, deeper in zip(plans, plans[1:], strict=False):
        for before, after in zip(shallower.restrictions, deeper.restrictions, strict=True):
            assert after.hours >= before.hours
            assert after.ends_at >= before.ends_at


def test_restrictions_active_at_drops_those_that_ended():
    plan = plan_for()
    active = plan.restrictions_active_at(plan.performed_at + timedelta(hours=30))
    assert [r.key for r in active] == ["makeup", "retinoids", "sun"]
    assert plan.restrictions_active_at(plan.performed_at - timedelta(minutes=1)) == ()


# Days


def test_plan_has_a_day_for_each_of_the_first_two_weeks():
    plan = plan_for()
    assert [day.number for day in plan.days] == list(range(DAILY_DAYS + 1))
    assert [day.date for day in plan.days] == [
        date(2026, 3, 10) + timedelta(days=n) for n in range(15)
    ]


def test_day_zero_is_the_clinic_s_local_date():
    plan = plan_for(SYDNEY_CLINIC, performed_at=datetime(2026, 1, 14, 23, 30, tzinfo=UTC))
    assert plan.days[0].date == date(2026, 1, 15)


def test_day_phase_is_the_phase_at_the_start_of_the_day():
    # Treatment at 10:00: day 3 starts 62 h in, day 4 86 h in, day 8 182 h in.
    phase_keys = {day.number: day.phase_key for day in plan_for().days}
    assert phase_keys[0] == phase_keys[3] == "inflammation"
    assert phase_keys[4] == phase_keys[7] == "proliferation"
    assert phase_keys[8] == phase_keys[14] == "remodelling"


def test_days_without_phases_have_an_empty_phase_key():
    plan = plan_for(guidance=replace(GUIDANCE, phases=()))
    assert {day.phase_key for day in plan.days} == {""}


def test_day_lists_the_items_that_overlap_it():
    days = plan_for().days
    with_cleansing = [day.number for day in days if "gentle_cleansing" in day.item_keys]
    with_lasting_redness = [day.number for day in days if "lasting_redness" in day.item_keys]
    assert with_cleansing == [0, 1, 2]
    assert with_lasting_redness == [3, 4, 5, 6, 7]
    assert "no_picking" in days[DAILY_DAYS].item_keys


def test_day_lists_restrictions_ending_on_it():
    ending = {day.number: day.restriction_keys_ending for day in plan_for().days}
    assert {n: keys for n, keys in ending.items() if keys} == {
        1: ("exercise",),
        2: ("makeup",),
        7: ("retinoids",),
        14: ("sun",),
    }


def test_restriction_ending_at_midnight_belongs_to_the_new_day():
    plan = plan_for(performed_at=datetime(2026, 3, 10, 0, 0, tzinfo=LONDON))
    assert plan.days[1].restriction_keys_ending == ("exercise",)
    assert plan.days[0].restriction_keys_ending == ()


def test_restriction_crossing_the_spring_change_ends_on_the_next_calendar_day():
    # 24 real hours after 23:30 GMT on 28 March is 00:30 BST on 30 March.
    plan = plan_for(performed_at=datetime(2026, 3, 28, 23, 30, tzinfo=LONDON))
    assert restriction(plan, "exercise").ends_at == datetime(2026, 3, 30, 0, 30, tzinfo=LONDON)
    assert plan.days[2].restriction_keys_ending == ("exercise",)


# Reminders


def test_day_two_reminder_only_for_intense_treatments():
    assert "peeling_check" not in {r.key for r in plan_for(depth_mm=MODERATE_DEPTH).reminders}
    intense = plan_for(depth_mm=INTENSE_DEPTH)
    assert reminder(intense, "peeling_check").day_number == 2


def test_reminders_are_sorted_by_send_time():
    keys = [r.key for r in plan_for(depth_mm=INTENSE_DEPTH).reminders]
    assert keys == ["welcome", "day1", "peeling_check", "day3", "day6", "day14", "day28", "day90"]


def test_later_reminders_go_out_at_the_reminder_hour_on_their_day():
    plan = plan_for()
    assert reminder(plan, "day1").send_at == datetime(2026, 3, 11, 9, 0, tzinfo=LONDON)
    assert reminder(plan, "day90").send_at == datetime(2026, 6, 8, 9, 0, tzinfo=LONDON)
    assert reminder(plan, "day90").day_number == 90


def test_london_reminders_after_the_clocks_go_back_stay_at_nine_local():
    plan = plan_for(performed_at=datetime(2026, 10, 23, 10, 0, tzinfo=LONDON))
    day1, day3, day6 = (reminder(plan, key).send_at for key in ("day1", "day3", "day6"))
    assert day1 == datetime(2026, 10, 24, 9, 0, tzinfo=LONDON)
    assert day1.astimezone(UTC).hour == 8
    assert day3 == datetime(2026, 10, 26, 9, 0, tzinfo=LONDON)
    assert day3.astimezone(UTC).hour == 9
    assert (day6.hour, day6.utcoffset()) == (9, timedelta(0))


def test_sydney_reminders_after_the_april_change_stay_at_nine_local():
    plan = plan_for(SYDNEY_CLINIC, performed_at=datetime(2026, 4, 3, 11, 0, tzinfo=SYDNEY))
    day1, day3 = reminder(plan, "day1").send_at, reminder(plan, "day3").send_at
    assert (day1.date(), day1.hour, day1.utcoffset()) == (date(2026, 4, 4), 9, timedelta(hours=11))
    assert (day3.date(), day3.hour, day3.utcoffset()) == (date(2026, 4, 6), 9, timedelta(hours=10))


def test_day_zero_reminder_in_the_daytime_goes_out_at_once():
    performed_at = datetime(2026, 3, 10, 20, 59, tzinfo=LONDON)
    assert reminder(plan_for(performed_at=performed_at), "welcome").send_at == performed_at


def test_day_zero_reminder_at_night_moves_to_the_next_morning():
    plan = plan_for(performed_at=datetime(2026, 3, 10, 21, 0, tzinfo=LONDON))
    welcome = reminder(plan, "welcome")
    assert welcome.send_at == datetime(2026, 3, 11, 9, 0, tzinfo=LONDON)
    assert welcome.day_number == 0


def test_day_zero_reminder_before_dawn_moves_to_the_same_morning():
    plan = plan_for(performed_at=datetime(2026, 3, 10, 5, 30, tzinfo=LONDON))
    assert reminder(plan, "welcome").send_at == datetime(2026, 3, 10, 9, 0, tzinfo=LONDON)


@pytest.mark.parametrize(("reminder_hour", "sent_hour"), [(3, 8), (8, 8), (20, 20), (23, 20)])
def test_reminder_hour_is_kept_inside_the_daytime_window(reminder_hour, sent_hour):
    clinic = replace(CLINIC, reminder_hour=reminder_hour)
    plan = plan_for(clinic, performed_at=datetime(2026, 3, 10, 22, 0, tzinfo=LONDON))
    assert {r.send_at.hour for r in plan.reminders} == {sent_hour}


def test_duplicate_reminder_keys_keep_the_first():
    moments = (
        ReminderMoment("check_in", "First", "First.", 1),
        ReminderMoment("check_in", "Second", "Second.", 2),
    )
    plan = plan_for(guidance=replace(GUIDANCE, reminders=moments))
    assert [(r.key, r.label, r.day_number) for r in plan.reminders] == [("check_in", "First", 1)]


# Whole plan


def test_plan_fact_ids_are_the_sorted_union_of_included_parts():
    plan = plan_for()
    assert plan.fact_ids == (
        "C1",
        "C2",
        "P1",
        "P2",
        "P3",
        "P4",
        "P5",
        "R1",
        "R2",
        "R3",
        "R6",
        "R9",
        "S1",
        "W1",
        "W2",
    )
    assert "S3" in plan_for(skin_type=5).fact_ids


def test_plan_carries_the_clinic_contact():
    plan = plan_for(SYDNEY_CLINIC)
    assert (plan.clinic.phone, plan.clinic.email) == ("+61 2 9876 5432", "aftercare@glow.example")


def test_items_active_at_a_moment():
    plan = plan_for()
    keys = {item.key for item in plan.items_active_at(plan.performed_at + timedelta(hours=80))}
    assert "lasting_redness" in keys
    assert "redness" not in keys


def test_items_active_at_counts_real_time_in_the_repeated_autumn_hour():
    brief = item("brief", "expect", (0, 1))
    first_0110 = datetime(2026, 10, 25, 1, 10, tzinfo=LONDON)  # BST, 00:10 UTC
    plan = plan_for(guidance=replace(GUIDANCE, items=(brief,)), performed_at=first_0110)
    first_0140 = datetime(2026, 10, 25, 1, 40, tzinfo=LONDON)
    second_0120 = datetime(2026, 10, 25, 1, 20, fold=1, tzinfo=LONDON)  # GMT, 01:20 UTC
    assert [item.key for item in plan.items_active_at(first_0140)] == ["brief"]
    assert plan.items_active_at(second_0120) == ()


def test_phase_at_a_moment():
    plan = plan_for()
    assert plan.phase_at(plan.performed_at - timedelta(minutes=1)) is None
    assert plan.phase_at(plan.performed_at).key == "inflammation"
    assert plan.phase_at(plan.performed_at + timedelta(hours=72)).key == "proliferation"
    assert plan.phase_at(plan.performed_at + timedelta(days=400)).key == "remodelling"


def test_day_number_counts_local_calendar_days():
    plan = plan_for(SYDNEY_CLINIC, performed_at=datetime(2026, 1, 15, 10, 0, tzinfo=SYDNEY))
    assert plan.day_number_at(datetime(2026, 1, 15, 23, 59, tzinfo=SYDNEY)) == 0
    assert plan.day_number_at(datetime(2026, 1, 16, 0, 0, tzinfo=SYDNEY)) == 1
    # 14:00 UTC on the 15th is already the 16th in Sydney.
    assert plan.day_number_at(datetime(2026, 1, 15, 14, 0, tzinfo=UTC)) == 1


def test_naive_moments_are_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_for().phase_at(datetime(2026, 3, 11, 10, 0))  # noqa: DTZ001


def test_plan_dict_has_iso_datetimes_with_offsets():
    data = plan_to_dict(
        plan_for(SYDNEY_CLINIC, performed_at=datetime(2026, 1, 15, 10, 0, tzinfo=SYDNEY))
    )
    assert data["performed_at"] == "2026-01-15T10:00:00+11:00"
    assert data["days"][0]["date"] == "2026-01-15"
    assert data["phases"][2]["ends_at"] is None


def test_plan_round_trips_through_json():
    plan = plan_for(depth_mm=INTENSE_DEPTH, areas=frozenset({"neck", "cheeks"}))
    assert plan_from_dict(json.loads(json.dumps(plan_to_dict(plan)))) == plan


def test_unknown_plan_format_is_rejected():
    data = plan_to_dict(plan_for()) | {"format": 99}
    with pytest.raises(ValueError, match="format"):
        plan_from_dict(data)


# Properties

ZONES = (
    "Australia/Sydney",
    "Europe/London",
    "America/New_York",
    "Pacific/Auckland",
    "Asia/Kolkata",
)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
MINUTES = (datetime(2029, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(minutes=1)


@st.composite
def cases(draw) -> tuple[TreatmentFacts, ClinicFacts]:
    zone = draw(st.sampled_from(ZONES))
    instant = EPOCH + timedelta(minutes=draw(st.integers(0, MINUTES - 1)))
    clinic = replace(
        CLINIC,
        timezone=zone,
        hemisphere=hemisphere_for_timezone(zone),
        reminder_hour=draw(st.integers(0, 23)),
    )
    facts = TreatmentFacts(
        performed_at=instant if draw(st.booleans()) else instant.astimezone(ZoneInfo(zone)),
        depth_mm=Decimal(draw(st.integers(1, 30))) / 10,
        passes=draw(st.integers(1, 10)),
        areas=frozenset(draw(st.sets(st.sampled_from(AREAS), min_size=1))),
        device=draw(st.sampled_from(DEVICES)),
        skin_type=draw(st.integers(1, 6)),
        age_years=draw(st.none() | st.integers(16, 90)),
        history=frozenset(draw(st.sets(st.sampled_from(HISTORY_FLAGS)))),
    )
    return facts, clinic


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


@PROPERTY_SETTINGS
@given(cases())
def test_every_plan_has_the_warnings_and_the_clinic_contact(case):
    facts, clinic = case
    plan = build_plan(facts, clinic, GUIDANCE)
    assert {w.key for w in plan.warnings} == WARNING_KEYS
    assert (plan.clinic.phone, plan.clinic.email) == (clinic.phone, clinic.email)


@PROPERTY_SETTINGS
@given(cases(), st.sampled_from(["depth", "passes"]))
def test_restriction_ends_are_monotone_in_depth_and_passes(case, factor):
    facts, clinic = case
    if factor == "depth":
        more = replace(facts, depth_mm=facts.depth_mm + Decimal("0.1"))
    else:
        more = replace(facts, passes=facts.passes + 1)
    before = build_plan(facts, clinic, GUIDANCE).restrictions
    after = build_plan(more, clinic, GUIDANCE).restrictions
    assert [r.key for r in before] == [r.key for r in after]
    for shorter, longer in zip(before, after, strict=True):
        assert longer.hours >= shorter.hours
        assert longer.ends_at.astimezone(UTC) >= shorter.ends_at.astimezone(UTC)


@PROPERTY_SETTINGS
@given(cases())
def test_reminders_go_out_in_the_daytime_and_never_before_the_treatment(case):
    facts, clinic = case
    plan = build_plan(facts, clinic, GUIDANCE)
    for planned in plan.reminders:
        assert planned.send_at.astimezone(UTC) >= facts.performed_at.astimezone(UTC)
        local = planned.send_at.astimezone(ZoneInfo(clinic.timezone))
        assert DAYTIME_START_HOUR <= local.hour < DAYTIME_END_HOUR


@PROPERTY_SETTINGS
@given(cases())
def test_days_cover_consecutive_local_dates(case):
    facts, clinic = case
    plan = build_plan(facts, clinic, GUIDANCE)
    first = facts.performed_at.astimezone(ZoneInfo(clinic.timezone)).date()
    assert [day.date for day in plan.days] == [
        first + timedelta(days=n) for n in range(DAILY_DAYS + 1)
    ]


@PROPERTY_SETTINGS
@given(cases())
def test_plans_survive_a_json_round_trip(case):
    # Determinism: test_planning_defaults.py builds plans from shuffled guidance rows.
    facts, clinic = case
    plan = build_plan(facts, clinic, GUIDANCE)
    data = plan_to_dict(plan)
    assert plan_from_dict(data) == plan
    assert plan_from_dict(json.loads(json.dumps(data))) == plan


def test_a_late_evening_treatment_gets_one_email_the_next_morning_not_two():
    plan = plan_for(performed_at=datetime(2026, 3, 10, 22, 30, tzinfo=LONDON))
    mornings = [r.send_at.date() for r in plan.reminders]
    assert len(mornings) == len(set(mornings))
    assert plan.reminders[0].day_number == 0
    assert plan.reminders[0].send_at == datetime(2026, 3, 11, 9, 0, tzinfo=LONDON)


# Durations that keep growing with the score, area-bound restrictions, items that follow
# a restriction.

GROWING_MAKEUP = replace(RESTRICTIONS[0], hours_per_point=6)


def growing(**changes) -> Guidance:
    return replace(GUIDANCE, restrictions=(replace(GROWING_MAKEUP, **changes),))


@pytest.mark.parametrize(
    ("depth", "passes", "expected"),
    [
        # Light from score 0: 48 h, and 6 h more per point above 0.
        ("0.1", 1, 48),
        ("0.5", 1, 54),
        # Moderate from score 2 (its tier is 48 h): the Light growth, 48 + 2 x 6, is longer.
        ("1.0", 1, 60),
        ("1.0", 3, 66),
        # Intense from score 4: its 72 h equals the Light growth, 48 + 4 x 6.
        ("1.5", 3, 72),
        # Score 6: Intense 72 + 2 x 6 and Light 48 + 6 x 6 agree again.
        ("2.0", 5, 84),
    ],
)
def test_restriction_hours_grow_with_every_point(depth, passes, expected):
    plan = plan_for(guidance=growing(), depth_mm=Decimal(depth), passes=passes)
    assert restriction(plan, "makeup").hours == expected


def test_a_restriction_without_growth_keeps_its_tier_hours():
    plan = plan_for(depth_mm=Decimal("1.0"), passes=3)
    assert restriction(plan, "makeup").hours == 48


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 30), st.integers(0, 48))
def test_growing_restriction_hours_never_fall_as_the_score_rises(score_value, per_point):
    from aftercare.planner.planning import Intensity, restriction_hours

    rule = replace(GROWING_MAKEUP, hours_per_point=per_point)

    def hours_at(value: int) -> int:
        rank = max(level.rank for level in LEVELS if level.min_score <= value)
        return restriction_hours(rule, Intensity(value, rank, "", 0), LEVELS)

    assert hours_at(score_value + 1) >= hours_at(score_value)


def test_history_rows_add_points():
    factors = (*FACTORS, IntensityFactor("history", 2, value="slow_healing"))
    slow = treatment(history=frozenset({"slow_healing"}))
    assert (
        score_intensity(slow, factors, LEVELS).score
        == score_intensity(BASE, factors, LEVELS).score + 2
    )


def test_a_restriction_for_some_areas_is_left_out_when_none_is_treated():
    guidance = growing(areas=frozenset({"cheeks", "forehead"}))
    assert [r.key for r in plan_for(guidance=guidance).restrictions] == ["makeup"]
    assert plan_for(guidance=guidance, areas=frozenset({"scalp"})).restrictions == ()


BRUSHES = replace(item("clean_brushes", "do", (0, 96)), after_restriction="makeup")


def test_an_item_after_a_restriction_starts_when_it_ends():
    guidance = replace(GUIDANCE, items=(BRUSHES,))
    plan = plan_for(guidance=guidance)
    (brushes,) = plan.items
    assert brushes.starts_at == restriction(plan, "makeup").ends_at
    assert brushes.ends_at == restriction(plan, "makeup").ends_at + timedelta(hours=96)


def test_an_item_after_a_restriction_the_plan_lacks_counts_from_the_treatment():
    guidance = replace(GUIDANCE, items=(replace(BRUSHES, after_restriction="gone"),))
    (brushes,) = plan_for(guidance=guidance).items
    assert brushes.starts_at == BASE.performed_at


def test_an_item_after_a_restriction_moves_when_the_practitioner_changes_it():
    from aftercare.planner.adjustments import RESTRICTION, Adjustment, apply_adjustments

    plan = plan_for(guidance=replace(GUIDANCE, items=(BRUSHES,)))
    adjusted = apply_adjustments(plan, [Adjustment(kind=RESTRICTION, key="makeup", hours=120)])
    (brushes,) = adjusted.items
    assert brushes.starts_at == restriction(adjusted, "makeup").ends_at
    assert brushes.ends_at - brushes.starts_at == timedelta(hours=96)


def test_an_item_after_a_restriction_survives_storing():
    plan = plan_for(guidance=replace(GUIDANCE, items=(BRUSHES,)))
    assert plan_from_dict(plan_to_dict(plan)) == plan


def test_warnings_active_at_leave_out_those_that_start_later():
    plan = plan_for()
    keys = {w.key for w in plan.warnings_active_at(plan.performed_at)}
    assert keys == {"infection_signs"}
    later = {w.key for w in plan.warnings_active_at(plan.performed_at + timedelta(hours=80))}
    assert later == {"infection_signs", "lasting_redness"}


def test_warnings_on_day_of_include_those_starting_later_that_day():
    plan = plan_for()  # 10:00; lasting redness from 72 h, so 10:00 on day 3
    morning_of_day_3 = datetime(2026, 3, 13, 8, 0, tzinfo=LONDON)
    assert "lasting_redness" not in {w.key for w in plan.warnings_active_at(morning_of_day_3)}
    assert "lasting_redness" in {w.key for w in plan.warnings_on_day_of(morning_of_day_3)}
    day_2 = datetime(2026, 3, 12, 8, 0, tzinfo=LONDON)
    assert "lasting_redness" not in {w.key for w in plan.warnings_on_day_of(day_2)}
