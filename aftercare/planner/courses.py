"""Courses of sessions: which session a visit is, and when the next one is due.

Pure: local calendar dates in the clinic's zone in, plain values out, so a
daylight-saving change never moves a session to another day or a window by an hour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aftercare.planner.planning import CourseStep


@dataclass(frozen=True)
class CourseFacts:
    starts_on: date
    sessions: int
    min_interval_days: int
    max_interval_days: int


def visit_day(performed_at: datetime, timezone: str) -> date:
    """The local calendar day of a treatment in the clinic's zone."""
    return performed_at.astimezone(ZoneInfo(timezone)).date()


def course_step(course: CourseFacts, visit_days: Iterable[date], day: date) -> CourseStep | None:
    """The step of the visit on `day` in the course; None if it is not one of its sessions.

    Sessions are the distinct visit days from the course's start, in order: several
    treatments on one day are one session.
    """
    sessions = sorted({d for d in visit_days if d >= course.starts_on} | {day})
    if day < course.starts_on:
        return None
    number = sessions.index(day) + 1
    if number > course.sessions:
        return None
    if number == course.sessions:
        return CourseStep(session=number, sessions=course.sessions)
    return CourseStep(
        session=number,
        sessions=course.sessions,
        next_window_opens=day + timedelta(days=course.min_interval_days),
        next_window_closes=day + timedelta(days=course.max_interval_days),
    )


def latest_step(course: CourseFacts, visit_days: Iterable[date]) -> CourseStep | None:
    """The step of the course's most recent session, None before the first one."""
    days = sorted(d for d in set(visit_days) if d >= course.starts_on)
    if not days:
        return None
    return course_step(course, days, days[min(len(days), course.sessions) - 1])


def window_opens_within(step: CourseStep | None, *, today: date, days: int) -> bool:
    """Whether the next session's window opens from `today` to `days` days later."""
    if step is None or step.next_window_opens is None:
        return False
    return today <= step.next_window_opens <= today + timedelta(days=days)
