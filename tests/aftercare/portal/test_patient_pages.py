"""The pages a patient opens from their email (aftercare.portal.views), through Django's client.

The emailed URL /p/<clinic>/<token>/ checks the token once, keeps the link in the
session and redirects to token-free pages. The clock is frozen (time-machine) so that
days, weekdays and times on the pages are known in advance.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from icalendar import Calendar
from PIL import Image

from aftercare.delivery.reminders import link_reissue
from aftercare.links import link_current, links_revoke, token_for
from aftercare.models import (
    AftercarePlan,
    ConcernReport,
    PatientLink,
    Reminder,
    ReminderStatus,
)
from aftercare.planner.adjustments import NOTE, Adjustment
from aftercare.plans.services import plan_adjust, plan_create
from aftercare.portal.session import PATIENT_COOKIE_NAME
from aftercare.portal.views import SESSION_KEY, form_token_for_session
from tests.factories import ClinicFactory, StaffMembershipFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
TREATED = datetime(2026, 5, 12, 14, 30, tzinfo=LONDON)  # a Tuesday
DAY_1 = datetime(2026, 5, 13, 10, 0, tzinfo=LONDON)  # Wednesday
DAY_3 = datetime(2026, 5, 15, 10, 0, tzinfo=LONDON)  # Friday
NOT_FOUND = "This link does not work"
NO_SESSION = "Open your plan from your email"
CALL_NOW = "Call the clinic now"
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"
SESSION_PAGES = [
    "today",
    "timeline",
    "warning_signs",
    "report",
    "calendar",
    "unsubscribe",
    "how_we_remind",
]
PLAN_PAGES = ["today", "timeline", "warning_signs", "report"]


@pytest.fixture(autouse=True)
def empty_cache():
    # The rate limit on bad tokens lives in the cache: no test inherits another's failures.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock():
    with time_machine.travel(DAY_3, tick=False) as traveller:
        yield traveller


@pytest.fixture
def photo_storage(tmp_path, monkeypatch):
    field = ConcernReport._meta.get_field("photo")
    monkeypatch.setattr(field, "storage", FileSystemStorage(location=tmp_path))
    return tmp_path


def _plan(*, clinic=None, performed_at: datetime = TREATED) -> AftercarePlan:
    treatment = TreatmentFactory(
        patient__clinic=clinic or ClinicFactory(), performed_at=performed_at
    )
    return plan_create(treatment=treatment, now=timezone.now())


def _token(plan: AftercarePlan) -> str:
    # The link the day-0 email carried.
    return token_for(link_current(plan=plan, now=plan.treatment.performed_at))


def _slug(plan: AftercarePlan) -> str:
    return plan.treatment.clinic.slug


def _open_url(plan: AftercarePlan, token: str | None = None) -> str:
    return reverse("patient:open", args=[_slug(plan), token or _token(plan)])


def _one_click_url(plan: AftercarePlan, token: str | None = None) -> str:
    return reverse("patient:one_click_unsubscribe", args=[_slug(plan), token or _token(plan)])


def _page(plan: AftercarePlan, name: str) -> str:
    return reverse(f"patient:{name}", args=[_slug(plan)])


def _patient_session(client: Client) -> SessionStore:
    """The session the patient pages keep, in their own cookie (aftercare.portal.session)."""
    return SessionStore(client.cookies[PATIENT_COOKIE_NAME].value)


def _form(client: Client, data: dict | None = None) -> dict:
    """What a patient form posts: its fields and the session's form token."""
    session_key = _patient_session(client).session_key
    return {**(data or {}), "form_token": form_token_for_session(session_key)}


def _signed_in(client: Client, plan: AftercarePlan) -> Client:
    response = client.get(_open_url(plan))
    assert response.status_code == 302
    return client


def _tampered(token: str) -> str:
    position = len(token) // 2
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


def _pending(plan: AftercarePlan) -> int:
    return Reminder.objects.filter(plan=plan, status=ReminderStatus.PENDING).count()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "pink").save(buffer, format="JPEG")
    return buffer.getvalue()


# Opening the emailed link


def test_a_good_token_redirects_to_the_token_free_today_page(clock):
    plan = _plan()
    token = _token(plan)
    response = Client().get(_open_url(plan, token))
    assert response.status_code == 302
    assert response["Location"] == _page(plan, "today")
    assert token not in response["Location"]


