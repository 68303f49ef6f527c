"""Shape a stored plan for the templates that show it (staff page, print sheet, previews,
the patient's Today and Timeline pages)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aftercare.planner.planning import (
    Plan,
    PlannedDay,
    PlannedItem,
    PlannedPhase,
    PlannedRestriction,
    hours_after,
)
from aftercare.planner.today import day_label

KIND_HEADINGS = {
    "expect": "What to expect",
    "do": "What to do",
    "avoid": "What to avoid",
    "product": "Products that help",
}
# The word in front of a point on Today, where kinds are mixed in one list.
KIND_TAGS = {"expect": "Expect", "do": "Do", "avoid": "Avoid", "product": "Use"}

# What the start of a phase of the shipped guidance means to a patient. A phase a clinic
# adds gets "<its name> begins".
PHASE_MILESTONES = {
    "proliferation": "Flaking may start",
    "remodelling": "New collagen starts to firm up",
}
REDNESS_MILESTONE = "Most redness gone"
BOOKING_MILESTONE = "Time to book your next session"
# The guidance's reminder moment about booking the next session (default_guidance.py):
# without a course it is the only date the plan has for that.
REBOOKING_REMINDER = "rebooking"


@dataclass(frozen=True)
class DayView:
    day: PlannedDay
    phase: PlannedPhase | None
    items: tuple[PlannedItem, ...]  # everything that applies that day
    new_items: tuple[PlannedItem, ...]  # what starts that day
    restrictions_ending: tuple[PlannedRestriction, ...]

    @property
    def label(self) -> str:
        return day_label(self.day.number)

    @property
    def entries(self) -> tuple[tuple[PlannedItem, bool], ...]:
        """Each item of the day with whether it starts that day, the new ones first."""
        new = {item.key for item in self.new_items}
        ordered = sorted(self.items, key=lambda item: item.key not in new)  # stable
        return tuple((item, item.key in new) for item in ordered)


@dataclass(frozen=True)
class SheetLine:
    item: PlannedItem
    when: str  # "day 0", "days 1–3", "from day 3"


@dataclass(frozen=True)
class MilestoneDay:
    """What happens on one local day of the plan, in the patient's words."""

    day_number: int
    date: date
    titles: tuple[str, ...]

    @property
    def label(self) -> str:
        return day_label(self.day_number)


def sheet_sections(plan: Plan) -> list[tuple[str, list[SheetLine]]]:
    """Each non-warning item once, grouped by kind, with the days it covers."""
    sections = []
    for kind, heading in KIND_HEADINGS.items():
        lines = [
            SheetLine(item=item, when=_days_label(plan, item))
            for item in plan.items
            if item.kind == kind
        ]
        if lines:
            sections.append((heading, lines))
    return sections


def grouped_by_kind(items: Iterable[PlannedItem]) -> list[tuple[str, list[PlannedItem]]]:
    """(heading, items) for each kind that has items, in KIND_HEADINGS order."""
    listed = list(items)
    groups = [
        (heading, [item for item in listed if item.kind == kind])
        for kind, heading in KIND_HEADINGS.items()
    ]
    return [(heading, group) for heading, group in groups if group]


def plan_milestones(plan: Plan) -> tuple[MilestoneDay, ...]:
    """The moments that change things, by local day: redness mostly gone (the plan's
    expected downtime), each later phase beginning, each restriction ending, and the
    window for the next session. Worked out from the plan, never from email subjects."""
    tz = ZoneInfo(plan.timezone)
    moments: list[tuple[datetime, str]] = [
        (hours_after(plan.performed_at, plan.intensity.downtime_hours), REDNESS_MILESTONE)
    ]
    moments += [
        (phase.starts_at, PHASE_MILESTONES.get(phase.key, f"{phase.name} begins"))
        for phase in plan.phases[1:]
    ]
    moments += [(r.ends_at, f"{r.label}: OK again") for r in plan.restrictions]
    booking = _booking_opens(plan)
    if booking is not None:
        moments.append((datetime.combine(booking, time(0), tzinfo=tz), BOOKING_MILESTONE))

    by_day: dict[date, list[tuple[datetime, str]]] = {}
    for at, title in moments:
        by_day.setdefault(at.astimezone(tz).date(), []).append((at, title))
    first = plan.performed_at.astimezone(tz).date()
    return tuple(
        MilestoneDay(
            day_number=(day - first).days,
            date=day,
            titles=tuple(title for _, title in sorted(found, key=lambda pair: pair[0])),
        )
        for day, found in sorted(by_day.items())
    )


