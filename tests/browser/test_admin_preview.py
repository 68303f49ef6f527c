"""A clinic admin edits the sunscreen item and previews the plan before saving, in Chromium."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from aftercare.guidance.clinic import guidance_install
from aftercare.models import GuidanceItem
from clinic.models import StaffRole
from tests.browser.axe import BLOCKING_IMPACTS, axe_source, describe
from tests.factories import StaffMembershipFactory
from tests.two_factor import verified_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_TEXT = "Wear a wide hat and SPF 50 sunscreen, every single morning."
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture
def admin_page(live_server, browser, clinic):
    """A browser signed in as the clinic's admin, past the second factor."""
    guidance_install(clinic=clinic)
    admin = StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user
    session = verified_client(admin).cookies[settings.SESSION_COOKIE_NAME].value
    # axe-core goes in as an inline script, which the pages' CSP rightly refuses.
    contexts = []

    def open_page(size: str):
        context = browser.new_context(viewport=SIZES[size], bypass_csp=True)
        context.set_default_timeout(15_000)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_previewing_an_edited_item_shows_its_new_text_marked_and_saves_nothing(
    live_server, admin_page, clinic, artifacts, size
):
    item = GuidanceItem.objects.get(clinic=clinic, key="daily-spf")
    page = admin_page(size)
    page.goto(live_server.url + reverse("admin:aftercare_guidanceitem_change", args=[item.pk]))
    page.locator("#id_body").fill(NEW_TEXT)
    page.locator("input[name=_preview]").click()

    page.get_by_text("Not saved yet.").wait_for()
    marked = page.locator(".plan-full .preview-changed")
    assert marked.count() == 1
    assert NEW_TEXT in marked.inner_text()
    assert "Changed, not saved yet" in marked.inner_text()
    day_1 = page.locator(".plan-day", has=page.get_by_role("heading", name="Day 1 ·"))
    assert NEW_TEXT in day_1.inner_text()
    page.screenshot(path=artifacts / f"admin-preview-unsaved-{size}.png", full_page=True)

    page.add_script_tag(content=axe_source())
    results = page.evaluate("async () => await axe.run('.plan-full')")
    violations = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert violations == [], describe(violations)
    item.refresh_from_db()
    assert item.body != NEW_TEXT
