"""Properties of the planner over the shipped guidance (`DEFAULT_GUIDANCE`); no database."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import (
    AREA_FAMILIES,
    AREAS,
    DELICATE_AREAS,
    ClinicFacts,
    Guidance,
    TreatmentFacts,
)
from aftercare.planner.planning import DAYTIME_END_HOUR, DAYTIME_START_HOUR, Plan, build_plan
from tests.aftercare.planner.strategies import (
    MAX_DEPTH,
    MAX_PASSES,
    cases,
    clinics,
    located,
    treatments,
)

# Keys of the shipped items the properties look for.
WARNING_FACTS = {"W1", "W2", "W3", "W4", "X1", "X2", "X3"}
DARKER_SKIN_SUN = "darker-skin-sun"
DELICATE_SWELLING = "delicate-areas-swelling"
BREAKOUT = "breakout-prone"
SUMMER = "summer-skincare"
WINTER = "winter-skincare"


def plan_for(treatment: TreatmentFacts, clinic: ClinicFacts) -> Plan:
    return build_plan(treatment, clinic, DEFAULT_GUIDANCE)


def item_keys(plan: Plan) -> set[str]:
    return {item.key for item in plan.items}


PROPERTIES = settings(max_examples=100, deadline=None)


@PROPERTIES
@given(cases())
def test_every_plan_has_the_warning_signs(case):
    treatment, _ = case
    plan = plan_for(*case)
    warning_facts = {fact for warning in plan.warnings for fact in warning.fact_ids}
    # Cold sores (X2) come around the mouth: their warning is for treatments of the face.
    face_treated = not treatment.areas.isdisjoint(AREA_FAMILIES["face"])
    assert warning_facts >= (WARNING_FACTS if face_treated else WARNING_FACTS - {"X2"})
    assert all(warning in plan.items for warning in plan.warnings)
    # Open-ended: the signs stay relevant for the whole recovery.
    assert all(warning.ends_at is None for warning in plan.warnings)


@PROPERTIES
@given(cases())
def test_every_plan_carries_the_clinic_phone_and_email(case):
    treatment, clinic = case
    plan = plan_for(treatment, clinic)
    assert (plan.clinic.phone, plan.clinic.email) == (clinic.phone, clinic.email)


@PROPERTIES
@given(cases())
def test_deeper_needles_never_shorten_a_restriction(case):
    treatment, clinic = case
    deeper = replace(treatment, depth_mm=min(treatment.depth_mm + Decimal("0.1"), MAX_DEPTH))
    assert_no_restriction_shorter(plan_for(treatment, clinic), plan_for(deeper, clinic))


@PROPERTIES
@given(cases())
def test_more_passes_never_shorten_a_restriction(case):
    treatment, clinic = case
    more = replace(treatment, passes=min(treatment.passes + 1, MAX_PASSES))
    assert_no_restriction_shorter(plan_for(treatment, clinic), plan_for(more, clinic))


def assert_no_restriction_shorter(before: Plan, after: Plan) -> None:
    assert [r.key for r in before.restrictions] == [r.key for r in after.restrictions]
    for shorter, longer in zip(before.restrictions, after.restrictions, strict=True):
        assert longer.hours >= shorter.hours
        assert longer.ends_at.astimezone(UTC) >= shorter.ends_at.astimezone(UTC)


@PROPERTIES
@given(cases())
def test_no_reminder_goes_out_before_the_treatment(case):
    treatment, clinic = case
    plan = plan_for(treatment, clinic)
    performed = treatment.performed_at.astimezone(UTC)
    assert all(reminder.send_at.astimezone(UTC) >= performed for reminder in plan.reminders)


@PROPERTIES
@given(cases())
def test_reminders_go_out_in_local_daytime(case):
    treatment, clinic = case
    zone = ZoneInfo(clinic.timezone)
    for reminder in plan_for(treatment, clinic).reminders:
        local = reminder.send_at.astimezone(zone)
        assert DAYTIME_START_HOUR <= local.hour < DAYTIME_END_HOUR


@PROPERTIES
@given(cases())
def test_at_most_one_reminder_per_local_day(case):
    treatment, clinic = case
    zone = ZoneInfo(clinic.timezone)
    days = [r.send_at.astimezone(zone).date() for r in plan_for(treatment, clinic).reminders]
    assert len(days) == len(set(days))


@PROPERTIES
@given(cases(), st.randoms(use_true_random=False))
def test_plans_do_not_depend_on_the_order_of_the_guidance_rows(case, random):
    # The clinic's guidance rows come from the database in no particular order.
    shuffled = Guidance(
        **{
            field.name: tuple(random.sample(rows, len(rows)))
            for field in fields(Guidance)
            for rows in [getattr(DEFAULT_GUIDANCE, field.name)]
        }
    )
    assert build_plan(*case, shuffled) == plan_for(*case)


@PROPERTIES
@given(cases(), st.integers(1, 6))
def test_only_darker_skin_types_get_the_hyperpigmentation_item(case, skin_type):
    treatment, clinic = case
    plan = plan_for(replace(treatment, skin_type=skin_type), clinic)
    assert (DARKER_SKIN_SUN in item_keys(plan)) == (skin_type >= 4)
    if skin_type >= 4:
        item = next(item for item in plan.items if item.key == DARKER_SKIN_SUN)
        assert "sun" in item.title.lower()
        assert "dark patches" in item.body_md


@PROPERTIES
@given(cases(), st.sampled_from(sorted(DELICATE_AREAS)))
def test_a_delicate_area_adds_a_swelling_and_bruising_item(case, area):
    treatment, clinic = case
    plan = plan_for(replace(treatment, areas=treatment.areas | {area}), clinic)
    # Around the eyes it is the eyes' own item (puffy mornings); elsewhere the general one.
    key = "eyes-puffy-mornings" if area == "periorbital" else DELICATE_SWELLING
    item = next(item for item in plan.items if item.key == key)
    assert "swell" in item.body_md
    assert "bruise" in item.body_md


@PROPERTIES
@given(cases())
def test_only_a_treatment_around_the_eyes_reads_about_puffy_eyes(case):
    treatment, clinic = case
    plan = plan_for(treatment, clinic)
    mentions = [item.key for item in plan.items if "eye" in (item.title + item.body_md).lower()]
    if "periorbital" in treatment.areas:
        assert "eyes-puffy-mornings" in mentions
    else:
        assert mentions == []


@PROPERTIES
@given(cases())
def test_no_swelling_item_without_a_delicate_area(case):
    treatment, clinic = case
    others = treatment.areas - DELICATE_AREAS or frozenset({"cheeks"})
    assert DELICATE_SWELLING not in item_keys(plan_for(replace(treatment, areas=others), clinic))


@PROPERTIES
@given(cases())
def test_scalp_care_items_come_only_with_a_scalp_treatment(case):
    treatment, clinic = case
    with_scalp = plan_for(replace(treatment, areas=treatment.areas | {"scalp"}), clinic)
    others = treatment.areas - {"scalp"} or frozenset({"cheeks"})
    without_scalp = plan_for(replace(treatment, areas=others), clinic)
    assert {"X12"} <= set(with_scalp.fact_ids)
    assert [item.key for item in without_scalp.items if "X12" in item.fact_ids] == []


@PROPERTIES
@given(cases())
def test_breakout_prone_history_adds_the_breakout_item(case):
    treatment, clinic = case
    prone = replace(treatment, history=treatment.history | {"breakout_prone"})
    not_prone = replace(treatment, history=treatment.history - {"breakout_prone"})
    assert BREAKOUT in item_keys(plan_for(prone, clinic))
    assert BREAKOUT not in item_keys(plan_for(not_prone, clinic))


@PROPERTIES
@given(st.data())
def test_january_is_summer_in_sydney_and_winter_in_london(data):
    day = data.draw(st.integers(1, 31))
    minute = data.draw(st.integers(0, 24 * 60 - 1))
    year = data.draw(st.sampled_from([2026, 2027, 2028]))
    for zone, season, item, other in (
        ("Australia/Sydney", "summer", SUMMER, WINTER),
        ("Europe/London", "winter", WINTER, SUMMER),
    ):
        clinic = located(data.draw(clinics()), zone)
        local = datetime(year, 1, day, tzinfo=ZoneInfo(zone)) + timedelta(minutes=minute)
        treatment = replace(data.draw(treatments(zone)), performed_at=local)
        # Seasonal skincare is for skin that takes creams (not a scalp alone).
        treatment = replace(treatment, areas=treatment.areas | {"cheeks"})
        plan = plan_for(treatment, clinic)
        assert plan.season == season
        assert item in item_keys(plan)
        assert other not in item_keys(plan)


def _more(treatment: TreatmentFacts, factor: str) -> TreatmentFacts:
    """The treatment with one factor raised (or the same, when it is at its top)."""
    if factor == "depth":
        return replace(treatment, depth_mm=min(treatment.depth_mm + Decimal("0.5"), Decimal(3)))
    if factor == "passes":
        return replace(treatment, passes=min(treatment.passes + 2, 10))
    if factor == "areas":
        missing = sorted(set(AREAS) - treatment.areas)
        return replace(treatment, areas=treatment.areas | set(missing[:1]))
    if factor == "rf":
        return replace(treatment, device="rf")
    return replace(treatment, history=treatment.history | {factor})


@PROPERTIES
@given(
    cases(),
    st.sampled_from(["depth", "passes", "areas", "rf", "slow_healing", "sensitive_skin"]),
)
def test_more_of_any_factor_never_shortens_or_drops_a_restriction(case, factor):
    treatment, clinic = case
    before = {r.key: r.hours for r in plan_for(treatment, clinic).restrictions}
    after = {r.key: r.hours for r in plan_for(_more(treatment, factor), clinic).restrictions}
    assert set(before) <= set(after)
    assert all(after[key] >= hours for key, hours in before.items())


@PROPERTIES
@given(cases(), st.sampled_from(["slow_healing", "sensitive_skin"]))
def test_slow_healing_and_sensitive_skin_lengthen_the_growing_restrictions(case, flag):
    treatment, clinic = case
    without = replace(treatment, history=treatment.history - {flag})
    before = {r.key: r.hours for r in plan_for(without, clinic).restrictions}
    after = {r.key: r.hours for r in plan_for(_more(without, flag), clinic).restrictions}
    for key in ("exercise", "sun", "hot_water_steam"):
        assert after[key] > before[key]
