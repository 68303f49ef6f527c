import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.django_db
def test_staff_pages_send_anonymous_visitors_to_login():
    response = Client().get(reverse("patients:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_a_user_without_a_clinic_is_refused_with_a_reason():
    client = Client()
    client.force_login(UserFactory())
    response = client.get(reverse("patients:list"))
    assert response.status_code == 403
    assert b"not linked to a clinic" in response.content


@pytest.mark.django_db
def test_staff_times_are_shown_in_the_clinic_timezone(clinic, practitioner_client):
    from datetime import UTC, datetime

    from tests.factories import TreatmentFactory

    clinic.timezone = "Australia/Sydney"
    clinic.save()
    treatment = TreatmentFactory(
        patient__clinic=clinic, performed_at=datetime(2026, 1, 15, 3, 30, tzinfo=UTC)
    )
    response = practitioner_client.get(reverse("patients:treatment_detail", args=[treatment.pk]))
    assert "14:30" in response.content.decode()
