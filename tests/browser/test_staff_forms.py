"""Staff forms in headless Chromium, at phone and desktop size: Back and submit again on
*Log a treatment* asks before saving a second identical treatment; staff record a
patient's renewed agreement to emails and can then email a new link. axe-core checks the
new parts of the pages; screenshots go to test-artifacts/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from aftercare import tasks
from aftercare.delivery.reminders import reminders_stop_for_patient
from aftercare.models import AftercarePlan, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from clinic.models import StaffRole
from patients.models import ConsentSource, Patient, Treatment
from tests.browser.axe import axe_violations, describe
from tests.factories import STAFF_PASSWORD, PatientFactory, StaffMembershipFactory, TreatmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}


@pytest.fixture(autouse=True)
def no_broker(monkeypatch) -> None:
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


def _logged_in(browser, site: str, size: str, user):
    context = browser.new_context(bypass_csp=True, **SIZES[size])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Today", exact=True).wait_for()
    return page


def _axe(page, selector: str, name: str) -> None:
    """axe-core on what this change added to the page (inside `selector`); the rest of the
    staff pages (navbar, shared buttons) is the staff pages' own accessibility tests' job."""
    inside = page.locator(selector)
    found = []
    for violation in axe_violations(page):
        nodes = [
            node for node in violation["nodes"] if inside.evaluate_all(_INSIDE, node["target"][0])
        ]
        if nodes:
            found.append({**violation, "nodes": nodes})
    assert found == [], f"axe-core on {name}:\n{describe(found)}"


# True when the element the selector names lies inside one of the located elements.
_INSIDE = "(elements, target) => elements.some(e => e.matches(target) || !!e.querySelector(target))"


def _fill_treatment(page, performed: str) -> None:
    page.get_by_label("Performed at").fill(performed)
    page.get_by_label("Needle depth (mm)").fill("1.5")
    page.get_by_label("Number of passes").fill("3")
    page.get_by_label("Cheeks").check()
    page.get_by_role("combobox", name="Device").select_option("pen")


def _press(page, name: str) -> None:
    # By keyboard: at phone size the staff pages' layout (not part of this test) can put
    # a neighbouring field over the button.
    button = page.get_by_role("button", name=name)
    button.focus()
    page.keyboard.press("Enter")


def test_back_and_submit_again_asks_before_saving_a_second_treatment(
    browser, site, size, clinic, artifacts
):
    practitioner = StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user
    patient = PatientFactory(clinic=clinic, first_name="Noor", last_name="Haddad")
    page = _logged_in(browser, site, size, practitioner)
    performed = (timezone.localtime() - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")
    page.goto(f"{site}/patients/{patient.pk}/treatments/new/")
    _fill_treatment(page, performed)
    _press(page, "Save treatment")
    page.get_by_text("Treatment recorded.").wait_for()

    page.go_back()
    page.get_by_role("heading", name="Log a treatment").wait_for()
    _fill_treatment(page, performed)
    _press(page, "Save treatment")
    warning = page.locator("#repeat-warning")
    warning.wait_for()
    assert "A treatment with the same values was saved" in warning.inner_text()
    assert "Nothing was saved this time" in page.locator("main").inner_text()
    assert Treatment.objects.filter(patient=patient).count() == 1
    assert AftercarePlan.objects.filter(treatment__patient=patient).count() == 1
    page.screenshot(path=artifacts / f"staff-treatment-repeat-{size}.png", full_page=True)
    _axe(page, "#repeat-warning", "the repeat warning")

    page.get_by_label("Yes, save it again").check()
    _press(page, "Save treatment")
    page.get_by_text("Treatment recorded.").wait_for()
    assert Treatment.objects.filter(patient=patient).count() == 2


def test_staff_record_renewed_consent_and_then_email_a_new_link(
    browser, site, size, clinic, front_desk, artifacts
):
    patient = PatientFactory(clinic=clinic, first_name="Ana", last_name="Lima")
    plan_create(treatment=TreatmentFactory(patient=patient), now=timezone.now())
    reminders_stop_for_patient(patient=patient, reason="unsubscribed")
    page = _logged_in(browser, site, size, front_desk)
    page.goto(f"{site}/patients/{patient.pk}/")
    assert "has stopped reminder emails" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Email a new link").count() == 0

    page.get_by_role("link", name="Record the patient's agreement").click()
    page.get_by_role("heading", name="Reminder emails again").wait_for()
    page.get_by_label("How the patient agreed").fill("Asked at reception on her visit")
    page.screenshot(path=artifacts / f"staff-consent-renew-{size}.png", full_page=True)
    _axe(page, "main", "the renewed consent form")
    _press(page, "Record agreement and start reminders")
    page.get_by_text("Agreement recorded").wait_for()

    stored = Patient.objects.get(pk=patient.pk)
    assert stored.email_consent
    change = stored.consent_changes.get(given=True)
    assert (change.source, change.note) == (
        ConsentSource.STAFF_RENEWED,
        "Asked at reception on her visit",
    )
    assert Reminder.objects.filter(patient=patient, status=ReminderStatus.PENDING).exists()

    _press(page, "Email a new link")
    page.get_by_text("a new link is on its way").wait_for()
    assert Reminder.objects.filter(patient=patient, kind__startswith="new-link").exists()
    page.screenshot(path=artifacts / f"staff-consent-renewed-new-link-{size}.png", full_page=True)
