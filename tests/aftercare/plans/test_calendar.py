"""The "Add to calendar" file (aftercare.plans.calendar): valid RFC 5545, read back with icalendar.

Plans are built from the shipped default guidance with no database, then passed through
plan_to_dict / plan_from_dict as the patient view does with a stored plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from aftercare.links import link_current, token_for
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import ClinicFacts, TreatmentFacts
from aftercare.planner.planning import Plan, build_plan, plan_from_dict, plan_to_dict
from aftercare.plans.calendar import EVENT_LENGTH, plan_calendar
from aftercare.plans.services import plan_create
from tests.factories import ClinicFactory, TreatmentFactory

NEW_YORK = ZoneInfo("America/New_York")
TREATED = datetime(2026, 5, 12, 14, 30, tzinfo=NEW_YORK)
CLINIC = ClinicFacts(
    name="Glow Skin Studio",
    phone="+1 212 555 0100",
    email="hello@glow.example",
    timezone="America/New_York",
    reminder_hour=9,
)
DOMAIN = "aftercare.example"


@pytest.fixture(scope="module")
def plan() -> Plan:
    treatment = TreatmentFacts(
        performed_at=TREATED,
        # Scores 0: the light durations exactly (makeup 48 h).
        depth_mm=Decimal("0.25"),
        passes=2,
        areas=frozenset({"cheeks"}),
        device="pen",
        skin_type=3,
    )
    return plan_from_dict(plan_to_dict(build_plan(treatment, CLINIC, DEFAULT_GUIDANCE)))


@pytest.fixture(scope="module")
def ics(plan) -> bytes:
    return plan_calendar(plan, visit_id=7, domain=DOMAIN)


@pytest.fixture(scope="module")
def calendar(ics) -> Calendar:
    return Calendar.from_ical(ics)


def _events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def _by_uid(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in _events(calendar)}


def test_it_reads_back_as_one_vcalendar(calendar):
    assert calendar.name == "VCALENDAR"


def test_the_calendar_has_version_2_0(calendar):
    assert str(calendar["VERSION"]) == "2.0"


def test_the_calendar_has_a_prodid_naming_the_clinic(calendar):
    assert str(calendar["PRODID"]) == "-//Glow Skin Studio//Aftercare plan//EN"


def test_every_event_has_a_uid_a_dtstamp_and_a_dtstart(calendar):
    missing = [
        (str(event.get("SUMMARY")), name)
        for event in _events(calendar)
        for name in ("UID", "DTSTAMP", "DTSTART")
        if name not in event
    ]
    assert _events(calendar)
    assert missing == []


def test_every_uid_is_unique_and_names_the_domain(calendar):
    uids = [str(event["UID"]) for event in _events(calendar)]
    assert len(set(uids)) == len(uids)
    assert all(uid.endswith(f"@{DOMAIN}") for uid in uids)


def test_there_is_one_event_per_restriction_and_per_reminder(calendar, plan):
    expected = {f"visit-7-restriction-{r.key}@{DOMAIN}" for r in plan.restrictions} | {
        f"visit-7-milestone-{r.key}@{DOMAIN}" for r in plan.reminders
    }
    assert len(plan.restrictions) > 0 and len(plan.reminders) > 0
    assert len(_events(calendar)) == len(plan.restrictions) + len(plan.reminders)
    assert set(_by_uid(calendar)) == expected


def test_a_restriction_event_starts_when_the_restriction_ends(calendar, plan):
    events = _by_uid(calendar)
    starts = {
        r.key: events[f"visit-7-restriction-{r.key}@{DOMAIN}"]["DTSTART"].dt
        for r in plan.restrictions
    }
    assert starts == {r.key: r.ends_at for r in plan.restrictions}


def test_the_makeup_event_is_48_hours_after_the_treatment_in_local_time(calendar):
    event = _by_uid(calendar)[f"visit-7-restriction-makeup@{DOMAIN}"]
    start = event["DTSTART"].dt.astimezone(NEW_YORK)
    assert start == TREATED + timedelta(hours=48)
    assert start.strftime("%A %H:%M") == "Thursday 14:30"
    assert str(event["SUMMARY"]) == "Makeup: allowed again"


def test_a_reminder_event_starts_when_the_reminder_is_due(calendar, plan):
    events = _by_uid(calendar)
    starts = {
        r.key: events[f"visit-7-milestone-{r.key}@{DOMAIN}"]["DTSTART"].dt for r in plan.reminders
    }
    assert starts == {r.key: r.send_at for r in plan.reminders}


def test_later_reminder_events_fall_at_the_clinics_reminder_hour(calendar, plan):
    events = _by_uid(calendar)
    local_times = {
        r.key: events[f"visit-7-milestone-{r.key}@{DOMAIN}"]["DTSTART"]
        .dt.astimezone(NEW_YORK)
        .strftime("%Y-%m-%d %H:%M")
        for r in plan.reminders
        if r.day_number > 0
    }
    assert local_times == {
        r.key: (TREATED.date() + timedelta(days=r.day_number)).strftime("%Y-%m-%d 09:00")
        for r in plan.reminders
        if r.day_number > 0
    }


def test_every_event_lasts_a_quarter_of_an_hour(calendar):
    lengths = {event["DTEND"].dt - event["DTSTART"].dt for event in _events(calendar)}
    assert lengths == {EVENT_LENGTH}


def test_every_dtstamp_is_in_utc(ics, calendar):
    # RFC 5545 3.8.7.2: "The value MUST be specified in the UTC time format."
    assert {event["DTSTAMP"].dt.utcoffset() for event in _events(calendar)} == {timedelta(0)}
    assert [line for line in ics.split(b"\r\n") if line.startswith(b"DTSTAMP;")] == []


def test_the_file_uses_crlf_line_ends_and_folds_long_lines(ics):
    lines = ics.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 75


def test_every_tzid_used_has_a_vtimezone(ics, calendar):
    tzids = {
        param.split(b"=", 1)[1].split(b":", 1)[0]
        for line in ics.split(b"\r\n")
        for param in line.split(b";")[1:]
        if param.startswith(b"TZID=")
    }
    defined = {str(tz["TZID"]).encode() for tz in calendar.walk("VTIMEZONE")}
    assert tzids
    assert tzids <= defined


def test_a_plan_in_utc_times_still_reads_back_with_the_same_moments():
    treatment = TreatmentFacts(
        performed_at=datetime(2026, 5, 12, 18, 30, tzinfo=UTC),
        depth_mm=Decimal("1.0"),
        passes=2,
        areas=frozenset({"cheeks"}),
        device="pen",
        skin_type=3,
    )
    utc_clinic = ClinicFacts(name="UTC Clinic", phone="1", email="a@b.example", timezone="UTC")
    plan = build_plan(treatment, utc_clinic, DEFAULT_GUIDANCE)
    calendar = Calendar.from_ical(plan_calendar(plan, visit_id=1, domain=DOMAIN))
    starts = sorted(event["DTSTART"].dt for event in _events(calendar))
    assert starts == sorted(
        [r.ends_at for r in plan.restrictions] + [r.send_at for r in plan.reminders]
    )


# The file the patient downloads


@pytest.mark.django_db
def test_the_downloaded_file_has_the_events_of_the_patients_plan(client, settings):
    cache.clear()
    treatment = TreatmentFactory(patient__clinic=ClinicFactory(), performed_at=timezone.now())
    stored = plan_create(treatment=treatment, now=timezone.now())
    slug = treatment.clinic.slug
    token = token_for(link_current(plan=stored, now=timezone.now()))
    client.get(reverse("patient:open", args=[slug, token]))
    response = client.get(reverse("patient:calendar", args=[slug]))
    calendar = Calendar.from_ical(response.content)
    planned = stored.content_plan
    assert set(_by_uid(calendar)) == {
        f"visit-{treatment.pk}-restriction-{r.key}@{settings.MESSAGE_ID_DOMAIN}"
        for r in planned.restrictions
    } | {
        f"visit-{treatment.pk}-milestone-{r.key}@{settings.MESSAGE_ID_DOMAIN}"
        for r in planned.reminders
    }


def test_milestones_name_the_day_as_the_patient_pages_do(calendar):
    events = _by_uid(calendar)
    day_0 = events[f"visit-7-milestone-day-0@{DOMAIN}"]
    day_3 = events[f"visit-7-milestone-day-3@{DOMAIN}"]
    assert str(day_0["DESCRIPTION"]).startswith("Treatment day.")
    assert str(day_3["DESCRIPTION"]).startswith("Day 3.")
