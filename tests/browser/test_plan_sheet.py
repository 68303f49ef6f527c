"""The printed instruction sheet fits on one page of A4 and of US Letter."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from aftercare.plans.services import plan_create
from tests.factories import STAFF_PASSWORD, TreatmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.fixture
def logged_in(live_server, page, practitioner):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(practitioner.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Patients").wait_for()
    return page


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_sheet_prints_on_at_most_two_pages(live_server, logged_in, clinic, artifacts, paper):
    treatment = TreatmentFactory(
        patient__clinic=clinic,
        areas=["cheeks", "periorbital", "neck"],
        depth_mm=Decimal("2.0"),
        passes=5,
    )
    plan = plan_create(treatment=treatment)
    logged_in.goto(live_server.url + reverse("aftercare:sheet", args=[plan.pk]))
    logged_in.get_by_role("heading", name="Your aftercare after microneedling").wait_for()
    logged_in.emulate_media(media="print")
    pdf = logged_in.pdf(format=paper, print_background=True)
    (artifacts / f"instruction-sheet-{paper}.pdf").write_bytes(pdf)
    assert _page_count(pdf) <= 2
