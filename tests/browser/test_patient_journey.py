"""A patient follows the link in their emailed reminder, in headless Chromium at phone size.

The reminder is really sent (aftercare.delivery.dispatch.dispatch_due) to an SMTP sink, and the link
is taken from the text part of the message that arrived there.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from aftercare import tasks
from aftercare.delivery.dispatch import dispatch_due
from aftercare.links import link_current, token_for
from aftercare.models import (
    AftercarePlan,
    ConcernReport,
    Reminder,
    ReminderStatus,
)
from aftercare.plans.services import plan_create
from tests.browser.axe import axe_violations, describe
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 390, "height": 844}
DAY_0_LABEL = "Your aftercare starts now"
BREATHING = "Trouble breathing or swallowing, or swelling of the lips, tongue or throat"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch) -> dict[str, list[int]]:
    """Keep Celery tasks off any real broker; record what would have been queued."""
    queued: dict[str, list[int]] = {"plan reminders": [], "concern alerts": []}
    monkeypatch.setattr(tasks.send_plan_reminders_now, "delay", queued["plan reminders"].append)
    monkeypatch.setattr(tasks.send_concern_alert, "delay", queued["concern alerts"].append)
    return queued


@pytest.fixture(autouse=True)
def site(settings, live_server) -> str:
    cache.clear()
    settings.SITE_URL = live_server.url  # emailed links point at the live server
    return live_server.url


def _new_context(browser, **options):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, **options
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def phone(browser):
    """A phone-sized page that records every request and every console error."""
    context = _new_context(browser)
    page = context.new_page()
    page.requested = []
    page.errors = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


ORIGIN_NULL_BUG = (
    "bug: patient pages send Referrer-Policy: no-referrer (aftercare/portal/views.py "
    "PRIVATE_HEADERS, and the meta tag in templates/patient/base.html), so Chromium sends "
    "'Origin: null' with every form POST (Fetch spec) and Django's CSRF check answers 403 "
    "'Origin checking failed - null does not match any trusted origins' on the report form "
    "and the in-session unsubscribe form"
)


@pytest.fixture
def phone_for_axe(browser, site):
    # axe-core goes in as an inline script, which the pages' CSP rightly refuses.
    context = _new_context(browser, bypass_csp=True)
    page = context.new_page()

    def with_real_origin(route):
        # Works around ORIGIN_NULL_BUG so the pages after a POST can be checked at all.
        if route.request.method == "POST":
            headers = {**route.request.headers, "origin": site}
            route.fulfill(response=route.fetch(headers=headers, max_redirects=0))
        else:
            route.continue_()

    page.route("**/*", with_real_origin)
    yield page
    context.close()


@pytest.fixture
def phone_without_javascript(browser):
    context = _new_context(browser, java_script_enabled=False)
    yield context.new_page()
    context.close()


def _treated(days_ago: int, clinic) -> datetime:
    """A moment `days_ago` local calendar days before now, at today's local clock time."""
    zone = ZoneInfo(clinic.timezone)
    now = timezone.localtime(timezone.now(), zone)
    day = now.date() - timedelta(days=days_ago)
    return datetime.combine(day, now.time(), tzinfo=zone) - timedelta(minutes=1)


def _plan(days_ago: int = 3) -> AftercarePlan:
    clinic = ClinicFactory()
    patient = PatientFactory(clinic=clinic, first_name="Maya", email="maya@example.com")
    treatment = TreatmentFactory(patient=patient, performed_at=_treated(days_ago, clinic))
    return plan_create(treatment=treatment, now=timezone.now())


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _emailed_link(smtp_sink, site: str, days_ago: int = 3) -> tuple[AftercarePlan, str]:
    """Make a plan, send what is due, and take the plan link from the day-0 email."""
    plan = _plan(days_ago)
    # Late in the evening the day-0 email waits for the next morning: send it when due.
    first_due = plan.reminders.order_by("due_at").first().due_at
    result = dispatch_due(now=max(timezone.now(), first_due))
    assert result.sent >= 1, result
    day_0 = [m for m in smtp_sink.wait_for(result.sent) if DAY_0_LABEL in _text(m)]
    assert len(day_0) == 1
    links = re.findall(rf"{re.escape(site)}/p/\S+", _text(day_0[0]))
    plan_links = [link for link in links if "/unsubscribe/" not in link]
    assert len(plan_links) == 1, links
    return plan, plan_links[0]


