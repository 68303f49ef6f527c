"""A working day at the clinic, in headless Chromium.

Front desk adds a patient; a practitioner records the skin type and logs a treatment; the
day-0 email really reaches the SMTP sink; the patient follows its link and reports a red
flag; the dashboard shows it at the top; staff open the timeline and mark it handled.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from aftercare import tasks
from aftercare.delivery.dispatch import dispatch_due
from aftercare.models import ConcernReport, Reminder
from clinic.models import StaffRole
from patients.models import Patient, Treatment
from tests.factories import STAFF_PASSWORD, StaffMembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

DAY_0_LABEL = "Your aftercare starts now"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch) -> None:
    """No Celery broker here: the test sends due reminders itself, and alerts are not sent."""
    monkeypatch.setattr(tasks.send_plan_reminders_now, "delay", lambda *args: None)
    monkeypatch.setattr(tasks.send_concern_alert, "delay", lambda *args: None)


@pytest.fixture
def site(settings, live_server) -> str:
    cache.clear()
    settings.SITE_URL = live_server.url
    return live_server.url


def _staff_page(browser, site: str, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Today", exact=True).wait_for()
    return page


def test_a_working_day_from_new_patient_to_a_handled_red_flag(
    browser, site, clinic, smtp_sink, artifacts
):
    front_desk = StaffMembershipFactory(clinic=clinic, role=StaffRole.FRONT_DESK).user
    practitioner = StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user

    # Front desk adds the patient: contact details and consent, nothing clinical.
    desk = _staff_page(browser, site, front_desk)
    desk.get_by_role("link", name="Patients").click()
    desk.get_by_role("link", name="Add patient").click()
    assert desk.get_by_label("Fitzpatrick skin type").count() == 0
    desk.get_by_label("First name").fill("Noor")
    desk.get_by_label("Last name").fill("Haddad")
    desk.get_by_label("Email", exact=True).fill("noor.haddad@example.com")
    desk.get_by_label("Phone").fill("07400 900456")
    desk.get_by_label("Agrees to aftercare emails").check()
    desk.get_by_role("button", name="Save patient").click()
    desk.get_by_role("heading", name="Noor Haddad").wait_for()
    assert desk.get_by_role("link", name="Log a treatment").count() == 0

    # The practitioner finds her, records the skin type and logs the treatment.
    room = _staff_page(browser, site, practitioner)
    room.get_by_role("link", name="Patients").click()
    room.get_by_role("searchbox").fill("900456")
    room.keyboard.press("Enter")
    room.get_by_role("link", name="Noor Haddad").click()
    room.get_by_role("link", name="Log a treatment").click()
    room.get_by_text("Record the patient's skin type before logging a treatment.").wait_for()
    room.get_by_label("Fitzpatrick skin type").select_option("4")
    room.get_by_role("button", name="Save patient").click()
    room.get_by_role("link", name="Log a treatment").click()
    room.get_by_label("Needle depth (mm)").fill("1.0")
    room.get_by_label("Number of passes").fill("3")
    room.get_by_label("Cheeks").check()
    room.get_by_role("combobox", name="Device").select_option("pen")
    room.get_by_role("button", name="Save treatment").click()
    room.get_by_text("Treatment recorded.").wait_for()
    treatment = Treatment.objects.get(patient__last_name="Haddad")
    assert treatment.practitioner == practitioner

    # The day-0 email goes out through the reminder queue and reaches the SMTP sink.
    first_due = Reminder.objects.filter(patient=treatment.patient).order_by("due_at")[0].due_at
    assert dispatch_due(now=max(timezone.now(), first_due)).sent >= 1
    (day_0,) = [
        message
        for message in smtp_sink.wait_for(1)
        if "noor.haddad@example.com" in message["To"]
        and DAY_0_LABEL in message.get_body(preferencelist=("plain",)).get_content()
    ]
    text = day_0.get_body(preferencelist=("plain",)).get_content()
    (link,) = [
        url for url in re.findall(rf"{re.escape(site)}/p/\S+", text) if "unsubscribe" not in url
    ]

    # The patient follows the link on her phone and reports a red flag.
    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone_context.set_default_timeout(15_000)
    phone = phone_context.new_page()
    phone.goto(link)
    phone.get_by_role("link", name="Something not right?").click()
    phone.get_by_label("Pus or yellow crusts").check()
    phone.get_by_role("button", name="Send to the clinic").click()
    assert phone.get_by_role("heading", level=1).inner_text() == "Call the clinic now"
    red_flag = ConcernReport.objects.get(patient=treatment.patient)
    # A later, non-urgent report must not push it down.
    ConcernReport.objects.create(
        plan=red_flag.plan,
        patient=red_flag.patient,
        clinic=clinic,
        symptoms=["peeling"],
        created_at=timezone.now() + timedelta(minutes=1),
    )

    # The dashboard shows the red flag first; staff open the timeline and handle it.
    room.get_by_role("link", name="Today").click()
    first_report = room.locator("#open-reports > li").first
    assert "Red flag" in first_report.inner_text()
    assert "Noor Haddad" in first_report.inner_text()
    room.screenshot(path=artifacts / "staff-dashboard-red-flag.png", full_page=True)
    first_report.get_by_role("link", name="Noor Haddad").click()
    room.get_by_role("heading", name="Noor Haddad: timeline").wait_for()
    room.locator('#timeline li[data-kind="concern"]', has_text="Red flag").get_by_role(
        "link", name="Open report"
    ).click()
    room.get_by_label("What was done").fill("Called her back; seen the same afternoon.")
    room.get_by_role("button", name="Mark as handled").click()
    room.get_by_text("Report marked as handled.").wait_for()

    red_flag.refresh_from_db()
    assert red_flag.handled_by == practitioner
    room.get_by_role("link", name="Today").click()
    assert "Red flag" not in room.locator("#reports-heading + *").inner_text()
    assert Patient.objects.get(pk=treatment.patient_id).skin_type == 4
    phone_context.close()
    room.context.close()
    desk.context.close()
