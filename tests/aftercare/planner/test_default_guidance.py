"""Checks on the default clinical content (no Django, no database)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import (
    AREAS,
    DEVICES,
    HISTORY_FLAGS,
    INTENSITY_FACTORS,
    INTENSITY_RANKS,
    ITEM_KINDS,
    SEASONS,
    Conditions,
)

SHARED = Path(__file__).resolve().parents[4] / "shared"
# The articles' facts and the clinics' practice facts (X1-X12): the guidance carries both.
FACTS_FILES = (SHARED / "CLINICAL_FACTS.md", SHARED / "PRACTICE_FACTS.md")
FACT_ROW = re.compile(r"^\|\s*([A-Z]+\d+)\s*\|")

REQUIRED_RESTRICTIONS = {
    "makeup",
    "exercise",
    "actives",
    "vitamin_c",
    "sun",
    "anti_inflammatories",
    "ice_arnica_bromelain",
    "hot_water_steam",
    "swimming",
    "hair_removal",
    "other_treatments",
}
BRAND_NAMES = ("notoxx", "vivace", "tylenol", "prp", "platelet")


def _fact_ids_in(path: Path) -> set[str]:
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{path} is missing: CI checks the guidance against it")
        pytest.skip(f"{path} is not available (the shared folder beside the repository)")
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        match = FACT_ROW.match(line)
        if match:
            ids.add(match.group(1))
    return ids


def _known_fact_ids() -> set[str]:
    return set().union(*(_fact_ids_in(path) for path in FACTS_FILES))


def _entries():
    g = DEFAULT_GUIDANCE
    return (*g.phases, *g.items, *g.restrictions, *g.reminders)


def _used_fact_ids() -> set[str]:
    return {fact_id for entry in _entries() for fact_id in entry.fact_ids}


def _texts():
    """(where, text) for every patient-facing string."""
    g = DEFAULT_GUIDANCE
    for p in g.phases:
        yield f"phase {p.key} name", p.name
        yield f"phase {p.key} summary", p.summary_md
    for i in g.items:
        yield f"item {i.key} title", i.title
        yield f"item {i.key} body", i.body_md
    for r in g.restrictions:
        yield f"restriction {r.key} label", r.label
        yield f"restriction {r.key} body", r.body_md
    for m in g.reminders:
        yield f"reminder {m.key} label", m.label
        yield f"reminder {m.key} summary", m.summary_md
    for level in g.intensity_levels:
        yield f"intensity level {level.rank} label", level.label


def test_facts_file_lists_fact_ids():
    assert len(_fact_ids_in(FACTS_FILES[0])) > 30


def test_practice_facts_file_lists_x1_to_x12():
    assert _fact_ids_in(FACTS_FILES[1]) == {f"X{n}" for n in range(1, 13)}


def test_every_fact_in_the_facts_file_is_used():
    missing = _known_fact_ids() - _used_fact_ids()
    assert not missing, f"facts not used by any entry: {sorted(missing)}"


def test_every_fact_id_used_exists_in_the_facts_file():
    unknown = _used_fact_ids() - _known_fact_ids()
    assert not unknown, f"unknown fact ids: {sorted(unknown)}"


def test_every_entry_names_at_least_one_fact():
    assert [e.key for e in _entries() if not e.fact_ids] == []


@pytest.mark.parametrize("collection", ["phases", "items", "restrictions", "reminders"])
def test_keys_are_unique_within_each_collection(collection):
    keys = [entry.key for entry in getattr(DEFAULT_GUIDANCE, collection)]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates


def test_keys_are_slugs():
    slug = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
    assert [e.key for e in _entries() if not slug.match(e.key)] == []


def test_restriction_hours_never_decrease_with_intensity():
    for r in DEFAULT_GUIDANCE.restrictions:
        assert 0 < r.hours_light <= r.hours_moderate <= r.hours_intense, r.key


def test_every_required_restriction_exists():
    keys = {r.key for r in DEFAULT_GUIDANCE.restrictions}
    assert keys >= REQUIRED_RESTRICTIONS


def test_makeup_exercise_and_sun_restrictions_come_first():
    ordered = sorted(DEFAULT_GUIDANCE.restrictions, key=lambda r: r.order)
    assert [r.key for r in ordered[:3]] == ["makeup", "exercise", "sun"]


def test_item_kinds_are_known():
    assert {i.kind for i in DEFAULT_GUIDANCE.items} <= set(ITEM_KINDS)


def test_conditions_only_use_known_values():
    for item in DEFAULT_GUIDANCE.items:
        c = item.conditions
        assert c.areas <= set(AREAS), item.key
        assert c.devices <= set(DEVICES), item.key
        assert c.history <= set(HISTORY_FLAGS), item.key
        assert c.seasons <= set(SEASONS), item.key
        assert c.skin_types <= set(range(1, 7)), item.key
        assert c.min_intensity in (None, *INTENSITY_RANKS), item.key


def test_item_and_phase_windows_are_valid():
    g = DEFAULT_GUIDANCE
    for entry in (*g.phases, *g.items):
        start, end = entry.starts_after_hours, entry.ends_after_hours
        assert isinstance(start, int) and start >= 0, entry.key
        assert end is None or (isinstance(end, int) and end > start), entry.key


def test_phases_follow_each_other_and_the_last_is_open_ended():
    phases = DEFAULT_GUIDANCE.phases
    assert phases[0].starts_after_hours == 0
    for earlier, later in zip(phases, phases[1:], strict=False):
        assert earlier.ends_after_hours == later.starts_after_hours
    assert phases[-1].ends_after_hours is None


def test_no_text_is_empty():
    assert [where for where, text in _texts() if not text.strip()] == []


def test_no_text_contains_raw_html():
    assert [where for where, text in _texts() if "<" in text or ">" in text] == []


def test_no_text_names_a_brand_or_upsell():
    offending = [
        where
        for where, text in _texts()
        for brand in BRAND_NAMES
        if re.search(rf"\b{brand}\b", text, re.IGNORECASE)
    ]
    assert offending == []


def test_unconditional_warnings_cover_w1_to_w4():
    warnings = [
        i
        for i in DEFAULT_GUIDANCE.items
        if i.kind == "warning" and i.conditions == Conditions() and i.ends_after_hours is None
    ]
    covered = {fact_id for w in warnings for fact_id in w.fact_ids}
    assert {"W2", "W3", "W4", "X1", "X3"} <= covered


def test_the_lasting_redness_warning_starts_when_redness_stops_being_normal():
    # W1: redness or swelling beyond 72 h; before then it is what the plan calls normal.
    (lasting,) = [i for i in DEFAULT_GUIDANCE.items if i.kind == "warning" and "W1" in i.fact_ids]
    assert lasting.starts_after_hours == 72
    assert lasting.conditions == Conditions()


def test_the_cold_sore_warning_is_for_treatments_of_the_face():
    (cold_sores,) = [
        i for i in DEFAULT_GUIDANCE.items if i.kind == "warning" and "X2" in i.fact_ids
    ]
    assert "perioral" in cold_sores.conditions.areas


def test_warnings_say_whom_to_contact():
    warnings = [i for i in DEFAULT_GUIDANCE.items if i.kind == "warning"]
    assert warnings
    assert [
        w.key
        for w in warnings
        if "contact your clinic" not in w.body_md.lower()
        and "emergency number" not in w.body_md.lower()
    ] == []


def test_a_severe_allergic_reaction_goes_to_the_emergency_number_not_the_clinic():
    severe = [i for i in DEFAULT_GUIDANCE.items if "X1" in i.fact_ids]
    assert [i.kind for i in severe] == ["warning"]
    body = severe[0].body_md.lower()
    assert "emergency number" in body
    assert "contact your clinic" not in body


def test_no_sunscreen_is_suggested_before_the_second_day():
    # An item shown in the first 24 hours may name sunscreen only to say it starts later.
    later = ("a day after", "once you start", "from the second day")
    early = [
        i.key
        for i in DEFAULT_GUIDANCE.items
        if i.starts_after_hours < 24
        and i.after_restriction == ""
        and re.search(r"\b(spf|sunscreen)\b", i.body_md, re.IGNORECASE)
        and not any(phrase in i.body_md.lower() for phrase in later)
    ]
    assert early == []


def test_scalp_items_only_apply_to_scalp_treatments():
    scalp_items = [i for i in DEFAULT_GUIDANCE.items if "X12" in i.fact_ids]
    assert scalp_items
    assert all(i.conditions.areas == frozenset({"scalp"}) for i in scalp_items)


def test_reminders_have_distinct_increasing_offsets_starting_now():
    offsets = [m.offset_days for m in DEFAULT_GUIDANCE.reminders]
    assert offsets[0] == 0
    assert offsets == sorted(set(offsets))


def test_intensity_factors_use_known_factors_and_values():
    for f in DEFAULT_GUIDANCE.intensity_factors:
        assert f.factor in INTENSITY_FACTORS
        if f.factor == "area":
            assert f.value in AREAS
        if f.factor == "device":
            assert f.value in DEVICES


def test_intensity_levels_cover_every_rank_with_rising_scores_and_downtime():
    levels = sorted(DEFAULT_GUIDANCE.intensity_levels, key=lambda level: level.rank)
    assert tuple(level.rank for level in levels) == INTENSITY_RANKS
    assert levels[0].min_score == 0
    for lower, higher in zip(levels, levels[1:], strict=False):
        assert lower.min_score < higher.min_score
        assert lower.downtime_hours <= higher.downtime_hours
