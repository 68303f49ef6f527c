"""Every staff and Django admin page, at phone and desktop size, in headless Chromium.

Each page state is opened by the role that uses it (logged in as the existing browser tests'
users: factory staff with the test password, the clinic admin past the second factor), and
must have no serious or critical axe-core violation and, on a phone (390 px), nothing wider
than the screen. A screenshot of each lands in test-artifacts/staff-pages/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from aftercare import tasks
from aftercare.models import (
    GuidanceItem,
    IntensityFactor,
    IntensityLevel,
    RecoveryPhase,
    Reminder,
    ReminderMoment,
    ReminderStatus,
    RestrictionRule,
)
from tests.browser.axe import axe_violations, describe
from tests.browser.staff_demo import VIEWPORTS, Demo, staff_context, staff_demo
from tests.two_factor import login_verified

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_broker(monkeypatch) -> None:
    monkeypatch.setattr(tasks.send_plan_reminders_now, "delay", lambda *args: None)
    monkeypatch.setattr(tasks.send_concern_alert, "delay", lambda *args: None)


def _context(browser, live_server, viewport: str, user, *, verified: bool = True):
    # axe-core goes in as an inline script, which the pages' CSP rightly refuses.
    return staff_context(browser, live_server, viewport, user, verified=verified, bypass_csp=True)


def _pages(demo: Demo) -> dict[str, list[tuple[str, str]]]:
    """Who opens which page: (name, path) by role."""
    patient, plan = demo.patient, demo.plan
    treatment = plan.treatment
    failed = Reminder.objects.get(patient=patient, status=ReminderStatus.FAILED)
    admin_pages = [("admin-index", "/admin/")]
    for model in (
        RecoveryPhase,
        GuidanceItem,
        RestrictionRule,
        ReminderMoment,
        IntensityFactor,
        IntensityLevel,
    ):
        name = model._meta.model_name
        row = model.objects.filter(clinic=treatment.clinic).order_by("pk").first()
        admin_pages += [
            (f"admin-{name}-list", f"/admin/aftercare/{name}/"),
            (f"admin-{name}-change", f"/admin/aftercare/{name}/{row.pk}/change/"),
        ]
    admin_pages += [
        ("admin-clinic-list", "/admin/clinic/clinic/"),
        ("admin-clinic-change", f"/admin/clinic/clinic/{treatment.clinic_id}/change/"),
    ]
    return {
        "practitioner": [
            ("today", "/"),
            ("patient-list", "/patients/"),
            ("patient-search", "/patients/?q=Okafor"),
            ("patient-new", "/patients/new/"),
            ("patient-detail", f"/patients/{patient.pk}/"),
            ("patient-detail-bounced", f"/patients/{demo.bare_patient.pk}/"),
            ("patient-edit", f"/patients/{patient.pk}/edit/"),
            ("patient-timeline", f"/patients/{patient.pk}/timeline/"),
            ("treatment-form", f"/patients/{patient.pk}/treatments/new/"),
            ("treatment-plan", f"/patients/treatments/{treatment.pk}/"),
            ("plan-revision", f"/aftercare/plans/{plan.pk}/"),
            ("adjust-restriction", f"/aftercare/plans/{plan.pk}/restrictions/makeup/"),
            ("adjust-note", f"/aftercare/plans/{plan.pk}/note/"),
            (
                "adjust-skip",
                f"/aftercare/plans/{plan.pk}/reminders/{plan.content_plan.reminders[-1].key}/skip/",
            ),
            ("adjust-add-reminder", f"/aftercare/plans/{plan.pk}/reminders/add/"),
            ("concern-list", "/aftercare/concerns/"),
            ("concern-open", f"/aftercare/concerns/{demo.open_report.pk}/"),
            ("concern-handled", f"/aftercare/concerns/{demo.handled_report.pk}/"),
            ("courses-due", "/aftercare/courses/due/"),
            ("course-form", f"/aftercare/patients/{demo.bare_patient.pk}/course/"),
            ("sent-message", f"/aftercare/sent/{demo.sent.pk}/"),
            ("not-found", "/patients/999999/"),
            ("not-allowed", "/staff/"),
            ("treatment-failed-email", f"/patients/{failed.patient_id}/timeline/"),
        ],
        "front_desk": [
            ("front-desk-today", "/"),
            ("front-desk-patient", f"/patients/{patient.pk}/"),
            ("front-desk-treatment", f"/patients/treatments/{treatment.pk}/"),
            ("front-desk-patient-new", "/patients/new/"),
        ],
        "admin": [
            ("staff-list", "/staff/"),
            ("staff-new", "/staff/new/"),
            ("staff-edit", f"/staff/{demo.practitioner.pk}/"),
            ("admin-timeline", f"/patients/{patient.pk}/timeline/"),
            ("patient-export", f"/patients/{patient.pk}/export/"),
            ("patient-erase", f"/patients/{patient.pk}/erase/"),
            ("two-factor-recovery-codes", "/accounts/two-factor/recovery-codes/"),
            *admin_pages,
        ],
    }


def _problems(page, viewport: str, name: str, folder: Path) -> list[str]:
    page.screenshot(path=folder / f"{name}-{viewport}.png", full_page=True)
    problems = []
    violations = axe_violations(page)
    if violations:
        problems.append(f"{name}: axe-core\n{describe(violations)}")
    width = page.evaluate("document.documentElement.scrollWidth")
    if viewport == "phone" and width > VIEWPORTS["phone"]["width"]:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > 391)
                .slice(-3).map(e => e.outerHTML.slice(0, 120))"""
        )
        problems.append(f"{name}: {width} px wide on a 390 px phone: {wide}")
    return problems