def test_the_session_keeps_the_link_id_and_not_the_token(client, clock):
    plan = _plan()
    token = _token(plan)
    client.get(_open_url(plan, token))
    session = dict(_patient_session(client).items())
    assert session[SESSION_KEY] == PatientLink.objects.get(plan=plan).pk
    assert token not in repr(session)


def test_opening_a_link_starts_a_fresh_session(client, clock):
    session = SessionStore()
    session["earlier"] = "visit"
    session.save()
    earlier_key = session.session_key
    client.cookies[PATIENT_COOKIE_NAME] = earlier_key
    _signed_in(client, _plan())
    assert client.cookies[PATIENT_COOKIE_NAME].value != earlier_key
    assert _patient_session(client)["earlier"] == "visit"  # cycle_key keeps the data, not the key


def test_the_session_lasts_until_the_link_expires(client, clock):
    plan = _plan()
    _signed_in(client, plan)
    link = PatientLink.objects.get(plan=plan)
    assert _patient_session(client).get_expiry_date() == link.expires_at


# Today


def test_today_shows_the_day_of_recovery(client, clock):
    plan = _plan()
    response = _signed_in(client, plan).get(_page(plan, "today"))
    assert response.status_code == 200
    assert "<h1>Day 3</h1>" in response.content.decode()


def test_today_on_the_day_of_the_treatment_is_the_treatment_day(client, clock):
    clock.move_to(TREATED + timedelta(hours=1))
    plan = _plan()
    response = _signed_in(client, plan).get(_page(plan, "today"))
    assert "<h1>Treatment day</h1>" in response.content.decode()


def test_today_says_until_when_to_avoid_something_in_the_clinics_timezone(client, clock):
    # Treated on Tuesday 14:30 in New York (18:30 UTC); makeup waits 48 hours.
    clinic = ClinicFactory(timezone="America/New_York")
    plan = _plan(clinic=clinic, performed_at=datetime(2026, 5, 12, 14, 30, tzinfo=NEW_YORK))
    clock.move_to(datetime(2026, 5, 13, 10, 0, tzinfo=NEW_YORK))
    makeup = next(r for r in plan.content_plan.restrictions if r.key == "makeup")
    assert makeup.hours == 48
    response = _signed_in(client, plan).get(_page(plan, "today"))
    assert "<strong>Makeup</strong>: OK again from Thu 14 May, 14:30" in response.content.decode()


def test_today_says_in_how_many_days_a_wait_ends(client, clock):
    clock.move_to(DAY_1)  # Wednesday: makeup is OK again on Thursday, sunbathing much later
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "today")).content.decode()
    assert "<strong>Makeup</strong>: OK again from Thu 14 May, 14:30" in html
    assert 'Thu 14 May, 14:30 <span class="when">(tomorrow)</span>' in html
    sun = next(r for r in plan.content_plan.restrictions if r.key == "sun")
    days = (sun.ends_at.date() - DAY_1.date()).days
    assert f'<span class="when">(in {days} days)</span>' in html


def test_today_shows_a_wait_that_ended_lately_as_ok_again_now(client, clock):
    plan = _plan()  # day 3: the 48-hour makeup restriction ended on Thursday
    html = _signed_in(client, plan).get(_page(plan, "today")).content.decode()
    assert '<li class="allowed"><strong>Makeup</strong>: OK again now</li>' in html
    assert "<strong>Makeup</strong>: OK again from" not in html
    assert "<strong>Sunbathing and tanning beds</strong>: OK again from" in html


def test_today_folds_away_a_wait_that_ended_long_ago(client, clock):
    clock.move_to(TREATED + timedelta(days=6))  # makeup ended four days ago
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "today")).content.decode()
    more = html[html.index('<details class="more">') :]
    assert "<strong>Makeup</strong>: OK again since Thu 14 May, 14:30" in more
    assert "<strong>Makeup</strong>: OK again now" not in html


def test_today_lists_what_has_to_wait_sorted_by_its_end(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "today")).content.decode()
    shown = re.findall(r"<strong>([^<]+)</strong>: OK again (?:now|from)", html)
    ends = {escape(r.label): r.ends_at for r in plan.content_plan.restrictions}
    assert len(shown) >= 3
    assert shown == sorted(shown, key=lambda label: (ends[label], label))


