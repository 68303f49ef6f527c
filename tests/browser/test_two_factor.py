"""A clinic admin turns on two-factor login and comes back with a code, in headless Chromium.

The set-up page's QR code is an SVG in a data: URI: this checks that the page's
Content-Security-Policy lets it load, and that the pages break no policy.
"""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import StaffRole
from tests.browser.axe import axe_violations, describe
from tests.factories import STAFF_PASSWORD, StaffMembershipFactory
from tests.two_factor import code_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin(clinic):
    return StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user


def _watch_errors(page) -> list[str]:
    """Console errors (a Content-Security-Policy violation is one) and script errors."""
    errors: list[str] = []

    def console(message) -> None:
        # The staff pages have no icon; Chromium asks for one anyway.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _log_in(page, site: str, user) -> None:
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_clinic_admin_sets_up_two_factor_and_logs_in_again_with_a_code(
    live_server, browser, admin, artifacts
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = _watch_errors(page)

    _log_in(page, live_server.url, admin)
    page.get_by_role("heading", name="Set up two-factor login").wait_for()
    qr = page.get_by_role("img", name="QR code to add this account to an authenticator app")
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    page.screenshot(path=artifacts / "two-factor-setup.png", full_page=True)
    secret = page.locator("#totp-secret").inner_text()
    app = TOTPDevice(key=b32decode(re.sub(r"\s", "", secret)).hex())
    page.get_by_label("Code from the app").fill(code_now(app))
    page.get_by_role("button", name="Turn on two-factor login").click()

    page.get_by_role("heading", name="Recovery codes").wait_for()
    codes = page.get_by_role("list", name="Your recovery codes").get_by_role("listitem")
    assert codes.count() == 10
    page.get_by_role("link", name="I have saved them: continue").click()
    page.get_by_role("heading", name="Today", exact=True).wait_for()

    page.get_by_role("button", name="Log out").click()
    _log_in(page, live_server.url, admin)
    page.get_by_role("heading", name="Enter your code").wait_for()
    # The next period's code: the one that confirmed the app cannot be used twice.
    page.get_by_label("Code").fill(code_now(TOTPDevice.objects.get(user=admin), steps=1))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Today", exact=True).wait_for()
    assert errors == []
    context.close()


@pytest.mark.parametrize("path", ["/accounts/two-factor/setup/", "/accounts/two-factor/verify/"])
def test_axe_finds_no_serious_or_critical_violations(live_server, browser, admin, path):
    if path.endswith("/verify/"):
        TOTPDevice.objects.create(user=admin, name="Authenticator app")
    # axe-core goes in as an inline script, which the pages' CSP rightly refuses.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    _log_in(page, live_server.url, admin)
    page.goto(live_server.url + path)
    page.get_by_role("heading", level=1).wait_for()
    violations = axe_violations(page)
    context.close()
    assert violations == [], describe(violations)
