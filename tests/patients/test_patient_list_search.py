"""The patient list's search box (patients.views.patient_list, PatientSearchForm): a search
PostgreSQL cannot run, or no record could match, is a 400 with the reason on the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_a_nul_byte_in_the_search_is_a_400_with_the_reason_on_the_page(practitioner_client):
    # Found by an outside tester: PostgreSQL refuses NUL in text, and this was a 500.
    response = practitioner_client.get(reverse("patients:list") + "?q=%00")
    assert response.status_code == 400
    assert response.context["search"].has_error("q", "null_characters_not_allowed")
    assert 'aria-invalid="true"' in response.content.decode()


@pytest.mark.parametrize("text", ["Rahman\x1b[2J", "Ra\thman", "Rah\r\nman"])
def test_control_characters_in_the_search_are_refused(practitioner_client, text):
    response = practitioner_client.get(reverse("patients:list"), {"q": text})
    assert response.status_code == 400
    assert response.context["search"].has_error("q", "control_characters")


def test_a_search_longer_than_any_record_is_refused(practitioner_client):
    response = practitioner_client.get(reverse("patients:list"), {"q": "x" * 10_000})
    assert response.status_code == 400
    assert response.context["search"].has_error("q", "max_length")


def test_a_refused_search_lists_nobody(practitioner_client, clinic):
    PatientFactory(clinic=clinic, first_name="Mina", last_name="Rahman")
    response = practitioner_client.get(reverse("patients:list"), {"q": "Rahman\x1b"})
    assert "Rahman" not in response.content.decode()
    assert "No patients yet" not in response.content.decode()


def test_a_search_with_spaces_around_it_still_finds_the_patient(practitioner_client, clinic):
    PatientFactory(clinic=clinic, first_name="Mina", last_name="Rahman")
    response = practitioner_client.get(reverse("patients:list"), {"q": "  rahman "})
    assert response.status_code == 200
    assert [p.last_name for p in response.context["page"].object_list] == ["Rahman"]


@pytest.mark.parametrize("page", ["abc", "-1", "1e309", "9" * 5000, "\x00"])
def test_a_page_number_that_is_not_one_shows_a_page(practitioner_client, page):
    response = practitioner_client.get(reverse("patients:list"), {"page": page})
    assert response.status_code == 200
