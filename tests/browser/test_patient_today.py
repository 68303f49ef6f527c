"""What a patient sees today (issue #18), in headless Chromium at phone and desktop size.

Today leads with at most five points and the call card, lists what has to wait with its
date, keeps everything else one tap away in <details> (no JavaScript needed), and fits a
treatment-day plan in about two phone screens. The Timeline's days open to their text
and its milestones say what happens. The reminder email leads with the day's points and
the warning signs, then the link. Screenshots go to test-artifacts/<test>-<size>.png.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from aftercare import tasks
from aftercare.delivery.emails import reminder_email
from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, Reminder
from aftercare.planner.today import POINTS_ON_A_PAGE
from aftercare.plans.services import plan_create
from tests.browser.axe import axe_violations, describe
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
# Two phone screens (2 x 844 px) and a little slack: the day-0 page was 5,000 px tall.
TWO_PHONE_SCREENS = 1800
FULL_FACE = ["forehead", "cheeks", "nose", "perioral", "chin_jawline"]
WEEKDAY_DATE_TIME = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}, \d\d:\d\d"
RELATIVE = r"\((today|tomorrow|in \d+ days)\)"
REMINDER_SUBJECTS = ("Your aftercare starts now", "The morning after", "Three days in")


@pytest.fixture(autouse=True)
def no_broker(monkeypatch) -> None:
    monkeypatch.setattr(tasks.send_plan_reminders_now, "delay", lambda *args: None)


@pytest.fixture(autouse=True)
def site(live_server) -> str:
    cache.clear()  # no bad-link count left over from another test
    return live_server.url


def _context(browser, size: str, **options):
    context = browser.new_context(device_scale_factor=1, **SIZES[size], **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture(params=list(SIZES))
def size(request) -> str:
    return request.param


@pytest.fixture
def page(browser, size):
    context = _context(browser, size)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser):
    context = _context(browser, "phone")
    yield context.new_page()
    context.close()


def _treated(days_ago: int, zone: ZoneInfo) -> datetime:
    """`days_ago` local days before now, earlier today's clock time (never before midnight)."""
    now = timezone.localtime(timezone.now(), zone)
    midnight = datetime.combine(now.date(), datetime.min.time(), tzinfo=zone)
    today = max(now - timedelta(hours=1), midnight + timedelta(minutes=1))
    return datetime.combine(
        today.date() - timedelta(days=days_ago), today.time(), tzinfo=zone
    ).astimezone(zone)


def _plan(days_ago: int = 0, **treatment: object) -> AftercarePlan:
    clinic = ClinicFactory()
    made = TreatmentFactory(
        patient=PatientFactory(clinic=clinic, first_name="Maya", email="maya@example.com"),
        performed_at=_treated(days_ago, ZoneInfo(clinic.timezone)),
        **treatment,
    )
    return plan_create(treatment=made, now=timezone.now())


def _face_plan(days_ago: int = 0) -> AftercarePlan:
    return _plan(days_ago, depth_mm=Decimal("1.0"), passes=3, areas=FULL_FACE)


def _open(page, site: str, plan: AftercarePlan, name: str = "today") -> None:
    slug = plan.treatment.clinic.slug
    token = token_for(link_current(plan=plan, now=timezone.now()))
    page.goto(site + reverse("patient:open", args=[slug, token]))
    if name != "today":
        page.goto(site + reverse(f"patient:{name}", args=[slug]))


def _shot(page, artifacts, request, size: str) -> None:
    name = re.sub(r"\[.*\]$", "", request.node.name)
    page.screenshot(path=artifacts / f"{name}-{size}.png", full_page=True)


def _height(page) -> int:
    return int(page.evaluate("() => document.documentElement.scrollHeight"))


# Today is today


def test_the_treatment_day_page_fits_in_about_two_phone_screens(phone, site, artifacts, request):
    _open(phone, site, _face_plan(days_ago=0))
    assert phone.get_by_role("heading", level=1).inner_text() == "Treatment day"
    _shot(phone, artifacts, request, "phone")
    assert _height(phone) <= TWO_PHONE_SCREENS, _height(phone)


def test_today_says_treatment_day_then_day_3(page, site, artifacts, request, size):
    _open(page, site, _face_plan(days_ago=3))
    assert page.get_by_role("heading", level=1).inner_text() == "Day 3"
    assert "of your recovery" not in page.locator("main").inner_text()
    _shot(page, artifacts, request, size)


def test_today_shows_at_most_five_points_and_the_call_card(page, site, artifacts, request, size):
    _open(page, site, _face_plan())
    points = page.locator("section.points li.point")
    assert 1 <= points.count() <= POINTS_ON_A_PAGE
    card = page.locator("section.who-to-call")
    assert card.is_visible()
    assert card.get_by_role("link", name=re.compile("Call 999 now")).get_attribute("href") == (
        "tel:999"
    )
    # The card comes right after the points, before the list of what has to wait.
    order = page.evaluate(
        """() => [...document.querySelectorAll('main > section, main > details')]
              .map(node => node.className.split(' ')[0] || node.id || node.tagName)"""
    )
    assert order.index("points") < order.index("who-to-call")
    _shot(page, artifacts, request, size)


