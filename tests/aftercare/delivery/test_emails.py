"""One reminder email (aftercare.delivery.emails.reminder_email): who to call, in both parts.

An email is read at a time nobody knows, so it gives the emergency number for a severe
allergic reaction and both the clinic's number and its out-of-hours number, with the
opening hours, for every other warning sign.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils.html import escape

from aftercare.delivery.emails import reminder_email
from aftercare.models import AftercarePlan, Reminder
from aftercare.planner.today import today_items, today_points
from aftercare.plans.services import plan_create
from tests.factories import ClinicFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TREATED = datetime(2026, 5, 12, 14, 30, tzinfo=LONDON)
WEEKDAYS = [(day, "09:00", "18:00") for day in range(5)]


def _plan(**clinic) -> AftercarePlan:
    treatment = TreatmentFactory(patient__clinic=ClinicFactory(**clinic), performed_at=TREATED)
    return plan_create(treatment=treatment, now=TREATED + timedelta(minutes=5))


def _email(plan: AftercarePlan):
    reminder = Reminder.objects.filter(plan=plan).order_by("due_at").first()
    return reminder_email(
        reminder,
        plan=plan.content_plan,
        plan_url="https://example.com/p/x/",
        unsubscribe_url="https://example.com/u/",
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("clinic", "number"),
    [
        ({"timezone": "Europe/London"}, "999"),
        ({"timezone": "America/New_York"}, "911"),
        ({"timezone": "Europe/London", "emergency_number": "112"}, "112"),
    ],
)
def test_both_parts_say_to_call_the_emergency_number_for_a_severe_allergic_reaction(clinic, number):
    email = _email(_plan(**clinic))
    assert f"Call {number} now." in _flat(email.text)
    assert f'href="tel:{number}"><strong>Call {number} now</strong></a>' in email.html
    assert "Trouble breathing or swallowing?" in email.text


def test_both_parts_give_the_clinics_number_with_its_hours_and_the_out_of_hours_number():
    email = _email(_plan(opening_hours=WEEKDAYS))
    text = _flat(email.text)
    assert "call us on +44 20 7946 0123 (open Mon-Fri 9:00-18:00)" in text
    assert "When we are closed, call our out-of-hours line on +44 20 7946 0999." in text
    html = _flat(email.html)
    assert '<a href="tel:+442079460123">+44 20 7946 0123</a> (open Mon-Fri 9:00-18:00)' in html
    assert '<a href="tel:+442079460999">+44 20 7946 0999</a>' in html


def test_without_an_out_of_hours_number_the_email_says_what_to_do_when_closed():
    email = _email(_plan(out_of_hours_phone=""))
    assert "When we are closed and it can't wait, call 999 or go to urgent care." in (
        _flat(email.text)
    )


def test_the_email_never_says_whether_the_clinic_is_open():
    # Written once, read any time.
    email = _email(_plan(opening_hours=WEEKDAYS))
    for part in (email.text, email.html):
        assert "open now" not in part
        assert "closed now" not in part


def test_every_warning_sign_that_applies_is_in_both_parts_in_full():
    plan = _plan()
    email = _email(plan)
    warnings = plan.content_plan.warnings_on_day_of(TREATED + timedelta(minutes=5))
    assert len(warnings) >= 4
    for warning in warnings:
        assert _flat(warning.body_md.replace("**", "")) in _flat(email.text)
        assert escape(warning.title) in email.html


def test_a_warning_sign_that_starts_later_waits_for_the_emails_of_its_days():
    # Redness still there after three days is a warning from 72 h; on day 0 warm, red skin
    # is what the plan calls normal, so the day-0 email does not list it. The day-3 email
    # goes out at 09:00, before hour 72 (14:30), and lists it: it is read that day.
    plan = _plan()
    lasting = next(w for w in plan.content_plan.warnings if "W1" in w.fact_ids)
    reminders = Reminder.objects.filter(plan=plan).order_by("due_at")
    first, day_3 = reminders.first(), reminders.get(kind="day-3")
    assert lasting.title not in _email(plan).text
    later = reminder_email(
        day_3, plan=plan.content_plan, plan_url="https://example.com/p/x/", unsubscribe_url="u"
    )
    assert first is not None and first.kind == "day-0"
    assert lasting.title in later.text


def test_the_subject_carries_no_health_detail_or_number():
    plan = _plan()
    email = _email(plan)
    assert email.message.subject == f"A message from {plan.treatment.clinic.sender_name}"


# What the email leads with


def test_both_parts_lead_with_the_days_points_then_the_warning_signs_then_the_link():
    plan = _plan()
    email = _email(plan)
    points = today_points(plan.content_plan, TREATED + timedelta(minutes=5), limit=3)
    assert len(points) == 3
    for part in (_flat(email.text), _flat(email.html)):
        warnings = part.index("Warning signs and what to do")
        link = part.index("https://example.com/p/x/")
        assert part.index("The main points for today") < warnings < link
    for point in points:
        assert _flat(email.text).index(point.title) < _flat(email.text).index("Warning signs")
        assert _flat(email.html).index(escape(point.title)) < _flat(email.html).index(
            "Warning signs"
        )


def test_the_points_are_the_first_three_of_today_at_the_send_time():
    plan = _plan()
    email = _email(plan)
    ranked = today_items(plan.content_plan, TREATED + timedelta(minutes=5))
    assert all(f"* {item.title}" in email.text for item in ranked[:3])
    assert all(f"* {item.title}\n" not in email.text for item in ranked[3:])


def test_what_to_wait_for_reads_ok_again_with_the_weekday_date_and_time():
    email = _email(_plan())  # treated Tuesday 12 May 14:30; makeup waits 48 hours
    assert "- Makeup: OK again from Thu 14 May, 14:30" in email.text
    assert "<strong>Makeup</strong>: OK again from Thu 14 May, 14:30" in email.html
    assert "Thursday" not in email.text


def test_what_to_wait_for_is_sorted_by_its_end():
    plan = _plan()
    text = _email(plan).text
    listed = re.findall(r"^- (.+): OK again from ", text, re.M)
    ends = {r.label: r.ends_at for r in plan.content_plan.restrictions}
    assert len(listed) >= 3
    assert listed == sorted(listed, key=lambda label: (ends[label], label))
    assert text.index("https://example.com/p/x/") < text.index("Still to avoid for now")


def test_the_subject_stays_free_of_the_points():
    plan = _plan()
    email = _email(plan)
    for point in today_points(plan.content_plan, TREATED + timedelta(minutes=5), limit=3):
        assert point.title.lower() not in email.message.subject.lower()
