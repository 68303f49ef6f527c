"""The printed instruction sheet carries every instruction on at most two pages of A4 and
of US Letter, even for the longest plan the shipped guidance gives."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from aftercare.plans.services import plan_create
from patients.models import TreatmentArea
from tests.factories import STAFF_PASSWORD, ClinicFactory, StaffMembershipFactory, TreatmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUNSCREEN_TEXT = "Choose a mineral one with SPF 30 or higher."


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def _three_areas(clinic):
    return TreatmentFactory(
        patient__clinic=clinic,
        areas=["cheeks", "periorbital", "neck"],
        depth_mm=Decimal("2.0"),
        passes=5,
    )


def _face_scalp_neck_body_with_rf(clinic):
    return TreatmentFactory(
        patient__clinic=clinic,
        areas=["cheeks", "forehead", "scalp", "neck", "body"],
        depth_mm=Decimal("2.0"),
        passes=5,
        device="rf",
    )


def _longest(clinic):
    """Every area, RF, every history flag, the darkest skin type, aged 70, in the tropics:
    the most items and text the shipped guidance gives (62 items, about 14,000 characters)."""
    clinic.timezone = "Asia/Singapore"
    clinic.save()
    return TreatmentFactory(
        patient__clinic=clinic,
        patient__skin_type=6,
        patient__date_of_birth=date(1955, 1, 1),
        patient__breakout_prone=True,
        patient__slow_healing=True,
        patient__sensitive_skin=True,
        areas=list(TreatmentArea.values),
        depth_mm=Decimal("3.0"),
        passes=10,
        device="rf",
    )


PLANS = {
    "three-areas": _three_areas,
    "face-scalp-neck-body-rf": _face_scalp_neck_body_with_rf,
    "longest": _longest,
}


@pytest.fixture
def clinic(db):
    return ClinicFactory()


@pytest.fixture
def logged_in(live_server, page, clinic):
    practitioner = StaffMembershipFactory(clinic=clinic).user
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(practitioner.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Patients").wait_for()
    return page


@pytest.mark.parametrize("plan_name", sorted(PLANS))
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_sheet_prints_every_instruction_on_two_pages_at_most(
    live_server, logged_in, clinic, artifacts, paper, plan_name
):
    plan = plan_create(treatment=PLANS[plan_name](clinic))
    logged_in.goto(live_server.url + reverse("aftercare:sheet", args=[plan.pk]))
    logged_in.get_by_role("heading", name="Your aftercare after microneedling").wait_for()
    logged_in.emulate_media(media="print")
    text = logged_in.locator("main").inner_text()
    for item in plan.content_plan.items:
        assert item.title in text
    assert SUNSCREEN_TEXT in text
    pdf = logged_in.pdf(format=paper, print_background=True)
    (artifacts / f"instruction-sheet-{plan_name}-{paper}.pdf").write_bytes(pdf)
    logged_in.screenshot(
        path=artifacts / f"instruction-sheet-{plan_name}-desktop.png", full_page=True
    )
    assert _page_count(pdf) <= 2