def test_what_has_to_wait_reads_ok_again_with_weekday_date_time_and_in_days(
    page, site, artifacts, request, size
):
    _open(page, site, _face_plan(days_ago=3))
    waiting = page.locator("ul.restrictions li:not(.allowed) summary").all_text_contents()
    assert waiting
    for line in waiting:
        line = " ".join(line.split())
        assert re.fullmatch(rf".+: OK again from {WEEKDAY_DATE_TIME} {RELATIVE}", line), line
    allowed = page.locator("section ul.restrictions li.allowed").all_inner_texts()
    assert allowed and all(line.endswith(": OK again now") for line in allowed)
    _shot(page, artifacts, request, size)


def test_what_has_to_wait_is_sorted_by_time_with_what_is_allowed_first(phone, site):
    plan = _face_plan(days_ago=3)
    _open(phone, site, plan)
    # Those that wait longer are folded away, in the same order: read them all.
    labels = phone.locator("section ul.restrictions li strong").all_text_contents()
    now = timezone.now()
    shown = [r for r in plan.content_plan.restrictions if r.label in labels]
    by_end = sorted(shown, key=lambda r: (r.ends_at, r.label))
    assert labels == [r.label for r in by_end]
    assert [r.ends_at <= now for r in by_end] == sorted(
        (r.ends_at <= now for r in by_end), reverse=True
    )


def test_why_something_has_to_wait_is_one_tap_away(phone, site):
    plan = _face_plan()
    _open(phone, site, plan)
    first = phone.locator("ul.restrictions li details").first
    label = first.locator("summary strong").inner_text()
    body = next(r for r in plan.content_plan.restrictions if r.label == label).body_md
    reason = first.locator("p").first
    assert not reason.is_visible()
    first.locator("summary").tap()
    assert reason.is_visible()
    assert reason.inner_text().split()[:3] == body.replace("**", "").split()[:3]


def test_everything_else_is_one_tap_away_without_javascript(browser, site, artifacts, request):
    context = _context(browser, "phone", java_script_enabled=False)
    page = context.new_page()
    _open(page, site, _face_plan())
    more = page.locator("details.more")
    summary = more.locator("summary")
    assert re.fullmatch(r"More for today \(\d+ tips\)", summary.inner_text())
    heading = more.get_by_role("heading", level=2).first
    assert not heading.is_visible()
    summary.click()
    assert heading.is_visible()
    _shot(page, artifacts, request, "phone")
    context.close()


def test_no_item_is_shown_twice_on_today(page, site, size):
    _open(page, site, _face_plan())
    points = page.locator(".point summary").all_text_contents()
    titles = [re.sub(r"^\s*(Expect|Do|Avoid|Use)\s+", "", t).strip() for t in points]
    titles += [t.strip() for t in page.locator("details.more h3").all_text_contents()]
    assert len(titles) > len(points) > 0
    assert len(titles) == len(set(titles))
    waits = [t.strip().lower() for t in page.locator("ul.restrictions strong").all_text_contents()]
    assert not {t.lower() for t in titles} & set(waits)


# The Timeline


def test_the_timelines_days_open_to_their_text(page, site, artifacts, request, size):
    plan = _face_plan(days_ago=3)
    _open(page, site, plan, "timeline")
    today = page.locator('li.day[aria-current="date"] details')
    assert today.get_attribute("open") is not None  # today's day is open already
    day_1 = page.locator("li.day").nth(1)
    text = day_1.locator("details h4").first
    assert not text.is_visible()
    day_1.locator("summary").click()
    assert text.is_visible()
    assert day_1.locator("details p").first.inner_text()
    _shot(page, artifacts, request, size)


def test_the_timelines_milestones_read_as_what_happens(page, site, size):
    plan = _face_plan(days_ago=3)
    _open(page, site, plan, "timeline")
    milestones = page.locator("ul.milestones").inner_text()
    for happening in ("Most redness gone", "Flaking may start", "Makeup: OK again"):
        assert happening in milestones
    assert "Time to book your next session" in milestones
    for subject in REMINDER_SUBJECTS:
        assert subject not in milestones


def test_the_timeline_says_treatment_day_for_day_0(phone, site):
    _open(phone, site, _face_plan(days_ago=3), "timeline")
    first_day = phone.locator("li.day h3").first.inner_text()
    assert re.fullmatch(r"Treatment day · (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} \w{3}", first_day)


# The email


def _rendered_email(plan: AftercarePlan) -> str:
    reminder = Reminder.objects.filter(plan=plan).order_by("due_at").first()
    return reminder_email(
        reminder,
        plan=plan.content_plan,
        plan_url="https://example.com/p/x/",
        unsubscribe_url="https://example.com/u/",
    ).html


def test_the_email_leads_with_the_points_and_warning_signs_then_the_link(
    page, artifacts, request, size
):
    plan = _face_plan()
    page.set_content(_rendered_email(plan))
    text = page.locator("body").inner_text()
    points = text.index("The main points for today")
    warnings = text.index("Warning signs and what to do")
    link = text.index("Open your aftercare plan")
    waiting = text.index("Still to avoid for now")
    assert points < warnings < link < waiting
    for line in re.findall(r".+: OK again from .+", text):
        assert re.fullmatch(rf".+: OK again from {WEEKDAY_DATE_TIME}", line), line
    _shot(page, artifacts, request, size)


# Accessibility


@pytest.mark.parametrize("name", ["today", "timeline"])
def test_axe_finds_no_serious_or_critical_violations(browser, site, size, name):
    context = _context(browser, size, bypass_csp=True)  # axe-core goes in as an inline script
    page = context.new_page()
    _open(page, site, _face_plan(days_ago=3), name)
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = axe_violations(page)
    context.close()
    assert violations == [], f"axe-core on {name} ({size}):\n{describe(violations)}"