def _patient_messages(smtp_sink, plan: AftercarePlan) -> list:
    return [m for m in smtp_sink.messages if plan.treatment.patient.email in m["To"]]


def _heading(page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


# The journey


def test_the_emailed_link_opens_today_on_day_3(phone, smtp_sink, site, artifacts):
    plan, link = _emailed_link(smtp_sink, site, days_ago=3)
    phone.goto(link)
    assert _heading(phone) == "Day 3"
    assert urlsplit(phone.url).path == reverse("patient:today", args=[plan.treatment.clinic.slug])
    phone.screenshot(path=artifacts / "patient-today.png", full_page=True)


def test_the_emailed_link_on_the_day_of_the_treatment_opens_the_treatment_day(
    phone, smtp_sink, site
):
    _, link = _emailed_link(smtp_sink, site, days_ago=0)
    phone.goto(link)
    assert _heading(phone) == "Treatment day"


def test_the_timeline_highlights_today(phone, smtp_sink, site, artifacts):
    _, link = _emailed_link(smtp_sink, site, days_ago=3)
    phone.goto(link)
    phone.get_by_role("navigation", name="Your aftercare").get_by_role(
        "link", name="Timeline"
    ).click()
    assert _heading(phone) == "Your recovery timeline"
    today = phone.locator('li.day[aria-current="date"]')
    assert today.count() == 1
    assert today.get_by_role("heading", level=3).inner_text().startswith("Day 3 ·")
    phone.screenshot(path=artifacts / "patient-timeline.png", full_page=True)


def test_a_red_flag_report_tells_the_patient_to_call_the_clinic_now(
    phone, smtp_sink, site, no_broker
):
    plan, link = _emailed_link(smtp_sink, site)
    phone.goto(link)
    phone.get_by_role("link", name="Something not right?").click()
    phone.get_by_label("Pus or yellow crusts").check()
    phone.get_by_role("button", name="Send to the clinic").click()
    assert _heading(phone) == "Call the clinic now"
    assert phone.get_by_role("link", name="Call +44 20 7946 0123").first.get_attribute("href") == (
        "tel:+442079460123"
    )
    report = ConcernReport.objects.get(plan=plan)
    assert (report.symptoms, report.is_red_flag) == (["pus"], True)
    assert no_broker["concern alerts"] == [report.pk]


def test_trouble_breathing_tells_the_patient_to_call_the_emergency_number_first(
    phone, smtp_sink, site, no_broker
):
    plan, link = _emailed_link(smtp_sink, site, days_ago=0)
    phone.goto(link)
    phone.get_by_role("link", name="Something not right?").click()
    phone.get_by_label(BREATHING).check()
    phone.get_by_role("button", name="Send to the clinic").click()
    assert _heading(phone) == "Call 999 now"
    call = phone.get_by_role("link", name="Call 999 now").first
    assert call.get_attribute("href") == "tel:999"
    report = ConcernReport.objects.get(plan=plan)
    assert (report.is_red_flag, report.is_emergency) == (True, True)
    assert no_broker["concern alerts"] == [report.pk]


def test_unsubscribing_from_the_footer_stops_every_further_reminder(phone, smtp_sink, site):
    plan, link = _emailed_link(smtp_sink, site)
    assert Reminder.objects.filter(plan=plan, status=ReminderStatus.PENDING).exists()
    phone.goto(link)
    phone.get_by_role("contentinfo").get_by_role("link", name="Stop reminder emails").click()
    assert _heading(phone) == "Stop reminder emails?"
    phone.get_by_role("button", name="Stop reminder emails").click()
    assert _heading(phone) == "Reminders stopped"

    received = len(_patient_messages(smtp_sink, plan))
    result = dispatch_due(now=timezone.now() + timedelta(days=400))
    assert result.sent == 0
    assert len(_patient_messages(smtp_sink, plan)) == received
    unsent = Reminder.objects.filter(plan=plan).exclude(status=ReminderStatus.SENT)
    assert set(unsent.values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, "unsubscribed")
    }