def test_today_names_the_phase_the_skin_is_in(client, clock):
    clock.move_to(DAY_1)
    plan = _plan()
    phase = plan.content_plan.phase_at(DAY_1)
    response = _signed_in(client, plan).get(_page(plan, "today"))
    assert f"Your skin is in the <strong>{phase.name.lower()}</strong> phase" in (
        response.content.decode()
    )


def test_today_leads_with_at_most_five_points(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "today")).content.decode()
    points = re.search(r'<ul class="point-list">.*?</ul>', html, re.S).group(0)
    assert 1 <= points.count('<li class="point') <= 5
    assert ">What matters today</h2>" in html
    assert ">What has to wait</h2>" in html


def test_today_keeps_everything_else_one_tap_away(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "today")).content.decode()
    more = html[html.index('<details class="more">') :]
    for heading in ("What to expect", "What to do"):
        assert f"<h2>{heading}</h2>" in more
    shown = re.findall(r'<span class="tag">\w+</span> ([^<]+)</summary>', html)
    shown += re.findall(r"<h3>([^<]+)</h3>", more)
    active = [
        escape(item.title)
        for item in plan.content_plan.items_active_at(DAY_3)
        if item.kind != "warning"
    ]
    assert sorted(shown) == sorted(active)  # each once


def test_today_has_the_call_card_right_after_the_points(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "today")).content.decode()
    assert (
        html.index('id="points-heading"')
        < html.index('<section class="who-to-call"')
        < html.index('id="wait-heading"')
    )


# Timeline


def test_the_timeline_lists_every_phase_and_milestone(client, clock):
    plan = _plan()
    planned = plan.content_plan
    html = _signed_in(client, plan).get(_page(plan, "timeline")).content.decode()
    assert [
        phase.name for phase in planned.phases if f"<strong>{escape(phase.name)}</strong>" in html
    ] == [phase.name for phase in planned.phases]
    milestones = re.search(r'<ul class="milestones">.*?</section>', html, re.S).group(0)
    for happening in ("Most redness gone", "Flaking may start", "Time to book your next session"):
        assert f"<li>{happening}</li>" in milestones
    for restriction in planned.restrictions:
        assert f"<li>{escape(restriction.label)}: OK again</li>" in milestones


def test_the_timelines_milestones_are_not_email_subjects(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "timeline")).content.decode()
    milestones = re.search(r'<ul class="milestones">.*?</section>', html, re.S).group(0)
    assert [r.label for r in plan.content_plan.reminders if escape(r.label) in milestones] == []


def test_the_timelines_days_open_to_their_text(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "timeline")).content.decode()
    day_1 = re.search(r'<li class="day">\s*<h3>Day 1 .*?</li>', html, re.S).group(0)
    assert "<details>" in day_1 and "<summary>What to know on day 1 (" in day_1
    item = next(i for i in plan.content_plan.items_active_at(DAY_1) if i.kind == "do")
    assert escape(item.title) in day_1
    assert escape(item.body_md.split()[0]) in day_1
    today = re.search(r'<li class="day today".*?</li>', html, re.S).group(0)
    assert "<details open>" in today


def test_the_timeline_calls_day_0_the_treatment_day(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "timeline")).content.decode()
    assert "<h3>Treatment day · Tue 12 May</h3>" in html
    assert "<h3>Day 0" not in html


def test_the_timeline_marks_today_and_only_today_with_aria_current_date(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "timeline")).content.decode()
    marked_days = re.findall(
        r'<li class="day[^"]*" aria-current="date"[^>]*>\s*<h3>Day (\d+) ', html
    )
    assert marked_days == ["3"]


def test_the_timeline_marks_todays_milestone(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "timeline")).content.decode()
    assert re.findall(r'<li aria-current="date"><strong>Day (\d+)</strong>', html) == ["3"]


# Warning signs


@pytest.mark.parametrize("name", PLAN_PAGES)
def test_every_plan_page_has_a_warning_signs_tab(client, clock, name):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, name)).content.decode()
    nav = re.search(r'<nav class="tabs".*?</nav>', html, re.S).group(0)
    assert f'href="{_page(plan, "warning_signs")}"' in nav


@pytest.mark.parametrize("name", PLAN_PAGES)
def test_every_plan_page_has_the_clinics_phone_as_a_tel_link(client, clock, name):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, name)).content.decode()
    assert 'href="tel:+442079460123"' in html