def _booking_opens(plan: Plan) -> date | None:
    if plan.course is not None:
        return plan.course.next_window_opens  # None after the last session of a course
    for reminder in plan.reminders:
        if reminder.key == REBOOKING_REMINDER:
            return reminder.send_at.date()
    return None


@dataclass(frozen=True)
class SheetPeriod:
    heading: str  # "Settling down: treatment day to day 2"
    sections: list[tuple[str, list[SheetLine]]]  # by kind, as sheet_sections


def sheet_periods(plan: Plan) -> list[SheetPeriod]:
    """The print sheet's instructions: each non-warning item once, under the recovery
    phase in which it starts (the first days, then later), grouped by kind inside it,
    each with the days it covers in the patient's words ("treatment day to day 3")."""
    phases = sorted(plan.phases, key=lambda phase: phase.starts_at)
    starts = [plan.day_number_at(phase.starts_at) for phase in phases]
    periods = []
    for index, phase in enumerate(phases):
        first = 0 if index == 0 else starts[index]
        last = starts[index + 1] - 1 if index + 1 < len(starts) else None
        items = [
            item
            for item in plan.items
            if item.kind != "warning"
            and plan.day_number_at(item.starts_at) >= first
            and (last is None or plan.day_number_at(item.starts_at) <= last)
        ]
        sections = _sheet_by_kind(plan, items)
        if sections:
            days = _days_words(first, last).replace("until", "treatment day to")
            heading = f"{phase.name}: {days}"
            periods.append(SheetPeriod(heading=heading, sections=sections))
    if not phases:
        items = [item for item in plan.items if item.kind != "warning"]
        periods.append(SheetPeriod("Your aftercare", _sheet_by_kind(plan, items)))
    return periods


def _sheet_by_kind(plan: Plan, items: list[PlannedItem]) -> list[tuple[str, list[SheetLine]]]:
    sections = []
    for kind, heading in KIND_HEADINGS.items():
        lines = [
            SheetLine(item, _days_words(*_item_days(plan, item)))
            for item in items
            if item.kind == kind
        ]
        if lines:
            sections.append((heading, lines))
    return sections


def _item_days(plan: Plan, item: PlannedItem) -> tuple[int, int | None]:
    first = plan.day_number_at(item.starts_at)
    if item.ends_at is None:
        return first, None
    return first, max(first, plan.day_number_at(item.ends_at - timedelta(minutes=1)))


def _days_words(first: int, last: int | None) -> str:
    """The days in the patient's words: "treatment day", "until day 3", "day 4", "days 3–6",
    "from day 7" (a phase's heading says "treatment day to day 2")."""
    if last is None:
        return f"from {day_label(first).lower()}"
    if last == first:
        return day_label(first).lower()
    return f"until day {last}" if first == 0 else f"days {first}–{last}"


def _days_label(plan: Plan, item: PlannedItem) -> str:
    first = plan.day_number_at(item.starts_at)
    if item.ends_at is None:
        return f"from day {first}"
    last = plan.day_number_at(item.ends_at - timedelta(minutes=1))
    return f"day {first}" if last <= first else f"days {first}–{last}"


def plan_context(plan: Plan) -> dict[str, object]:
    items = {item.key: item for item in plan.items}
    phases = {phase.key: phase for phase in plan.phases}
    restrictions = {restriction.key: restriction for restriction in plan.restrictions}
    starts_on = {item.key: plan.day_number_at(item.starts_at) for item in plan.items}
    days = [
        DayView(
            day=day,
            phase=phases.get(day.phase_key),
            items=tuple(items[key] for key in day.item_keys if items[key].kind != "warning"),
            new_items=tuple(
                items[key]
                for key in day.item_keys
                if items[key].kind != "warning" and starts_on[key] == day.number
            ),
            restrictions_ending=tuple(restrictions[key] for key in day.restriction_keys_ending),
        )
        for day in plan.days
    ]
    return {"plan": plan, "days": days, "sheet_sections": sheet_sections(plan)}
