"""Hypothesis strategies for the planner's property tests: clinics, treatments, moments.

Shared by the tests that run the planner over the shipped guidance. A clinic gets the
hemisphere and climate its time zone gives it (`clinic.zones`), as a new clinic would.
Treatment times come from anywhere in 2026-2028, with extra weight on the hours around
midnight and on the days around each DST change of the zone, where day numbers and
"N hours later" part ways.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from aftercare.planner.inputs import AREAS, DEVICES, HISTORY_FLAGS, ClinicFacts, TreatmentFacts
from clinic.zones import climate_for_timezone, hemisphere_for_timezone

ZONES = (
    "Europe/London",
    "Australia/Sydney",
    "America/New_York",
    "Pacific/Auckland",
    "Asia/Kolkata",
    # Between the tropics: the season is "tropical" all year.
    "Asia/Singapore",
    "America/Bogota",
)
FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2028, 12, 31)
MAX_DEPTH = Decimal("3.0")
MAX_PASSES = 10
MAX_AREAS = 6
# Local wall times where a day boundary sits close to the treatment.
EDGE_MINUTES = (0, 1, 30, 19 * 60 + 30, 22 * 60, 23 * 60 + 30, 23 * 60 + 59)
# How far before a DST change a treatment may be, so the change falls inside its first weeks.
DAYS_BEFORE_DST_CHANGE = 15


def located(clinic: ClinicFacts, zone: str) -> ClinicFacts:
    """The clinic in `zone`, with the hemisphere and climate that zone gives it."""
    return replace(
        clinic,
        timezone=zone,
        hemisphere=hemisphere_for_timezone(zone),
        climate=climate_for_timezone(zone),
    )


@st.composite
def clinics(draw, zones: tuple[str, ...] = ZONES) -> ClinicFacts:
    clinic = ClinicFacts(
        name="Harbour Lane Skin Clinic",
        phone=draw(st.sampled_from(["+44 20 7946 0000", "+61 2 9876 5432", "+1 212 555 0100"])),
        email=draw(st.sampled_from(["hello@harbourlane.example", "care@glow.example"])),
        timezone="UTC",
        reminder_hour=draw(st.sampled_from([9, 9, 8, 10, 18])),
    )
    return located(clinic, draw(st.sampled_from(zones)))


@functools.cache
def dst_change_days(zone: str) -> tuple[date, ...]:
    """Local days in 2026-2028 on which the zone's UTC offset changes (none in the tropics)."""
    tz = ZoneInfo(zone)
    changes = []
    day = FIRST_DAY
    offset = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
    while day < LAST_DAY:
        day += timedelta(days=1)
        next_offset = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
        if next_offset != offset:
            # The change happens in the small hours of `day`.
            changes.append(day)
        offset = next_offset
    return tuple(changes)


@st.composite
def treatment_days(draw, zone: str) -> date:
    changes = dst_change_days(zone)
    if changes and draw(st.booleans()):
        change = draw(st.sampled_from(changes))
        return change - timedelta(days=draw(st.integers(0, DAYS_BEFORE_DST_CHANGE)))
    return FIRST_DAY + timedelta(days=draw(st.integers(0, (LAST_DAY - FIRST_DAY).days)))


@st.composite
def performed_ats(draw, zone: str) -> datetime:
    """An aware local time in `zone`; a wall time skipped by DST moves on to a real one."""
    day = draw(treatment_days(zone))
    minute = draw(st.integers(0, 24 * 60 - 1) | st.sampled_from(EDGE_MINUTES))
    tz = ZoneInfo(zone)
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return wall.astimezone(UTC).astimezone(tz)


depths = st.integers(1, 30).map(lambda tenths: Decimal(tenths) / 10) | st.integers(1, 12).map(
    lambda quarters: Decimal(quarters) / 4
)


@st.composite
def treatments(draw, zone: str) -> TreatmentFacts:
    return TreatmentFacts(
        performed_at=draw(performed_ats(zone)),
        depth_mm=draw(depths),
        passes=draw(st.integers(1, MAX_PASSES)),
        areas=frozenset(draw(st.sets(st.sampled_from(AREAS), min_size=1, max_size=MAX_AREAS))),
        device=draw(st.sampled_from(DEVICES)),
        skin_type=draw(st.none() | st.integers(1, 6)),
        age_years=draw(st.none() | st.integers(16, 90)),
        history=frozenset(draw(st.sets(st.sampled_from(HISTORY_FLAGS)))),
    )


@st.composite
def cases(draw) -> tuple[TreatmentFacts, ClinicFacts]:
    clinic = draw(clinics())
    return draw(treatments(clinic.timezone)), clinic