def test_warning_signs_lists_every_warning_that_applies_now(client, clock):
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "warning_signs")).content.decode()
    titles = [w.title for w in plan.content_plan.warnings_active_at(timezone.now())]
    assert len(titles) >= 4
    assert [title for title in titles if f"<h2>{escape(title)}</h2>" in html] == titles


def test_lasting_redness_is_a_warning_sign_only_from_the_third_day(client, clock):
    plan = _plan()
    lasting = next(w for w in plan.content_plan.warnings if "W1" in w.fact_ids)
    signed_in = _signed_in(client, plan)
    assert escape(lasting.title) not in signed_in.get(_page(plan, "warning_signs")).content.decode()
    clock.move_to(lasting.starts_at + timedelta(minutes=1))
    assert escape(lasting.title) in signed_in.get(_page(plan, "warning_signs")).content.decode()


# Something not right?


def test_a_red_flag_report_says_call_the_clinic_now(client, clock):
    plan = _plan()
    response = _signed_in(client, plan).post(
        _page(plan, "report"), _form(client, {"symptoms": ["pus"]}), follow=True
    )
    assert response.status_code == 200
    assert f"<h1>{CALL_NOW}</h1>" in response.content.decode()


def test_a_report_without_red_flags_thanks_the_patient(client, clock):
    plan = _plan()
    response = _signed_in(client, plan).post(
        _page(plan, "report"), _form(client, {"symptoms": ["peeling"]}), follow=True
    )
    html = response.content.decode()
    assert "Thank you, your report was sent" in html
    assert CALL_NOW not in html


def test_a_report_is_stored_for_the_patients_plan(client, clock):
    plan = _plan()
    _signed_in(client, plan).post(
        _page(plan, "report"),
        _form(client, {"symptoms": ["pus", "peeling"], "details": "  Yellow crust  "}),
    )
    report = ConcernReport.objects.get()
    assert (report.plan, report.patient, report.clinic) == (
        plan,
        plan.treatment.patient,
        plan.treatment.clinic,
    )
    assert (report.symptoms, report.details, report.is_red_flag) == (
        ["pus", "peeling"],
        "Yellow crust",
        True,
    )
    assert report.created_at == DAY_3


def test_an_empty_report_is_refused_with_a_message(client, clock):
    plan = _plan()
    response = _signed_in(client, plan).post(
        _page(plan, "report"), _form(client, {"details": "   "})
    )
    assert "Tick what you notice, or describe it in a few words." in response.content.decode()
    assert not ConcernReport.objects.exists()


def test_a_report_can_carry_a_photo(client, clock, photo_storage):
    plan = _plan()
    upload = SimpleUploadedFile("cheek.jpg", _jpeg(), content_type="image/jpeg")
    _signed_in(client, plan).post(
        _page(plan, "report"), _form(client, {"details": "A spot", "photo": upload})
    )
    report = ConcernReport.objects.get()
    assert report.photo.name.endswith(".jpg")
    assert (photo_storage / report.photo.name).exists()


def _report(client: Client, plan: AftercarePlan, symptoms: list[str]) -> str:
    """The page the patient sees after sending the report: its thank-you page, by GET."""
    response = _signed_in(client, plan).post(
        _page(plan, "report"), _form(client, {"symptoms": symptoms})
    )
    assert response.status_code == 302
    assert response.url == _page(plan, "report_sent")
    page = client.get(response.url)
    assert page.status_code == 200
    return page.content.decode()


def test_heat_and_redness_two_hours_after_treatment_are_normal_and_no_call_now(client, clock):
    clock.move_to(TREATED + timedelta(hours=2))
    plan = _plan()
    html = _report(client, plan, ["heat", "redness"])
    assert not ConcernReport.objects.get().is_red_flag
    assert CALL_NOW not in html
    assert "alert urgent" not in html
    assert "What you ticked is normal at this stage" in html
    assert (
        "<strong>Skin that feels hot and very inflamed</strong>: this is normal in the first 3 days"
        in (html)
    )
    assert "What your plan says is normal now" in html
    assert "The clinic's team will still read your report." in html


def test_heat_and_redness_80_hours_after_treatment_are_a_red_flag(client, clock):
    clock.move_to(TREATED + timedelta(hours=80))
    plan = _plan()
    html = _report(client, plan, ["heat", "redness_past_72h"])
    assert ConcernReport.objects.get().is_red_flag
    assert f"<h1>{CALL_NOW}</h1>" in html


