"""A practitioner lengthens a restriction; the patient sees it from the link already emailed.

Headless Chromium: the practitioner at desktop size, the patient at phone size. The
day-0 email is really sent to an SMTP sink before the change, and the patient opens
the link from that email.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone

from aftercare import tasks
from aftercare.delivery.dispatch import dispatch_due
from aftercare.models import PlanAdjustment, SentMessage
from aftercare.planner.today import day_label, relative_days
from aftercare.plans.services import plan_create
from clinic.models import StaffRole
from tests.factories import (
    STAFF_PASSWORD,
    ClinicFactory,
    PatientFactory,
    StaffMembershipFactory,
    TreatmentFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 390, "height": 844}
REASON = "Went deeper on the cheeks today."


@pytest.fixture(autouse=True)
def no_broker(monkeypatch) -> None:
    monkeypatch.setattr(tasks.send_plan_reminders_now, "delay", lambda plan_id: None)


@pytest.fixture(autouse=True)
def site(settings, live_server) -> str:
    cache.clear()
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_practitioner_extends_makeup_and_the_patient_sees_the_new_end_on_today(
    page, phone, smtp_sink, site, artifacts
):
    clinic = ClinicFactory()
    practitioner = StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user
    patient = PatientFactory(clinic=clinic, first_name="Maya", email="maya@example.com")
    treatment = TreatmentFactory(
        patient=patient,
        practitioner=practitioner,
        performed_at=timezone.now() - timedelta(hours=1),
    )
    plan = plan_create(treatment=treatment, created_by=practitioner)
    first_due = plan.reminders.order_by("due_at").first().due_at
    assert dispatch_due(now=max(timezone.now(), first_due)).sent == 1
    email = _text(smtp_sink.wait_for(1)[0])
    link = next(
        url for url in re.findall(rf"{re.escape(site)}/p/\S+", email) if "unsubscribe" not in url
    )
    sent_before = SentMessage.objects.get().text_body

    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Username").fill(practitioner.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{site}/patients/treatments/{treatment.pk}/")
    page.get_by_role("link", name="Change Makeup").click()
    page.get_by_text("The guidance says 2 days for this treatment.").wait_for()
    zone = ZoneInfo(clinic.timezone)
    new_end = timezone.localtime(treatment.performed_at + timedelta(hours=72), zone)
    short_end = f"{new_end:%a} {new_end.day} {new_end:%b, %H:%M}"
    page.get_by_label("Days after the treatment").fill("3")
    page.get_by_role("button", name="Show the new date").click()
    assert page.locator("#restriction-ends").inner_text() == (
        f"3 days after the treatment: OK again from {short_end}"
    )
    page.screenshot(path=artifacts / "staff-adjust-restriction-days.png", full_page=True)
    assert not PlanAdjustment.objects.exists()
    page.get_by_label("Why").fill(REASON)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(f"Makeup: now 3 days, OK again from {short_end}.").wait_for()
    phone.goto(link)
    # Day 0 is the treatment's local day, the "Treatment day" (so "Day 1" just after midnight).
    treated_on = timezone.localdate(treatment.performed_at, zone)
    today = timezone.localdate(timezone=zone)
    heading = phone.get_by_role("heading", level=1).inner_text()
    assert heading == day_label((today - treated_on).days)
    makeup = phone.locator(".restrictions li", has_text="Makeup")
    in_days = relative_days((new_end.date() - today).days)
    assert makeup.inner_text() == (
        f"Makeup: OK again from {new_end:%a} {new_end.day} {new_end:%b, %H:%M} ({in_days})"
    )
    phone.screenshot(path=artifacts / "patient-today-adjusted.png", full_page=True)

    adjustment = PlanAdjustment.objects.get()
    changed_at = timezone.localtime(adjustment.created_at, zone)
    page.locator("summary", has_text="Plan history").click()
    history = page.locator("table.plan-changes tbody tr").first
    assert history.locator("td").all_inner_texts() == [
        f"{changed_at.day} {changed_at:%b %Y, %H:%M}",
        practitioner.get_full_name(),
        "Makeup: 2 days → 3 days (guidance: 2 days)",
        REASON,
        f"r{adjustment.plan.revision}",
    ]
    page.screenshot(path=artifacts / "staff-plan-history.png", full_page=True)
    assert SentMessage.objects.get().text_body == sent_before
