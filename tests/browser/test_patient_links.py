"""A patient's forms in headless Chromium, at phone and desktop size: a bookmarked page
opened without its session ("email me a new link"), refreshing the report's thank-you
page, and undoing an unsubscribe. axe-core checks each new page; screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from aftercare import tasks
from aftercare.delivery.dispatch import dispatch_due
from aftercare.delivery.reminders import reminders_stop_for_patient
from aftercare.links import link_addresses, link_current, token_for
from aftercare.models import AftercarePlan, ConcernReport, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import Patient
from tests.browser.axe import axe_violations, describe
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADDRESS = "maya.cole@example.com"
SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}


@pytest.fixture(autouse=True)
def no_broker(monkeypatch) -> None:
    """No Celery broker: the test sends due reminders itself."""
    monkeypatch.setattr(tasks.send_plan_reminders_now, "delay", lambda *args: None)
    monkeypatch.setattr(tasks.send_concern_alert, "delay", lambda *args: None)


@pytest.fixture(autouse=True)
def site(settings, live_server) -> str:
    cache.clear()
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture(params=list(SIZES))
def size(request) -> str:
    return request.param


@pytest.fixture
def page(browser, size):
    # axe-core goes in as an inline script, which the pages' CSP rightly refuses.
    context = browser.new_context(bypass_csp=True, **SIZES[size])
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def _plan() -> AftercarePlan:
    clinic = ClinicFactory()
    patient = PatientFactory(clinic=clinic, first_name="Maya", email=ADDRESS)
    treatment = TreatmentFactory(patient=patient, performed_at=timezone.now() - timedelta(days=3))
    return plan_create(treatment=treatment, now=timezone.now())


def _url(site: str, plan: AftercarePlan, name: str) -> str:
    return site + reverse(f"patient:{name}", args=[plan.treatment.clinic.slug])


def _open_link(page, site: str, plan: AftercarePlan) -> None:
    token = token_for(link_current(plan=plan, now=timezone.now()))
    page.goto(site + reverse("patient:open", args=[plan.treatment.clinic.slug, token]))


def _heading(page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def _check(page, artifacts, name: str, size: str) -> None:
    """Screenshot, no sideways scrolling on a phone, and no serious axe-core violations."""
    page.screenshot(path=artifacts / f"{name}-{size}.png", full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: {width}px wide"
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {name}:\n{describe(violations)}"


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


# A bookmarked page without its session


def test_a_bookmarked_page_explains_how_to_open_it_and_emails_a_new_link(
    page, site, size, smtp_sink, artifacts
):
    plan = _plan()
    page.goto(_url(site, plan, "today"))
    assert _heading(page) == "Open your plan from your email"
    assert "newest email" in page.locator("main").inner_text()
    _check(page, artifacts, "patient-no-session", size)

    page.get_by_role("link", name="Email me a new link").click()
    assert _heading(page) == "Get a new link"
    _check(page, artifacts, "patient-new-link-form", size)

    page.get_by_label("Your email address").fill("Maya.Cole@Example.com")
    page.get_by_role("button", name="Email me a new link").click()
    assert _heading(page) == "Check your email"
    assert "If that address is ours, a new link is on its way" in page.locator("main").inner_text()
    assert urlsplit(page.url).path == reverse(
        "patient:new_link_sent", args=[plan.treatment.clinic.slug]
    )
    _check(page, artifacts, "patient-new-link-sent", size)

    # The day-0 email of this late-logged treatment goes out too: the new link is the other.
    result = dispatch_due(now=timezone.now() + timedelta(seconds=1))
    [message] = [m for m in smtp_sink.wait_for(result.sent) if "Here is a new link" in _text(m)]
    assert message["To"] == ADDRESS
    [link] = [
        url
        for url in re.findall(rf"{re.escape(site)}/p/\S+", _text(message))
        if "/unsubscribe/" not in url
    ]
    page.goto(link)
    assert urlsplit(page.url).path == reverse("patient:today", args=[plan.treatment.clinic.slug])


def test_an_unknown_address_gets_the_same_answer_and_no_email(page, site, size, smtp_sink):
    plan = _plan()
    page.goto(_url(site, plan, "new_link"))
    page.get_by_label("Your email address").fill("someone.else@example.com")
    page.get_by_role("button", name="Email me a new link").click()
    assert _heading(page) == "Check your email"
    assert "If that address is ours, a new link is on its way" in page.locator("main").inner_text()
    assert not Reminder.objects.filter(kind__startswith="new-link").exists()


def test_a_mistyped_address_is_shown_again_with_what_to_fix(page, site, size, artifacts):
    plan = _plan()
    page.goto(_url(site, plan, "new_link"))
    page.get_by_label("Your email address").fill("maya.cole@")
    page.get_by_role("button", name="Email me a new link").click()
    assert _heading(page) == "Get a new link"
    assert page.get_by_label("Your email address").input_value() == "maya.cole@"
    assert "does not look like an email address" in page.locator("main").inner_text()
    _check(page, artifacts, "patient-new-link-error", size)


# The report's thank-you page


def test_refreshing_the_reports_thank_you_page_sends_nothing_again(page, site, size, artifacts):
    plan = _plan()
    _open_link(page, site, plan)
    page.goto(_url(site, plan, "report"))
    page.get_by_label("Pus or yellow crusts").check()
    page.get_by_role("button", name="Send to the clinic").click()
    assert _heading(page) == "Call the clinic now"
    assert urlsplit(page.url).path == reverse(
        "patient:report_sent", args=[plan.treatment.clinic.slug]
    )
    page.reload()
    assert _heading(page) == "Call the clinic now"
    assert (
        ConcernReport.objects.filter(plan__treatment__patient=plan.treatment.patient).count() == 1
    )
    _check(page, artifacts, "patient-report-sent-refreshed", size)


# Unsubscribing can be undone


def _consents(plan: AftercarePlan) -> bool:
    return Patient.objects.get(pk=plan.treatment.patient_id).email_consent


def _pending(plan: AftercarePlan) -> int:
    return Reminder.objects.filter(
        patient_id=plan.treatment.patient_id, status=ReminderStatus.PENDING
    ).count()


def test_unsubscribing_can_be_undone_from_the_confirmation_page(page, site, size, artifacts):
    plan = _plan()
    _open_link(page, site, plan)
    page.goto(_url(site, plan, "unsubscribe"))
    page.get_by_role("button", name="Stop reminder emails").click()
    assert _heading(page) == "Reminders stopped"
    assert page.get_by_role("heading", name="Changed your mind?").is_visible()
    assert not _consents(plan)
    _check(page, artifacts, "patient-unsubscribed", size)

    page.get_by_role("button", name="Start the reminders again").click()
    assert _heading(page) == "Reminders started again"
    assert "The next one comes on" in page.locator("main").inner_text()
    assert _consents(plan)
    assert _pending(plan) > 0
    _check(page, artifacts, "patient-reminders-resumed", size)

    page.reload()
    assert _heading(page) == "Reminders started again"


def test_a_later_emails_unsubscribe_link_says_already_stopped_and_offers_to_start_again(
    page, site, size, artifacts
):
    plan = _plan()
    url = link_addresses(link_current(plan=plan, now=timezone.now()))[2]
    reminders_stop_for_patient(
        patient=Patient.objects.get(pk=plan.treatment.patient_id), reason="unsubscribed"
    )
    page.goto(url)
    assert _heading(page) == "Reminders stopped"
    assert "You have already stopped reminder emails" in page.locator("main").inner_text()
    _check(page, artifacts, "patient-already-unsubscribed", size)
    page.get_by_role("button", name="Start the reminders again").click()
    assert _heading(page) == "Reminders started again"
    assert _consents(plan)
