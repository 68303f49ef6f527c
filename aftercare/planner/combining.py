"""One plan for several treatments of one visit (e.g. face at 1.0 mm and neck at 0.5 mm).

Pure: the plans each treatment would get alone in, one plan out. Each restriction
ends at the latest of its parts, each guidance item is kept once (from its earliest
start to its latest end), and there is one reminder schedule with at most one email
a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TypeVar

from aftercare.planner.planning import (
    Plan,
    PlannedItem,
    PlannedPhase,
    PlannedReminder,
    PlannedRestriction,
    utc,
    with_days_replanned,
)

Span = TypeVar("Span", PlannedPhase, PlannedItem)


def combine_plans(parts: Sequence[Plan]) -> Plan:
    if not parts:
        raise ValueError("nothing to combine")
    if len({part.timezone for part in parts}) > 1:
        raise ValueError("the parts of a visit share the clinic's time zone")
    if len(parts) == 1:
        return parts[0]
    first = min(parts, key=lambda part: utc(part.performed_at))
    strongest = max(parts, key=lambda part: (part.intensity.rank, part.intensity.score))
    combined = replace(
        first,
        intensity=strongest.intensity,
        phases=_merged_spans([part.phases for part in parts]),
        items=_merged_spans([part.items for part in parts]),
        restrictions=_latest_restrictions(parts),
        reminders=_one_schedule(parts),
        note=next((part.note for part in parts if part.note), ""),
    )
    return with_days_replanned(combined)


def _latest_restrictions(parts: Sequence[Plan]) -> tuple[PlannedRestriction, ...]:
    latest: dict[str, PlannedRestriction] = {}
    for part in parts:
        for restriction in part.restrictions:
            kept = latest.get(restriction.key)
            if kept is None or utc(restriction.ends_at) > utc(kept.ends_at):
                latest[restriction.key] = restriction
    return tuple(latest.values())


def _merged_spans(groups: Sequence[Sequence[Span]]) -> tuple[Span, ...]:
    """Each key once, from its earliest start to its latest end (None: no end)."""
    merged: dict[str, Span] = {}
    for group in groups:
        for span in group:
            kept = merged.get(span.key)
            if kept is None:
                merged[span.key] = span
                continue
            merged[span.key] = replace(
                kept,
                starts_at=min(kept.starts_at, span.starts_at, key=utc),
                ends_at=_later_end(kept.ends_at, span.ends_at),
            )
    return tuple(sorted(merged.values(), key=lambda span: utc(span.starts_at)))


def _later_end(one: datetime | None, other: datetime | None) -> datetime | None:
    if one is None or other is None:
        return None
    return max(one, other, key=utc)


def _one_schedule(parts: Sequence[Plan]) -> tuple[PlannedReminder, ...]:
    """Each reminder once, at its earliest time; then at most one email a local day."""
    by_key: dict[str, PlannedReminder] = {}
    for part in parts:
        for reminder in part.reminders:
            kept = by_key.get(reminder.key)
            if kept is None or utc(reminder.send_at) < utc(kept.send_at):
                by_key[reminder.key] = reminder
    kept_days: dict[date, PlannedReminder] = {}
    for reminder in sorted(by_key.values(), key=lambda r: (utc(r.send_at), r.day_number, r.key)):
        kept_days.setdefault(reminder.send_at.date(), reminder)
    return tuple(kept_days.values())