def test_trouble_breathing_on_day_0_says_call_the_emergency_number_first(client, clock):
    clock.move_to(TREATED + timedelta(minutes=30))
    plan = _plan()
    html = _report(client, plan, ["breathing"])
    report = ConcernReport.objects.get()
    assert (report.is_red_flag, report.is_emergency) == (True, True)
    content = html[html.index('<main id="main">') :]
    assert content.index("<h1>Call 999 now</h1>") < content.index("tel:+442079460123")
    assert '<a class="button warn" href="tel:999">Call 999 now</a>' in html


def test_an_australian_clinic_says_000(client, clock):
    plan = _plan(clinic=ClinicFactory(timezone="Australia/Sydney"))
    assert "<h1>Call 000 now</h1>" in _report(client, plan, ["breathing"])


def test_the_form_does_not_offer_still_there_after_3_days_on_day_0(client, clock):
    clock.move_to(TREATED + timedelta(hours=2))
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "report")).content.decode()
    assert "Redness or swelling still there after 3 days" not in html
    assert 'value="redness"' in html
    assert "Trouble breathing or swallowing" in html


def test_the_form_offers_still_there_after_3_days_from_hour_72(client, clock):
    clock.move_to(TREATED + timedelta(hours=73))
    plan = _plan()
    html = _signed_in(client, plan).get(_page(plan, "report")).content.decode()
    assert "Redness or swelling still there after 3 days" in html
    assert 'value="redness"' not in html


# Who to call: the clinic when it is open, the out-of-hours line when it is closed

WEEKDAYS = [(day, "09:00", "18:00") for day in range(5)]
CLINIC_TEL = 'href="tel:+442079460123"'
OUT_OF_HOURS_TEL = 'href="tel:+442079460999"'


def _open_weekdays(**kwargs):
    return ClinicFactory(opening_hours=WEEKDAYS, **kwargs)


def _who_to_call(html: str) -> str:
    return re.search(r'<section class="who-to-call".*?</section>', html, re.S).group(0)


def test_warning_signs_give_the_clinics_number_while_it_is_open(client, clock):
    plan = _plan(clinic=_open_weekdays())  # Friday 10:00
    html = _signed_in(client, plan).get(_page(plan, "warning_signs")).content.decode()
    section = _who_to_call(html)
    assert "we are open now" in section
    assert f"<a {CLINIC_TEL}>Call us on +44 20 7946 0123</a>" in section
    assert '<a href="tel:999"><strong>Call 999 now</strong></a>' in section
    assert "Our opening hours: Mon-Fri 9:00-18:00." in section


def test_warning_signs_give_the_out_of_hours_number_while_it_is_closed(client, clock):
    clock.move_to(datetime(2026, 5, 15, 20, 0, tzinfo=LONDON))  # Friday evening
    plan = _plan(clinic=_open_weekdays())
    html = _signed_in(client, plan).get(_page(plan, "warning_signs")).content.decode()
    section = _who_to_call(html)
    assert "we are closed now" in section
    assert f"<a {OUT_OF_HOURS_TEL}>call our out-of-hours line on +44 20 7946 0999</a>" in section
    assert "When we are open, call us on" in section


def test_closed_without_an_out_of_hours_number_says_when_it_opens(client, clock):
    clock.move_to(datetime(2026, 5, 15, 20, 0, tzinfo=LONDON))  # Friday evening
    plan = _plan(clinic=_open_weekdays(out_of_hours_phone=""))
    section = _who_to_call(
        _signed_in(client, plan).get(_page(plan, "warning_signs")).content.decode()
    )
    assert "We open again on Monday at 9:00." in section
    assert "If it can't wait, call 999 or go to urgent care." in section


def test_without_opening_hours_the_page_gives_both_numbers_and_no_claim(client, clock):
    plan = _plan()
    section = _who_to_call(
        _signed_in(client, plan).get(_page(plan, "warning_signs")).content.decode()
    )
    assert CLINIC_TEL in section and OUT_OF_HOURS_TEL in section
    assert "open now" not in section and "closed now" not in section


