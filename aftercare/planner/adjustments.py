"""A practitioner's changes to one patient's plan, applied to planner values.

Pure, like the planner: a `Plan` and adjustments in, a new `Plan` out. Adjustments
are absolute ("makeup: 72 hours", "skip day-3"), so applying the same list to a plan
freshly made from the guidance gives the same result as applying them one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from aftercare.planner.planning import (
    Plan,
    PlannedItem,
    PlannedReminder,
    hours_after,
    reminder_send_at,
    utc,
    with_days_replanned,
)

RESTRICTION = "restriction"
NOTE = "note"
SKIP_REMINDER = "skip_reminder"
ADD_REMINDER = "add_reminder"
KINDS = (RESTRICTION, NOTE, SKIP_REMINDER, ADD_REMINDER)


@dataclass(frozen=True)
class Adjustment:
    kind: str  # one of KINDS
    key: str = ""  # the restriction's or reminder's key
    hours: int | None = None  # RESTRICTION: the new duration
    day_number: int | None = None  # ADD_REMINDER: the day it goes out
    label: str = ""  # ADD_REMINDER: its heading
    text: str = ""  # NOTE: the note; ADD_REMINDER: what it says


def apply_adjustments(plan: Plan, adjustments: Iterable[Adjustment]) -> Plan:
    for adjustment in adjustments:
        plan = _APPLY[adjustment.kind](plan, adjustment)
    return with_days_replanned(plan)


def _restriction(plan: Plan, adjustment: Adjustment) -> Plan:
    if adjustment.hours is None:
        raise ValueError("a restriction adjustment needs hours")
    changed = next((r for r in plan.restrictions if r.key == adjustment.key), None)
    if changed is None:
        return plan
    ends_at = hours_after(plan.performed_at, adjustment.hours)
    restrictions = tuple(
        replace(
            restriction,
            hours=adjustment.hours,
            ends_at=ends_at,
            guidance_hours=restriction.hours_by_guidance,
        )
        if restriction is changed
        else restriction
        for restriction in plan.restrictions
    )
    # Items timed from this restriction's end move with it.
    shift = utc(ends_at) - utc(changed.ends_at)
    items = tuple(
        _moved(item, shift) if item.after_restriction == changed.key else item
        for item in plan.items
    )
    return replace(plan, restrictions=restrictions, items=items)


def _moved(item: PlannedItem, shift: timedelta) -> PlannedItem:
    return replace(
        item,
        starts_at=_shifted(item.starts_at, shift),
        ends_at=None if item.ends_at is None else _shifted(item.ends_at, shift),
    )


def _shifted(moment: datetime, shift: timedelta) -> datetime:
    return (utc(moment) + shift).astimezone(moment.tzinfo)


def _note(plan: Plan, adjustment: Adjustment) -> Plan:
    return replace(plan, note=adjustment.text.strip())


def _skip(plan: Plan, adjustment: Adjustment) -> Plan:
    kept = tuple(reminder for reminder in plan.reminders if reminder.key != adjustment.key)
    return replace(plan, reminders=kept)


def _add(plan: Plan, adjustment: Adjustment) -> Plan:
    if adjustment.day_number is None:
        raise ValueError("an added reminder needs a day")
    if any(reminder.key == adjustment.key for reminder in plan.reminders):
        return plan
    added = PlannedReminder(
        key=adjustment.key,
        label=adjustment.label,
        summary_md=adjustment.text,
        day_number=adjustment.day_number,
        send_at=reminder_send_at(plan, adjustment.day_number),
        fact_ids=(),
    )
    reminders = sorted(
        (*plan.reminders, added), key=lambda r: (utc(r.send_at), r.day_number, r.key)
    )
    return replace(plan, reminders=tuple(reminders))


_APPLY = {RESTRICTION: _restriction, NOTE: _note, SKIP_REMINDER: _skip, ADD_REMINDER: _add}