def test_unsubscribing_from_the_emails_link_stops_every_further_reminder(phone, smtp_sink, site):
    plan, link = _emailed_link(smtp_sink, site)
    message = [m for m in _patient_messages(smtp_sink, plan) if DAY_0_LABEL in _text(m)][0]
    unsubscribe_link = re.search(rf"Stop these reminders: ({re.escape(site)}\S+)", _text(message))
    assert Reminder.objects.filter(plan=plan, status=ReminderStatus.PENDING).exists()
    phone.goto(unsubscribe_link.group(1))
    assert _heading(phone) == "Stop reminder emails?"
    phone.get_by_role("button", name="Stop reminder emails").click()
    assert _heading(phone) == "Reminders stopped"

    received = len(_patient_messages(smtp_sink, plan))
    result = dispatch_due(now=timezone.now() + timedelta(days=400))
    assert result.sent == 0
    assert len(_patient_messages(smtp_sink, plan)) == received
    unsent = Reminder.objects.filter(plan=plan).exclude(status=ReminderStatus.SENT)
    assert set(unsent.values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, "unsubscribed")
    }


def test_the_emails_one_click_unsubscribe_header_works_without_a_browser_session(
    phone, smtp_sink, site
):
    plan, link = _emailed_link(smtp_sink, site)
    message = [m for m in _patient_messages(smtp_sink, plan) if DAY_0_LABEL in _text(m)][0]
    header = message["List-Unsubscribe"].strip()
    slug = plan.treatment.clinic.slug
    assert header.startswith(f"<{site}/p/{slug}/unsubscribe/") and header.endswith("/>")
    assert message["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"
    response = phone.request.post(
        header[1:-1],
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        max_redirects=0,
    )
    assert response.status == 200
    assert not Reminder.objects.filter(plan=plan, status=ReminderStatus.PENDING).exists()


# How the pages behave on a phone


def _visit_every_page(page, link: str) -> list[str]:
    page.goto(link)
    titles = [_heading(page)]
    for name in ("Timeline", "Warning signs", "Something not right?", "Today"):
        page.get_by_role("navigation", name="Your aftercare").get_by_role("link", name=name).click()
        titles.append(_heading(page))
    return titles


def test_the_pages_load_nothing_from_other_hosts(phone, smtp_sink, site):
    _, link = _emailed_link(smtp_sink, site)
    _visit_every_page(phone, link)
    hosts = {urlsplit(url).netloc for url in phone.requested}
    assert hosts == {urlsplit(site).netloc}


def test_the_pages_break_no_content_security_policy_and_throw_no_errors(phone, smtp_sink, site):
    _, link = _emailed_link(smtp_sink, site)
    _visit_every_page(phone, link)
    assert phone.errors == []


def test_the_pages_can_be_read_and_used_without_javascript(
    phone_without_javascript, smtp_sink, site
):
    _, link = _emailed_link(smtp_sink, site)
    titles = _visit_every_page(phone_without_javascript, link)
    assert titles == [
        "Day 3",
        "Your recovery timeline",
        "Warning signs",
        "Something not right?",
        "Day 3",
    ]


@pytest.mark.parametrize("name", ["today", "timeline", "warning_signs", "report", "how_we_remind"])
def test_the_pages_fit_the_phone_without_sideways_scrolling(phone, smtp_sink, site, name):
    plan, link = _emailed_link(smtp_sink, site)
    phone.goto(link)
    phone.goto(site + reverse(f"patient:{name}", args=[plan.treatment.clinic.slug]))
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]


