"""A practitioner logs in, adds a patient and logs a treatment, in headless Chromium."""

import pytest

from patients.models import Patient, Treatment
from tests.factories import STAFF_PASSWORD

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
