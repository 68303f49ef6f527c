"""An iCalendar (RFC 5545) file of a plan's restriction ends and reminder milestones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from icalendar import Calendar, Event

from aftercare.planner.planning import Plan

EVENT_LENGTH = timedelta(minutes=15)


def plan_calendar(plan: Plan, *, visit_id: int, domain: str) -> bytes:
    """Events keyed by the visit (the treatment), not the plan revision: a file saved
    again after the plan was adjusted updates the same events instead of adding twins."""
    calendar = Calendar()
    calendar.add("prodid", f"-//{plan.clinic.name}//Aftercare plan//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Aftercare · {plan.clinic.name}")
    stamp = plan.performed_at
    for restriction in plan.restrictions:
        calendar.add_component(
            _event(
                uid=f"visit-{visit_id}-restriction-{restriction.key}@{domain}",
                summary=f"{restriction.label}: allowed again",
                description=(
                    f"{restriction.label}: fine again from now on. "
                    f"Questions? Call {plan.clinic.name} on {plan.clinic.phone}."
                ),
                start=restriction.ends_at,
                stamp=stamp,
            )
        )
    for reminder in plan.reminders:
        calendar.add_component(
            _event(
                uid=f"visit-{visit_id}-milestone-{reminder.key}@{domain}",
                summary=f"Aftercare: {reminder.label}",
                description=f"{_day_label(reminder.day_number)}. "
                f"Questions? Call {plan.clinic.name} on {plan.clinic.phone}.",
                start=reminder.send_at,
                stamp=stamp,
            )
        )
    # DTSTART carries TZID=<the clinic's zone>: RFC 5545 wants its VTIMEZONE too.
    calendar.add_missing_timezones()
    return cast(bytes, calendar.to_ical())


def _event(*, uid: str, summary: str, description: str, start: datetime, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + EVENT_LENGTH)
    event.add("summary", summary)
    event.add("description", description)
    event.add("transp", "TRANSPARENT")
    return event


def _day_label(day_number: int) -> str:
    return "Treatment day" if day_number == 0 else f"Day {day_number}"