def test_the_warning_signs_are_one_tap_away_with_the_phone_number(phone, smtp_sink, site):
    _, link = _emailed_link(smtp_sink, site)
    phone.goto(link)
    phone.get_by_role("link", name="Warning signs").first.tap()
    assert _heading(phone) == "Warning signs"
    call = phone.locator("main").get_by_role("link", name=re.compile(r"\+44 20 7946 0123"))
    assert call.first.get_attribute("href") == "tel:+442079460123"


def test_printing_leaves_out_the_tabs_and_keeps_the_plan(phone, smtp_sink, site):
    _, link = _emailed_link(smtp_sink, site)
    phone.goto(link)
    phone.emulate_media(media="print")
    assert phone.locator("nav.tabs").is_hidden()
    assert phone.get_by_role("heading", level=1).is_visible()


# Accessibility: axe-core on every patient page


def _signed_in(page, site: str, plan: AftercarePlan, token: str) -> str:
    slug = plan.treatment.clinic.slug
    page.goto(site + reverse("patient:open", args=[slug, token]))
    return slug


def _reach(page, site: str, name: str, settings) -> None:
    plan = _plan()
    token = token_for(link_current(plan=plan, now=timezone.now()))
    slug = plan.treatment.clinic.slug
    if name == "link not found":
        page.goto(site + reverse("patient:open", args=[slug, token[:-3] + "abc"]))
    elif name == "too many attempts":
        settings.PATIENT_LINK_FAILURE_LIMIT = 1
        page.goto(site + reverse("patient:open", args=[slug, "x" * 43]))
        page.goto(site + reverse("patient:open", args=[slug, "y" * 43]))
    elif name == "one-click confirm":
        page.goto(site + reverse("patient:one_click_unsubscribe", args=[slug, token]))
    else:
        _signed_in(page, site, plan, token)
        pages = {
            "today": "today",
            "timeline": "timeline",
            "warning signs": "warning_signs",
            "report form": "report",
            "report sent (red flag)": "report",
            "report sent (emergency)": "report",
            "report sent (routine)": "report",
            "unsubscribe confirm": "unsubscribe",
            "unsubscribed": "unsubscribe",
            "how we remind you": "how_we_remind",
            "how we remind you (saved)": "how_we_remind",
        }
        page.goto(site + reverse(f"patient:{pages[name]}", args=[slug]))
        if name.startswith("report sent"):
            symptom = {
                "report sent (red flag)": "Severe or worsening pain",
                "report sent (emergency)": BREATHING,
                "report sent (routine)": "Spots or breakouts",
            }[name]
            page.get_by_label(symptom).check()
            page.get_by_role("button", name="Send to the clinic").click()
        elif name == "unsubscribed":
            page.get_by_role("button", name="Stop reminder emails").click()
        elif name == "how we remind you (saved)":
            page.get_by_label("Email and text").check()
            page.get_by_role("button", name="Save").click()
            page.get_by_text("Saved: we will remind you by email and text.").wait_for()


EXPECTED_HEADINGS = {
    "today": "Day 3",
    "timeline": "Your recovery timeline",
    "warning signs": "Warning signs",
    "report form": "Something not right?",
    "report sent (red flag)": "Call the clinic now",
    "report sent (emergency)": "Call 999 now",
    "report sent (routine)": "Thank you, your report was sent",
    "link not found": "This link does not work",
    "too many attempts": "Too many attempts",
    "unsubscribe confirm": "Stop reminder emails?",
    "one-click confirm": "Stop reminder emails?",
    "unsubscribed": "Reminders stopped",
    "how we remind you": "How we remind you",
    "how we remind you (saved)": "How we remind you",
}


@pytest.mark.parametrize("name", list(EXPECTED_HEADINGS))
def test_axe_finds_no_serious_or_critical_violations(phone_for_axe, site, settings, name):
    _reach(phone_for_axe, site, name, settings)
    assert _heading(phone_for_axe) == EXPECTED_HEADINGS[name]
    violations = axe_violations(phone_for_axe)
    assert violations == [], f"axe-core on the {name} page:\n{describe(violations)}"
