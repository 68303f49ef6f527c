"""The aftercare planner: treatment facts and guidance in, a dated plan out.

Pure and deterministic: no ORM, no clock. Every datetime in a `Plan` is aware and in the
clinic's zone. "N hours later" is worked out in UTC so a DST change never stretches or
shrinks it, while calendar things (days, reminder hours) are built as local wall times.

Datetimes in one ZoneInfo compare by wall time and ignore `fold`, which gets the repeated
hour of an autumn DST change wrong, so every comparison here goes through `_utc`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aftercare.planner.inputs import (
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
from aftercare.planner.seasons import season_for

DAILY_DAYS = 14
DAYTIME_START_HOUR = 8
DAYTIME_END_HOUR = 21
PLAN_FORMAT = 1

DEFAULT_INTENSITY_LABEL = "Light"
DEFAULT_DOWNTIME_HOURS = 24

_THRESHOLD_FACTORS = ("depth", "passes", "area_count")


@dataclass(frozen=True)
class Intensity:
    score: int
    rank: int
    label: str
    downtime_hours: int


@dataclass(frozen=True)
class PlannedPhase:
    key: str
    name: str
    summary_md: str
    starts_at: datetime
    ends_at: datetime | None
    fact_ids: tuple[str, ...]


@dataclass(frozen=True)
class PlannedItem:
    key: str
    kind: str
    title: str
    body_md: str
    starts_at: datetime
    ends_at: datetime | None
    fact_ids: tuple[str, ...]
    # Set when the item's hours count from the end of this restriction (see GuidanceItem).
    after_restriction: str = ""


@dataclass(frozen=True)
class PlannedRestriction:
    key: str
    label: str
    body_md: str
    hours: int
    ends_at: datetime
    fact_ids: tuple[str, ...]
    # What the guidance said, when a practitioner changed `hours` for this patient.
    guidance_hours: int | None = None

    @property
    def is_adjusted(self) -> bool:
        return self.guidance_hours is not None and self.guidance_hours != self.hours

    @property
    def hours_by_guidance(self) -> int:
        return self.hours if self.guidance_hours is None else self.guidance_hours


@dataclass(frozen=True)
class CourseStep:
    """Where this visit sits in a course of sessions, and when the next one is due."""

    session: int
    sessions: int
    next_window_opens: date | None = None  # local dates in the clinic's zone
    next_window_closes: date | None = None


@dataclass(frozen=True)
class PlannedDay:
    number: int
    date: date
    phase_key: str
    item_keys: tuple[str, ...]
    restriction_keys_ending: tuple[str, ...]


@dataclass(frozen=True)
class PlannedReminder:
    key: str
    label: str
    summary_md: str
    day_number: int
    send_at: datetime
    fact_ids: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    performed_at: datetime
    timezone: str
    season: str
    intensity: Intensity
    clinic: ClinicFacts
    phases: tuple[PlannedPhase, ...]
    items: tuple[PlannedItem, ...]
    warnings: tuple[PlannedItem, ...]
    restrictions: tuple[PlannedRestriction, ...]
    days: tuple[PlannedDay, ...]
    reminders: tuple[PlannedReminder, ...]
    fact_ids: tuple[str, ...]
    note: str = ""  # the practitioner's personal note for this patient
    course: CourseStep | None = None

    def items_active_at(self, moment: datetime) -> tuple[PlannedItem, ...]:
        return tuple(item for item in self.items if _contains(item.starts_at, item.ends_at, moment))

    def warnings_active_at(self, moment: datetime) -> tuple[PlannedItem, ...]:
        """The warning signs that apply at `moment`: one that starts later (redness still
        there after three days) would contradict what the plan calls normal before then."""
        return tuple(w for w in self.warnings if _contains(w.starts_at, w.ends_at, moment))

    def warnings_on_day_of(self, moment: datetime) -> tuple[PlannedItem, ...]:
        """The warning signs that apply at some point from `moment` to the end of its local
        day: for an email, read that day (the day-3 email goes out before hour 72)."""
        tz = ZoneInfo(self.timezone)
        local = _utc(moment).astimezone(tz)
        day_end = _wall_time(local.date() + timedelta(days=1), 0, tz)
        return tuple(w for w in self.warnings if _overlaps(w.starts_at, w.ends_at, moment, day_end))

    def phase_at(self, moment: datetime) -> PlannedPhase | None:
        return _phase_at(self.phases, moment)

    def day_number_at(self, moment: datetime) -> int:
        """Local calendar days since the treatment day (0 on the day itself)."""
        _require_aware(moment, "moment")
        local = _utc(moment).astimezone(ZoneInfo(self.timezone))
        return (local.date() - self.performed_at.date()).days

    def restrictions_active_at(self, moment: datetime) -> tuple[PlannedRestriction, ...]:
        return tuple(
            restriction
            for restriction in self.restrictions
            if _contains(self.performed_at, restriction.ends_at, moment)
        )


def score_intensity(
    treatment: TreatmentFacts,
    factors: Sequence[IntensityFactor],
    levels: Sequence[IntensityLevel],
) -> Intensity:
    measured = {
        "depth": Decimal(treatment.depth_mm),
        "passes": Decimal(treatment.passes),
        "area_count": Decimal(len(treatment.areas)),
    }
    score = 0
    for name in _THRESHOLD_FACTORS:
        score += max(
            (f.points for f in factors if f.factor == name and f.threshold <= measured[name]),
            default=0,
        )
    score += sum(f.points for f in factors if f.factor == "area" and f.value in treatment.areas)
    score += sum(f.points for f in factors if f.factor == "device" and f.value == treatment.device)
    score += sum(
        f.points for f in factors if f.factor == "history" and f.value in treatment.history
    )

    if not levels:
        return Intensity(score, 1, DEFAULT_INTENSITY_LABEL, DEFAULT_DOWNTIME_HOURS)
    ordered = sorted(levels, key=lambda level: (level.rank, level.min_score, level.label))
    reached = [level for level in ordered if level.min_score <= score]
    # max() keeps the first of equal ranks, so ties resolve the same way every time.
    chosen = max(reached, key=lambda level: level.rank) if reached else ordered[0]
    downtime = max(level.downtime_hours for level in ordered if level.rank <= chosen.rank)
    return Intensity(score, chosen.rank, chosen.label, downtime)


def build_plan(treatment: TreatmentFacts, clinic: ClinicFacts, guidance: Guidance) -> Plan:
    _require_aware(treatment.performed_at, "treatment.performed_at")
    tz = ZoneInfo(clinic.timezone)
    performed_at = _utc(treatment.performed_at).astimezone(tz)
    intensity = score_intensity(treatment, guidance.intensity_factors, guidance.intensity_levels)
    season = season_for(performed_at.date(), clinic.hemisphere, clinic.climate)

    phases = tuple(
        _plan_phase(phase, performed_at)
        for phase in sorted(guidance.phases, key=lambda phase: phase.starts_after_hours)
    )
    restrictions = tuple(
        _plan_restriction(restriction, intensity, guidance.intensity_levels, performed_at)
        for restriction in sorted(guidance.restrictions, key=lambda r: (r.order, r.key))
        if not restriction.areas or not restriction.areas.isdisjoint(treatment.areas)
    )
    ends = {restriction.key: restriction.ends_at for restriction in restrictions}
    matching = [
        item
        for item in guidance.items
        if applies(item.conditions, treatment, intensity.rank, season)
    ]
    dated = [
        (_plan_item(item, ends.get(item.after_restriction, performed_at)), item)
        for item in matching
    ]
    dated.sort(key=lambda pair: (_utc(pair[0].starts_at), pair[1].order, pair[1].key))
    items = tuple(planned for planned, _ in dated)
    reminders = _plan_reminders(guidance.reminders, intensity.rank, performed_at, tz, clinic)

    return Plan(
        performed_at=performed_at,
        timezone=clinic.timezone,
        season=season,
        intensity=intensity,
        clinic=clinic,
        phases=phases,
        items=items,
        warnings=tuple(item for item in items if item.kind == "warning"),
        restrictions=restrictions,
        days=_plan_days(performed_at, tz, phases, items, restrictions),
        reminders=reminders,
        fact_ids=_union_fact_ids((*phases, *items, *restrictions, *reminders)),
    )


def applies(conditions: Conditions, treatment: TreatmentFacts, rank: int, season: str) -> bool:
    """Whether guidance with these conditions applies; every constraint that is set must hold."""
    c = conditions
    if c.min_age is None and c.max_age is None:
        age_fits = True
    elif treatment.age_years is None:
        age_fits = False
    else:
        age_fits = _within(treatment.age_years, c.min_age, c.max_age)
    return (
        _within(treatment.depth_mm, c.min_depth_mm, c.max_depth_mm)
        and _within(treatment.passes, c.min_passes, c.max_passes)
        and (c.min_intensity is None or rank >= c.min_intensity)
        and (not c.areas or not c.areas.isdisjoint(treatment.areas))
        and (not c.devices or treatment.device in c.devices)
        and (not c.skin_types or treatment.skin_type in c.skin_types)
        and age_fits
        and (not c.history or not c.history.isdisjoint(treatment.history))
        and (not c.seasons or season in c.seasons)
    )


def restriction_hours(
    restriction: Restriction, intensity: Intensity, levels: Sequence[IntensityLevel] = ()
) -> int:
    """How long the restriction lasts after a treatment of this intensity.

    Each level reached gives its tier's hours plus `hours_per_point` for every point
    scored above that level's minimum; the longest counts. Taking the longest keeps the
    duration from ever falling as the score rises, also where a new level starts with a
    tier shorter than the growth of the level below.
    """
    tiers = (restriction.hours_light, restriction.hours_moderate, restriction.hours_intense)
    rank = min(max(intensity.rank, 1), len(tiers))
    hours = max(tiers[:rank])
    for level in levels:
        if level.rank <= intensity.rank and level.min_score <= intensity.score:
            tier = max(tiers[: min(max(level.rank, 1), len(tiers))])
            extra = restriction.hours_per_point * (intensity.score - level.min_score)
            hours = max(hours, tier + extra)
    return hours


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "performed_at": plan.performed_at.isoformat(),
        "timezone": plan.timezone,
        "season": plan.season,
        "intensity": {
            "score": plan.intensity.score,
            "rank": plan.intensity.rank,
            "label": plan.intensity.label,
            "downtime_hours": plan.intensity.downtime_hours,
        },
        "clinic": {
            "name": plan.clinic.name,
            "phone": plan.clinic.phone,
            "email": plan.clinic.email,
            "timezone": plan.clinic.timezone,
            "hemisphere": plan.clinic.hemisphere,
            "climate": plan.clinic.climate,
            "reminder_hour": plan.clinic.reminder_hour,
        },
        "phases": [
            {
                "key": phase.key,
                "name": phase.name,
                "summary_md": phase.summary_md,
                "starts_at": phase.starts_at.isoformat(),
                "ends_at": _iso_or_none(phase.ends_at),
                "fact_ids": list(phase.fact_ids),
            }
            for phase in plan.phases
        ],
        "items": [_item_to_dict(item) for item in plan.items],
        "warnings": [_item_to_dict(item) for item in plan.warnings],
        "restrictions": [
            {
                "key": restriction.key,
                "label": restriction.label,
                "body_md": restriction.body_md,
                "hours": restriction.hours,
                "ends_at": restriction.ends_at.isoformat(),
                "fact_ids": list(restriction.fact_ids),
                "guidance_hours": restriction.guidance_hours,
            }
            for restriction in plan.restrictions
        ],
        "days": [
            {
                "number": day.number,
                "date": day.date.isoformat(),
                "phase_key": day.phase_key,
                "item_keys": list(day.item_keys),
                "restriction_keys_ending": list(day.restriction_keys_ending),
            }
            for day in plan.days
        ],
        "reminders": [
            {
                "key": reminder.key,
                "label": reminder.label,
                "summary_md": reminder.summary_md,
                "day_number": reminder.day_number,
                "send_at": reminder.send_at.isoformat(),
                "fact_ids": list(reminder.fact_ids),
            }
            for reminder in plan.reminders
        ],
        "fact_ids": list(plan.fact_ids),
        "note": plan.note,
        "course": _course_to_dict(plan.course),
    }


def plan_from_dict(data: dict[str, Any]) -> Plan:
    if data.get("format", PLAN_FORMAT) != PLAN_FORMAT:
        raise ValueError(f"unknown plan format {data.get('format')!r}")
    tz = ZoneInfo(data["timezone"])

    def moment(value: str) -> datetime:
        return _utc(datetime.fromisoformat(value)).astimezone(tz)

    def maybe_moment(value: str | None) -> datetime | None:
        return None if value is None else moment(value)

    def item(row: dict[str, Any]) -> PlannedItem:
        return PlannedItem(
            key=row["key"],
            kind=row["kind"],
            title=row["title"],
            body_md=row["body_md"],
            starts_at=moment(row["starts_at"]),
            ends_at=maybe_moment(row["ends_at"]),
            fact_ids=tuple(row["fact_ids"]),
            after_restriction=row.get("after_restriction", ""),
        )

    return Plan(
        performed_at=moment(data["performed_at"]),
        timezone=data["timezone"],
        season=data["season"],
        intensity=Intensity(**data["intensity"]),
        clinic=ClinicFacts(**data["clinic"]),
        phases=tuple(
            PlannedPhase(
                key=row["key"],
                name=row["name"],
                summary_md=row["summary_md"],
                starts_at=moment(row["starts_at"]),
                ends_at=maybe_moment(row["ends_at"]),
                fact_ids=tuple(row["fact_ids"]),
            )
            for row in data["phases"]
        ),
        items=tuple(item(row) for row in data["items"]),
        warnings=tuple(item(row) for row in data["warnings"]),
        restrictions=tuple(
            PlannedRestriction(
                key=row["key"],
                label=row["label"],
                body_md=row["body_md"],
                hours=row["hours"],
                ends_at=moment(row["ends_at"]),
                fact_ids=tuple(row["fact_ids"]),
                guidance_hours=row.get("guidance_hours"),
            )
            for row in data["restrictions"]
        ),
        days=tuple(
            PlannedDay(
                number=row["number"],
                date=date.fromisoformat(row["date"]),
                phase_key=row["phase_key"],
                item_keys=tuple(row["item_keys"]),
                restriction_keys_ending=tuple(row["restriction_keys_ending"]),
            )
            for row in data["days"]
        ),
        reminders=tuple(
            PlannedReminder(
                key=row["key"],
                label=row["label"],
                summary_md=row["summary_md"],
                day_number=row["day_number"],
                send_at=moment(row["send_at"]),
                fact_ids=tuple(row["fact_ids"]),
            )
            for row in data["reminders"]
        ),
        fact_ids=tuple(data["fact_ids"]),
        note=data.get("note", ""),
        course=_course_from_dict(data.get("course")),
    )


def hours_after(performed_at: datetime, hours: int) -> datetime:
    """`hours` real hours after `performed_at`, whatever DST does in between."""
    return _hours_after(performed_at, hours)


def reminder_send_at(plan: Plan, day_number: int) -> datetime:
    """When a reminder on day `day_number` of this plan goes out: the clinic's hour, local time."""
    tz = ZoneInfo(plan.timezone)
    if day_number <= 0:
        return _first_daytime_moment(plan.performed_at, _reminder_hour(plan.clinic), tz)
    day = plan.performed_at.date() + timedelta(days=day_number)
    return _wall_time(day, _reminder_hour(plan.clinic), tz)


