"""A practitioner logs in, adds a patient and logs a treatment, in headless Chromium; and
the staff pages at phone and desktop size."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import resolve
from django.utils import timezone

from aftercare import tasks
from aftercare.links import link_current
from aftercare.models import TreatmentCourse
from clinic.models import StaffRole
from patients.models import Patient, Treatment
from tests.browser.staff_demo import VIEWPORTS, Demo, staff_context, staff_demo
from tests.clinic.test_url_access import EXEMPT_URLS, STAFF_URLS
from tests.factories import STAFF_PASSWORD, TreatmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_practitioner_adds_a_patient_and_logs_a_treatment(
    live_server, page, practitioner, artifacts
):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(practitioner.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Today", exact=True).wait_for()
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Add patient").click()

    page.get_by_label("First name").fill("Noor")
    page.get_by_label("Last name").fill("Haddad")
    page.get_by_label("Email", exact=True).fill("noor@example.com")
    page.get_by_label("Fitzpatrick skin type").select_option("5")
    page.get_by_label("Agrees to aftercare emails").check()
    page.get_by_role("button", name="Save patient").click()
    page.get_by_role("heading", name="Noor Haddad").wait_for()

    page.get_by_role("link", name="Log a treatment").click()
    page.get_by_label("Needle depth (mm)").fill("1.25")
    page.get_by_label("Number of passes").fill("3")
    page.get_by_label("Cheeks").check()
    page.get_by_label("Around the eyes (periorbital)").check()
    page.get_by_role("combobox", name="Device").select_option("pen")
    page.get_by_role("button", name="Save treatment").click()
    page.get_by_text("Treatment recorded.").wait_for()
    page.screenshot(path=artifacts / "staff-treatment-detail.png", full_page=True)

    treatment = Treatment.objects.get(patient__last_name="Haddad")
    assert set(treatment.areas) == {"cheeks", "periorbital"}
    assert treatment.practitioner == practitioner
    assert Patient.objects.get(last_name="Haddad").clinic == practitioner.membership.clinic


# The staff pages on a phone and a desktop (issue #18): one demo-like clinic, each point seen
# the way staff see it, with a screenshot in test-artifacts/.


@pytest.fixture
def no_broker(monkeypatch) -> None:
    monkeypatch.setattr(tasks.send_plan_reminders_now, "delay", lambda *args: None)
    monkeypatch.setattr(tasks.send_concern_alert, "delay", lambda *args: None)


@pytest.fixture
def demo(settings, no_broker) -> Demo:
    return staff_demo(settings)


def _watch_errors(page) -> list[str]:
    """Console errors (a Content-Security-Policy violation, a missing icon) and script errors."""
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_on_a_phone_the_navbar_folds_its_links_behind_menu(browser, live_server, demo, artifacts):
    context = staff_context(browser, live_server, "phone", demo.practitioner)
    page = context.new_page()
    page.goto(live_server.url + "/")
    patients = page.get_by_role("link", name="Patients", exact=True)
    assert not patients.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_text("Menu").click()
    assert patients.is_visible()
    assert page.get_by_role("button", name="Log out").is_visible()
    page.screenshot(path=artifacts / "staff-navbar-menu-open-phone.png")
    patients.click()
    page.get_by_role("heading", name="Patients").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_on_a_desktop_the_navbar_shows_its_links_in_a_row(browser, live_server, demo, artifacts):
    context = staff_context(browser, live_server, "desktop", demo.practitioner)
    page = context.new_page()
    page.goto(live_server.url + "/patients/")
    assert not page.get_by_text("Menu").is_visible()
    current = page.get_by_role("link", name="Patients", exact=True)
    assert current.get_attribute("aria-current") == "page"
    assert page.get_by_role("link", name="Today").is_visible()
    page.screenshot(path=artifacts / "staff-navbar-desktop.png")
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_pages_have_an_icon_and_favicon_ico_answers(browser, live_server, demo, viewport):
    context = staff_context(browser, live_server, viewport, demo.practitioner)
    page = context.new_page()
    errors = _watch_errors(page)
    page.goto(live_server.url + "/")
    icons = page.locator('link[rel="icon"]')
    assert icons.count() == 2
    for href in icons.evaluate_all("links => links.map(link => link.href)"):
        assert page.request.get(href).status == 200
    favicon = page.request.get(live_server.url + "/favicon.ico")
    assert favicon.status == 200
    assert favicon.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    page.goto(live_server.url + "/admin/login/")
    assert page.locator('link[rel="icon"]').count() == 2
    assert errors == []
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_sent_email_shows_as_the_patient_saw_it(browser, live_server, demo, viewport, artifacts):
    context = staff_context(browser, live_server, viewport, demo.front_desk)
    page = context.new_page()
    errors = _watch_errors(page)
    page.goto(f"{live_server.url}/aftercare/sent/{demo.sent.pk}/")
    email = page.frame_locator("iframe.sent-html")
    email.get_by_role("heading", name=demo.sent.reminder.label).wait_for()
    # The email's own inline styles apply under the page's Content-Security-Policy.
    background = email.locator("body").evaluate("body => getComputedStyle(body).backgroundColor")
    assert background == "rgb(244, 245, 247)"
    assert page.get_by_text(demo.sent.message_id.strip("<>")).count() == 1
    page.get_by_text("Plain-text version").click()
    assert "[patient link]" in page.locator("pre.sent-text").inner_text()
    page.screenshot(path=artifacts / f"staff-sent-email-{viewport}.png", full_page=True)
    assert errors == []
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]
    context.close()


def _refused(path: str, method: str, role: str) -> bool:
    """Whether `role` gets a 403 there, by the table of tests/clinic/test_url_access.py."""
    match = resolve(urlsplit(path).path)
    if match.view_name in STAFF_URLS:
        _, _, roles = STAFF_URLS[match.view_name]
        return role not in roles
    assert match.view_name in EXEMPT_URLS or match.namespace == "admin", match.view_name
    return False


@pytest.mark.parametrize("role", [StaffRole.FRONT_DESK, StaffRole.PRACTITIONER])
def test_staff_see_no_link_or_button_that_would_be_refused(browser, live_server, demo, role):
    user = demo.front_desk if role == StaffRole.FRONT_DESK else demo.practitioner
    context = staff_context(browser, live_server, "desktop", user)
    page = context.new_page()
    patient, plan = demo.patient, demo.plan
    pages = [
        "/",
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/timeline/",
        f"/patients/treatments/{plan.treatment_id}/",
        f"/aftercare/plans/{plan.pk}/",
        "/aftercare/concerns/",
        f"/aftercare/concerns/{demo.open_report.pk}/",
        "/aftercare/courses/due/",
        f"/aftercare/sent/{demo.sent.pk}/",
    ]
    refused = []
    for path in pages:
        page.goto(live_server.url + path)
        links = page.locator("main a[href^='/']").evaluate_all("as => as.map(a => a.pathname)")
        forms = page.locator("main form[method='post']").evaluate_all(
            "fs => fs.map(f => new URL(f.action).pathname)"
        )
        refused += [f"{path}: link {link}" for link in links if _refused(link, "get", role)]
        refused += [f"{path}: button {form}" for form in forms if _refused(form, "post", role)]
    assert refused == []
    context.close()


def test_front_desk_sees_no_regenerate_button(browser, live_server, demo, artifacts):
    context = staff_context(browser, live_server, "phone", demo.front_desk)
    page = context.new_page()
    page.goto(f"{live_server.url}/patients/treatments/{demo.plan.treatment_id}/")
    page.get_by_role("heading", name="Until when to avoid").wait_for()
    assert page.get_by_text("Regenerate").count() == 0
    assert page.get_by_role("link", name="Change Makeup").count() == 0
    page.screenshot(path=artifacts / "staff-plan-front-desk-phone.png", full_page=True)
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_revoking_all_links_asks_first(browser, live_server, demo, viewport, artifacts):
    link = link_current(plan=demo.plan, now=timezone.now())
    context = staff_context(browser, live_server, viewport, demo.front_desk)
    page = context.new_page()
    page.goto(f"{live_server.url}/patients/{demo.patient.pk}/")
    page.locator("summary", has_text="Revoke all links").click()
    confirm = page.get_by_role("button", name="Yes, revoke all links")
    confirm.wait_for()
    page.screenshot(path=artifacts / f"staff-revoke-links-confirm-{viewport}.png", full_page=True)
    link.refresh_from_db()
    assert link.revoked_at is None
    confirm.click()
    page.get_by_text("link(s) revoked").wait_for()
    link.refresh_from_db()
    assert link.revoked_at is not None
    context.close()


def test_stopping_all_reminders_asks_first(browser, live_server, demo, artifacts):
    context = staff_context(browser, live_server, "desktop", demo.front_desk)
    page = context.new_page()
    page.goto(f"{live_server.url}/patients/{demo.patient.pk}/")
    page.get_by_text("Stop all future reminders").click()
    demo.patient.refresh_from_db()
    assert demo.patient.email_consent
    page.get_by_role("button", name="Yes, stop all reminders").click()
    page.get_by_text("Reminders stopped").wait_for()
    demo.patient.refresh_from_db()
    assert not demo.patient.email_consent
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_starting_a_course_keeps_the_first_session_date(
    browser, live_server, demo, viewport, artifacts
):
    patient = demo.bare_patient
    TreatmentFactory(patient=patient, performed_at=timezone.now() - timedelta(days=2))
    day = timezone.localdate(timezone.now() - timedelta(days=2))
    context = staff_context(browser, live_server, viewport, demo.practitioner)
    page = context.new_page()
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name="Start a course").click()
    first_session = page.get_by_label("First session")
    assert first_session.input_value() == day.isoformat()
    page.screenshot(path=artifacts / f"staff-course-form-{viewport}.png", full_page=True)
    page.get_by_role("button", name="Save course").click()
    page.get_by_text("Course saved").wait_for()
    assert TreatmentCourse.objects.get(patient=patient).starts_on == day
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_plan_page_reads_in_about_one_screen(browser, live_server, demo, viewport, artifacts):
    context = staff_context(browser, live_server, viewport, demo.practitioner)
    page = context.new_page()
    page.goto(f"{live_server.url}/patients/treatments/{demo.plan.treatment_id}/")
    text = page.locator("main").inner_text()
    for reminder in demo.plan.content_plan.reminders:
        assert text.count(reminder.label) == 1, reminder.label
    assert "clinical facts" not in text
    assert demo.plan.guidance.fingerprint[:12] not in page.content()
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(path=artifacts / f"staff-plan-page-{viewport}.png", full_page=True)
    # It was 8,600 px tall at 1280 px wide: now restrictions and reminders sit side by
    # side in about one screen, and the rest opens on demand.
    assert height <= {"desktop": 1300, "phone": 2600}[viewport]
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_new_recovery_codes_are_made_only_once_confirmed(
    browser, live_server, demo, viewport, artifacts
):
    context = staff_context(browser, live_server, viewport, demo.admin)
    page = context.new_page()
    page.goto(live_server.url + "/accounts/two-factor/recovery-codes/")
    page.locator("summary", has_text="Make new recovery codes").click()
    assert page.get_by_role("list", name="Your recovery codes").count() == 0
    page.screenshot(path=artifacts / f"staff-recovery-codes-confirm-{viewport}.png")
    page.get_by_role("button", name="Yes, replace my recovery codes").click()
    codes = page.get_by_role("list", name="Your recovery codes").get_by_role("listitem")
    assert codes.count() == 10
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]
    context.close()