def test_today_has_a_card_with_the_two_numbers_to_call_now(client, clock):
    plan = _plan(clinic=_open_weekdays())
    section = _who_to_call(_signed_in(client, plan).get(_page(plan, "today")).content.decode())
    assert '<a class="button warn" href="tel:999">' in section
    assert f'<a class="button" {CLINIC_TEL}>Other warning signs: call us on' in section


def test_today_at_night_gives_the_out_of_hours_number(client, clock):
    clock.move_to(datetime(2026, 5, 15, 23, 0, tzinfo=LONDON))
    plan = _plan(clinic=_open_weekdays())
    section = _who_to_call(_signed_in(client, plan).get(_page(plan, "today")).content.decode())
    assert (
        f'<a class="button" {OUT_OF_HOURS_TEL}>Other warning signs: call our out-of-hours line'
        in (section)
    )


def test_a_red_flag_when_closed_says_call_the_out_of_hours_line(client, clock):
    clock.move_to(datetime(2026, 5, 15, 20, 0, tzinfo=LONDON))
    plan = _plan(clinic=_open_weekdays())
    html = _report(client, plan, ["pus"])
    assert "<h1>Call our out-of-hours line now</h1>" in html
    assert f'<a class="button warn" {OUT_OF_HOURS_TEL}>Call +44 20 7946 0999</a>' in html


# Calendar file


