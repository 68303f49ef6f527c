"""One plan for the treatments of one visit: pure, no database."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercare.planner.combining import combine_plans
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import AREAS, DEVICES, ClinicFacts, TreatmentFacts
from aftercare.planner.planning import Plan, build_plan, utc

ZONES = ("Europe/London", "Australia/Sydney", "America/New_York")


def _clinic(zone: str = "Europe/London") -> ClinicFacts:
    return ClinicFacts(name="Clinic", phone="1", email="c@example.com", timezone=zone)


def _plan(
    at: datetime, *, depth: str = "1.0", passes: int = 2, areas=("cheeks",), device: str = "pen"
) -> Plan:
    facts = TreatmentFacts(
        performed_at=at,
        depth_mm=Decimal(depth),
        passes=passes,
        areas=frozenset(areas),
        device=device,
        skin_type=3,
    )
    return build_plan(facts, _clinic(at.tzinfo.key), DEFAULT_GUIDANCE)


LONDON = ZoneInfo("Europe/London")
FACE = _plan(datetime(2026, 5, 4, 10, 0, tzinfo=LONDON), depth="1.0", areas=("cheeks",))
NECK = _plan(datetime(2026, 5, 4, 10, 40, tzinfo=LONDON), depth="0.5", areas=("neck",))


def test_each_restriction_ends_at_the_latest_of_its_parts():
    combined = combine_plans([FACE, NECK])
    for restriction in combined.restrictions:
        ends = [
            r.ends_at
            for part in (FACE, NECK)
            for r in part.restrictions
            if r.key == restriction.key
        ]
        assert utc(restriction.ends_at) == max(utc(end) for end in ends)


def test_area_specific_guidance_from_each_part_is_included_once():
    combined = combine_plans([FACE, NECK])
    keys = [item.key for item in combined.items]
    neck_only = {item.key for item in NECK.items} - {item.key for item in FACE.items}
    assert neck_only and neck_only <= set(keys)
    assert len(keys) == len(set(keys))


def test_the_combined_plan_starts_at_the_first_treatment_and_takes_the_stronger_intensity():
    combined = combine_plans([NECK, FACE])
    assert combined.performed_at == FACE.performed_at
    assert combined.intensity == max(FACE.intensity, NECK.intensity, key=lambda i: i.rank)


def test_there_is_one_reminder_schedule():
    combined = combine_plans([FACE, NECK])
    assert Counter(reminder.key for reminder in combined.reminders) == Counter(
        {reminder.key: 1 for reminder in FACE.reminders}
    )
    day_0 = next(reminder for reminder in combined.reminders if reminder.key == "day-0")
    assert day_0.send_at == FACE.performed_at


def test_a_single_part_is_its_own_plan():
    assert combine_plans([FACE]) is FACE


def test_nothing_to_combine_is_refused():
    with pytest.raises(ValueError, match="nothing to combine"):
        combine_plans([])


def test_the_day_by_day_entries_are_worked_out_again():
    combined = combine_plans([FACE, NECK])
    item_keys = {key for day in combined.days for key in day.item_keys}
    assert {item.key for item in NECK.items} <= item_keys


treatments = st.fixed_dictionaries(
    {
        "minute": st.integers(min_value=0, max_value=24 * 60 - 1),
        "depth": st.sampled_from(["0.25", "0.5", "1.0", "1.5", "2.0", "2.5"]),
        "passes": st.integers(min_value=1, max_value=10),
        "areas": st.sets(st.sampled_from(AREAS), min_size=1, max_size=4),
        "device": st.sampled_from(DEVICES),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    first=treatments,
    second=treatments,
)
def test_combined_restriction_ends_are_the_later_of_the_two_and_no_moment_gets_two_emails(
    zone, day, first, second
):
    tz = ZoneInfo(zone)

    def part(values) -> Plan:
        at = datetime.combine(day, time(0), tzinfo=tz).replace(
            hour=values["minute"] // 60, minute=values["minute"] % 60
        )
        return _plan(
            at,
            depth=values["depth"],
            passes=values["passes"],
            areas=values["areas"],
            device=values["device"],
        )

    one, other = part(first), part(second)
    combined = combine_plans([one, other])

    separate = {}
    for plan in (one, other):
        for restriction in plan.restrictions:
            end = utc(restriction.ends_at)
            separate[restriction.key] = max(separate.get(restriction.key, end), end)
    assert {r.key: utc(r.ends_at) for r in combined.restrictions} == separate

    keys = [reminder.key for reminder in combined.reminders]
    assert len(keys) == len(set(keys))
    local_days = [reminder.send_at.astimezone(tz).date() for reminder in combined.reminders]
    assert len(local_days) == len(set(local_days))
    moments = [utc(reminder.send_at) for reminder in combined.reminders]
    assert len(moments) == len(set(moments))