def with_days_replanned(plan: Plan) -> Plan:
    """The plan with its day-by-day entries, warnings and fact ids worked out again.

    For code that changes a plan's restrictions, items or reminders after `build_plan`.
    """
    tz = ZoneInfo(plan.timezone)
    return replace(
        plan,
        warnings=tuple(item for item in plan.items if item.kind == "warning"),
        days=_plan_days(plan.performed_at, tz, plan.phases, plan.items, plan.restrictions),
        fact_ids=_union_fact_ids((*plan.phases, *plan.items, *plan.restrictions, *plan.reminders)),
    )


def utc(moment: datetime) -> datetime:
    return _utc(moment)


def _reminder_hour(clinic: ClinicFacts) -> int:
    return min(max(clinic.reminder_hour, DAYTIME_START_HOUR), DAYTIME_END_HOUR - 1)


def _course_to_dict(course: CourseStep | None) -> dict[str, Any] | None:
    if course is None:
        return None
    return {
        "session": course.session,
        "sessions": course.sessions,
        "next_window_opens": _date_or_none(course.next_window_opens),
        "next_window_closes": _date_or_none(course.next_window_closes),
    }


def _course_from_dict(data: dict[str, Any] | None) -> CourseStep | None:
    if data is None:
        return None
    return CourseStep(
        session=data["session"],
        sessions=data["sessions"],
        next_window_opens=_maybe_date(data["next_window_opens"]),
        next_window_closes=_maybe_date(data["next_window_closes"]),
    )


