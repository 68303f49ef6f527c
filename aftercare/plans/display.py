"""Shape a stored plan for the templates that show it (staff page, print sheet, previews)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aftercare.planner.planning import (
    Plan,
    PlannedDay,
    PlannedItem,
    PlannedPhase,
    PlannedRestriction,
)

KIND_HEADINGS = {
    "expect": "What to expect",
    "do": "What to do",
    "avoid": "What to avoid",
    "product": "Products that help",
}


@dataclass(frozen=True)
class DayView:
    day: PlannedDay
    phase: PlannedPhase | None
    items: tuple[PlannedItem, ...]  # everything that applies that day
    new_items: tuple[PlannedItem, ...]  # what starts that day
    restrictions_ending: tuple[PlannedRestriction, ...]


@dataclass(frozen=True)
class SheetLine:
    item: PlannedItem
    when: str  # "day 0", "days 1–3", "from day 3"


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