def test_the_calendar_file_is_offered_as_a_download(client, clock):
    plan = _plan()
    response = _signed_in(client, plan).get(_page(plan, "calendar"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="aftercare.ics"'
    assert response.content.startswith(b"BEGIN:VCALENDAR")


def test_the_calendar_keeps_its_event_ids_when_the_plan_is_adjusted(client, clock):
    plan = _plan()
    signed_in = _signed_in(client, plan)
    before = Calendar.from_ical(signed_in.get(_page(plan, "calendar")).content)
    practitioner = StaffMembershipFactory(clinic=plan.treatment.clinic).user
    plan_adjust(
        plan=plan, adjustment=Adjustment(kind=NOTE, text="Call me"), reason="", user=practitioner
    )
    after = Calendar.from_ical(signed_in.get(_page(plan, "calendar")).content)
    uids = [
        {str(event["UID"]) for event in calendar.walk("VEVENT")} for calendar in (before, after)
    ]
    assert uids[0] and uids[0] == uids[1]


# Unsubscribe from the plan pages


def test_unsubscribe_shows_a_confirm_page_and_changes_nothing(client, clock):
    plan = _plan()
    waiting = _pending(plan)
    response = _signed_in(client, plan).get(_page(plan, "unsubscribe"))
    assert "Stop reminder emails?" in response.content.decode()
    assert waiting > 0
    assert _pending(plan) == waiting


def test_confirming_unsubscribe_cancels_every_pending_reminder(client, clock):
    plan = _plan()
    response = _signed_in(client, plan).post(_page(plan, "unsubscribe"), _form(client), follow=True)
    assert "Reminders stopped" in response.content.decode()
    assert _pending(plan) == 0
    assert set(Reminder.objects.filter(plan=plan).values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, "unsubscribed")
    }


def test_confirming_unsubscribe_withdraws_email_consent(client, clock):
    plan = _plan()
    _signed_in(client, plan).post(_page(plan, "unsubscribe"), _form(client))
    patient = plan.treatment.patient
    patient.refresh_from_db()
    assert patient.email_consent is False
    assert not patient.can_receive_reminders


def test_unsubscribe_from_the_plan_pages_needs_the_form_token(clock):
    plan = _plan()
    client = _signed_in(Client(enforce_csrf_checks=True), plan)
    response = client.post(_page(plan, "unsubscribe"))
    assert response.status_code == 403
    assert _pending(plan) > 0


# One-click unsubscribe (the List-Unsubscribe URL)


def test_one_click_get_shows_a_confirm_page_and_changes_nothing(client, clock):
    plan = _plan()
    waiting = _pending(plan)
    response = client.get(_one_click_url(plan))
    assert response.status_code == 200
    assert "Stop reminder emails?" in response.content.decode()
    assert _pending(plan) == waiting


def test_one_click_post_works_without_cookies_or_csrf_token(clock):
    plan = _plan()
    client = Client(enforce_csrf_checks=True)
    response = client.post(_one_click_url(plan), ONE_CLICK_BODY, content_type=FORM)
    assert response.status_code == 200
    assert "Reminders stopped" in response.content.decode()
    assert _pending(plan) == 0


def test_one_click_post_twice_answers_200_both_times(client, clock):
    plan = _plan()
    url = _one_click_url(plan)
    first = client.post(url, ONE_CLICK_BODY, content_type=FORM)
    second = client.post(url, ONE_CLICK_BODY, content_type=FORM)
    assert (first.status_code, second.status_code) == (200, 200)


def test_one_click_with_a_tampered_token_is_404_and_changes_nothing(client, clock):
    plan = _plan()
    waiting = _pending(plan)
    url = _one_click_url(plan, _tampered(_token(plan)))
    response = client.post(url, ONE_CLICK_BODY, content_type=FORM)
    assert response.status_code == 404
    assert _pending(plan) == waiting


# Links that do not work


def test_a_tampered_token_gets_the_not_found_page_with_status_404(client, clock):
    plan = _plan()
    response = client.get(_open_url(plan, _tampered(_token(plan))))
    assert response.status_code == 404
    assert NOT_FOUND in response.content.decode()
    assert PATIENT_COOKIE_NAME not in client.cookies


def test_an_expired_token_gets_the_not_found_page_with_status_404(client, clock, settings):
    settings.PATIENT_LINK_DAYS = 2
    plan = _plan()  # treated on Tuesday, the link ran out on Thursday; today is Friday
    response = client.get(_open_url(plan))
    assert response.status_code == 404
    assert NOT_FOUND in response.content.decode()


def test_a_link_works_until_the_configured_lifetime_ends(client, clock, settings):
    settings.PATIENT_LINK_DAYS = 2
    clock.move_to(DAY_1)
    plan = _plan()
    assert client.get(_open_url(plan)).status_code == 302


def test_a_revoked_token_gets_the_not_found_page_with_status_404(client, clock):
    plan = _plan()
    token = _token(plan)
    links_revoke(patient_id=plan.treatment.patient_id, now=timezone.now())
    response = client.get(_open_url(plan, token))
    assert response.status_code == 404
    assert NOT_FOUND in response.content.decode()


def test_wrong_expired_and_revoked_tokens_get_the_very_same_page(clock, settings):
    clinic = ClinicFactory()
    wrong = _tampered(_token(_plan(clinic=clinic)))
    revoked_plan = _plan(clinic=clinic)
    revoked = _token(revoked_plan)
    links_revoke(patient_id=revoked_plan.treatment.patient_id, now=timezone.now())
    settings.PATIENT_LINK_DAYS = 2
    expired = _token(_plan(clinic=clinic))
    responses = [
        Client().get(reverse("patient:open", args=[clinic.slug, token]))
        for token in (wrong, expired, revoked)
    ]
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert responses[0].content == responses[1].content == responses[2].content
    assert [sorted(r.headers.items()) for r in responses[1:]] == [
        sorted(responses[0].headers.items())
    ] * 2


def test_the_not_found_page_gives_the_clinics_phone(client, clock):
    plan = _plan()
    html = client.get(_open_url(plan, _tampered(_token(plan)))).content.decode()
    assert 'href="tel:+442079460123"' in html
    assert plan.treatment.clinic.name in html


def test_the_not_found_page_names_no_patient(client, clock):
    plan = _plan()
    patient = plan.treatment.patient
    html = client.get(_open_url(plan, _tampered(_token(plan)))).content.decode()
    assert patient.first_name not in html
    assert patient.last_name not in html


def test_an_unknown_clinic_gets_the_not_found_page_without_a_phone(client, clock):
    response = client.get(reverse("patient:open", args=["no-such-clinic", "x" * 43]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "Please call your clinic and ask for a new link." in html
    assert "tel:" not in html


def test_a_reissued_link_opens_the_plan_and_the_old_one_no_longer_does(clock):
    plan = _plan()
    old = _token(plan)
    assert link_reissue(patient=plan.treatment.patient, now=timezone.now()) is not None
    new = _token(plan)
    assert new != old
    assert Client().get(_open_url(plan, new)).status_code == 302
    assert Client().get(_open_url(plan, old)).status_code == 404


def test_revoking_the_links_ends_a_session_opened_before(client, clock):
    plan = _plan()
    _signed_in(client, plan)
    links_revoke(patient_id=plan.treatment.patient_id, now=timezone.now())
    response = client.get(_page(plan, "today"))
    assert response.status_code == 404
    assert NO_SESSION in response.content.decode()


def test_an_open_session_ends_when_the_link_expires(client, clock):
    plan = _plan()
    _signed_in(client, plan)
    clock.move_to(PatientLink.objects.get(plan=plan).expires_at + timedelta(minutes=1))
    assert client.get(_page(plan, "today")).status_code == 404


@pytest.mark.parametrize("name", SESSION_PAGES)
def test_token_free_pages_without_a_session_say_how_to_open_the_plan(client, clock, name):
    plan = _plan()
    response = client.get(_page(plan, name))
    assert response.status_code == 404
    html = response.content.decode()
    assert NO_SESSION in html
    assert f'href="{_page(plan, "new_link")}"' in html


# One clinic's patient never sees another clinic's plan


def test_a_token_under_another_clinics_address_is_404(client, clock):
    plan = _plan()
    other = ClinicFactory()
    response = client.get(reverse("patient:open", args=[other.slug, _token(plan)]))
    assert response.status_code == 404
    assert PATIENT_COOKIE_NAME not in client.cookies


def test_a_session_from_one_clinic_cannot_open_another_clinics_pages(client, clock):
    plan = _plan()
    other_plan = _plan(clinic=ClinicFactory(name="Other Skin Clinic"))
    _signed_in(client, plan)
    for name in SESSION_PAGES:
        response = client.get(_page(other_plan, name))
        assert (name, response.status_code) == (name, 404)
        assert plan.treatment.patient.last_name not in response.content.decode()


def test_a_one_click_unsubscribe_under_another_clinics_address_changes_nothing(client, clock):
    plan = _plan()
    waiting = _pending(plan)
    other = ClinicFactory()
    url = reverse("patient:one_click_unsubscribe", args=[other.slug, _token(plan)])
    response = client.post(url, ONE_CLICK_BODY, content_type=FORM)
    assert response.status_code == 404
    assert _pending(plan) == waiting


# Headers and what the pages load


def _responses(client: Client, plan: AftercarePlan) -> dict[str, object]:
    token = _token(plan)
    responses = {
        "not found": Client().get(_open_url(plan, _tampered(token))),
        "one-click confirm": Client().get(_one_click_url(plan, token)),
        "open link": client.get(_open_url(plan, token)),
    }
    for name in SESSION_PAGES:
        responses[name] = client.get(_page(plan, name))
    responses["report sent"] = client.post(
        _page(plan, "report"), _form(client, {"symptoms": ["pus"]})
    )
    responses["unsubscribed"] = client.post(_page(plan, "unsubscribe"), _form(client))
    return responses


def test_every_patient_response_forbids_caching(client, clock):
    responses = _responses(client, _plan())
    assert {name: r["Cache-Control"] for name, r in responses.items()} == dict.fromkeys(
        responses, "no-store"
    )


def test_every_patient_response_sends_no_referrer(client, clock):
    responses = _responses(client, _plan())
    assert {name: r["Referrer-Policy"] for name, r in responses.items()} == dict.fromkeys(
        responses, "no-referrer"
    )


def test_every_patient_response_asks_not_to_be_indexed(client, clock):
    responses = _responses(client, _plan())
    assert {name: "noindex" in r["X-Robots-Tag"] for name, r in responses.items()} == (
        dict.fromkeys(responses, True)
    )


def test_every_patient_response_has_a_content_security_policy(client, clock):
    responses = _responses(client, _plan())
    assert {
        name: "default-src 'self'" in r["Content-Security-Policy"] for name, r in responses.items()
    } == (dict.fromkeys(responses, True))


def test_patient_pages_load_nothing_from_other_hosts(client, clock):
    responses = _responses(client, _plan())
    external = {
        name: re.findall(r'(?:src|href|action)\s*=\s*["\']?(?:https?:)?//[^"\'\s>]+', body)
        for name, r in responses.items()
        if r["Content-Type"].startswith("text/html")
        for body in [r.content.decode()]
    }
    assert external == dict.fromkeys(external, [])
    assert len(external) == 11


def test_the_patient_stylesheet_imports_nothing_from_other_hosts(settings):
    css = (settings.BASE_DIR / "static" / "css" / "patient.css").read_text()
    assert re.findall(r"(?:https?:)?//[\w.-]+\.\w+", css) == []
    assert "@import" not in css