def _date_or_none(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _maybe_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _plan_phase(phase: Phase, performed_at: datetime) -> PlannedPhase:
    return PlannedPhase(
        key=phase.key,
        name=phase.name,
        summary_md=phase.summary_md,
        starts_at=_hours_after(performed_at, phase.starts_after_hours),
        ends_at=_maybe_hours_after(performed_at, phase.ends_after_hours),
        fact_ids=tuple(phase.fact_ids),
    )


def _plan_item(item: GuidanceItem, counted_from: datetime) -> PlannedItem:
    """The item dated; its hours count from `counted_from` (the treatment, or the end of
    the restriction it follows)."""
    return PlannedItem(
        key=item.key,
        kind=item.kind,
        title=item.title,
        body_md=item.body_md,
        starts_at=_hours_after(counted_from, item.starts_after_hours),
        ends_at=_maybe_hours_after(counted_from, item.ends_after_hours),
        fact_ids=tuple(item.fact_ids),
        after_restriction=item.after_restriction,
    )


def _plan_restriction(
    restriction: Restriction,
    intensity: Intensity,
    levels: Sequence[IntensityLevel],
    performed_at: datetime,
) -> PlannedRestriction:
    hours = restriction_hours(restriction, intensity, levels)
    return PlannedRestriction(
        key=restriction.key,
        label=restriction.label,
        body_md=restriction.body_md,
        hours=hours,
        ends_at=_hours_after(performed_at, hours),
        fact_ids=tuple(restriction.fact_ids),
    )


def _plan_days(
    performed_at: datetime,
    tz: ZoneInfo,
    phases: tuple[PlannedPhase, ...],
    items: tuple[PlannedItem, ...],
    restrictions: tuple[PlannedRestriction, ...],
) -> tuple[PlannedDay, ...]:
    first = performed_at.date()
    days = []
    for number in range(DAILY_DAYS + 1):
        day = first + timedelta(days=number)
        start = performed_at if number == 0 else _wall_time(day, 0, tz)
        end = _wall_time(day + timedelta(days=1), 0, tz)
        phase = _phase_at(phases, start)
        days.append(
            PlannedDay(
                number=number,
                date=day,
                phase_key=phase.key if phase else "",
                item_keys=tuple(
                    item.key
                    for item in items
                    if _overlaps(item.starts_at, item.ends_at, start, end)
                ),
                restriction_keys_ending=tuple(
                    restriction.key
                    for restriction in restrictions
                    if _utc(start) <= _utc(restriction.ends_at) < _utc(end)
                ),
            )
        )
    return tuple(days)


def _plan_reminders(
    moments: Iterable[ReminderMoment],
    rank: int,
    performed_at: datetime,
    tz: ZoneInfo,
    clinic: ClinicFacts,
) -> tuple[PlannedReminder, ...]:
    hour = _reminder_hour(clinic)
    reminders: dict[str, PlannedReminder] = {}
    for moment in moments:
        if moment.min_intensity > rank or moment.key in reminders:
            continue
        # A negative offset would send before the treatment; treat it as "right away".
        offset = max(moment.offset_days, 0)
        if offset == 0:
            send_at = _first_daytime_moment(performed_at, hour, tz)
        else:
            send_at = _wall_time(performed_at.date() + timedelta(days=offset), hour, tz)
        reminders[moment.key] = PlannedReminder(
            key=moment.key,
            label=moment.label,
            summary_md=moment.summary_md,
            day_number=offset,
            send_at=send_at,
            fact_ids=tuple(moment.fact_ids),
        )
    # At most one email a day: a day-0 email deferred to the next morning (treatment
    # after the daytime window) would otherwise go out beside the day-1 one.
    kept: dict[date, PlannedReminder] = {}
    for reminder in sorted(
        reminders.values(), key=lambda r: (_utc(r.send_at), r.day_number, r.key)
    ):
        kept.setdefault(reminder.send_at.date(), reminder)
    return tuple(kept.values())


def _first_daytime_moment(performed_at: datetime, hour: int, tz: ZoneInfo) -> datetime:
    if DAYTIME_START_HOUR <= performed_at.hour < DAYTIME_END_HOUR:
        return performed_at
    send_at = _wall_time(performed_at.date(), hour, tz)
    if _utc(send_at) <= _utc(performed_at):
        send_at = _wall_time(performed_at.date() + timedelta(days=1), hour, tz)
    return send_at


def _phase_at(phases: Iterable[PlannedPhase], moment: datetime) -> PlannedPhase | None:
    active = [phase for phase in phases if _contains(phase.starts_at, phase.ends_at, moment)]
    # max() keeps the first of phases that start together.
    return max(active, key=lambda phase: _utc(phase.starts_at), default=None)


def _contains(start: datetime, end: datetime | None, moment: datetime) -> bool:
    _require_aware(moment, "moment")
    at = _utc(moment)
    return _utc(start) <= at and (end is None or at < _utc(end))


def _overlaps(
    start: datetime, end: datetime | None, window_start: datetime, window_end: datetime
) -> bool:
    if end is not None and _utc(end) <= _utc(start):
        # An empty interval counts as the instant it starts at.
        return _utc(window_start) <= _utc(start) < _utc(window_end)
    return _utc(start) < _utc(window_end) and (end is None or _utc(end) > _utc(window_start))


def _hours_after(performed_at: datetime, hours: int) -> datetime:
    return (_utc(performed_at) + timedelta(hours=hours)).astimezone(performed_at.tzinfo)


def _maybe_hours_after(performed_at: datetime, hours: int | None) -> datetime | None:
    return None if hours is None else _hours_after(performed_at, hours)


def _wall_time(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """`hour`:00 on `day`; a wall time skipped by DST moves forward, a repeated one is the first."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC).astimezone(tz)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _within(value: Decimal | int, low: Decimal | int | None, high: Decimal | int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _item_to_dict(item: PlannedItem) -> dict[str, Any]:
    return {
        "key": item.key,
        "kind": item.kind,
        "title": item.title,
        "body_md": item.body_md,
        "starts_at": item.starts_at.isoformat(),
        "ends_at": _iso_or_none(item.ends_at),
        "fact_ids": list(item.fact_ids),
        "after_restriction": item.after_restriction,
    }


def _union_fact_ids(
    parts: Iterable[PlannedPhase | PlannedItem | PlannedRestriction | PlannedReminder],
) -> tuple[str, ...]:
    return tuple(sorted({fact_id for part in parts for fact_id in part.fact_ids}))


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