def _visit(context, base: str, pages: list[tuple[str, str]], viewport: str, folder: Path):
    page = context.new_page()
    problems = []
    expected = {"not-found": 404, "not-allowed": 403}
    for name, path in pages:
        response = page.goto(base + path)
        status = response.status if response else None
        assert status == expected.get(name, 200), f"{name}: {path} answered {status}"
        problems += _problems(page, viewport, name, folder)
    return problems


@pytest.fixture
def folder(artifacts) -> Path:
    path = artifacts / "staff-pages"
    path.mkdir(exist_ok=True)
    return path


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_staff_and_admin_page_passes_axe_and_fits_the_screen(
    browser, live_server, settings, viewport, folder
):
    demo = staff_demo(settings)
    pages = _pages(demo)
    problems = []
    for role, user in [
        ("practitioner", demo.practitioner),
        ("front_desk", demo.front_desk),
        ("admin", demo.admin),
    ]:
        context = _context(browser, live_server, viewport, user)
        problems += _visit(context, live_server.url, pages[role], viewport, folder)
        context.close()
    assert problems == [], "\n\n".join(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_login_and_two_factor_pages_pass_axe_and_fit_the_screen(
    browser, live_server, settings, viewport, folder
):
    cache.clear()
    demo = staff_demo(settings)
    problems = []
    context = _context(browser, live_server, viewport, None)
    problems += _visit(context, live_server.url, [("login", "/accounts/login/")], viewport, folder)
    # Wrong passwords until django-axes locks the login: its page, and the form's errors.
    page = context.pages[0]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill(demo.practitioner.username)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        if attempt == 0:
            problems += _problems(page, viewport, "login-wrong-password", folder)
    page.get_by_role("heading", name="Too many failed logins").wait_for()
    problems += _problems(page, viewport, "login-locked-out", folder)
    context.close()
    # A clinic admin without an authenticator is sent to set one up.
    context = _context(browser, live_server, viewport, demo.admin, verified=False)
    setup = [("two-factor-setup", "/accounts/two-factor/setup/")]
    problems += _visit(context, live_server.url, setup, viewport, folder)
    context.close()
    # With one, to enter a code.
    login_verified(Client(), demo.admin)
    context = _context(browser, live_server, viewport, demo.admin, verified=False)
    verify = [("two-factor-verify", "/accounts/two-factor/verify/")]
    problems += _visit(context, live_server.url, verify, viewport, folder)
    context.close()
    assert problems == [], "\n\n".join(problems)
