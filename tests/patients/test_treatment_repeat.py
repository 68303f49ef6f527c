"""Back and submit again on *Log a treatment* (patients.views.treatment_create_view,
patients.forms.TreatmentForm, Treatment.objects.saved_again): a treatment just like one
saved minutes ago for the same patient is saved only once staff confirm it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from aftercare.models import AftercarePlan
from patients.forms import REPEAT_SAVED_WITHIN
from patients.models import Treatment
from tests.factories import PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

WARNING = "Saved twice?"


@pytest.fixture
def performed() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0) - timedelta(minutes=30)


def _data(practitioner, performed: datetime, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "practitioner": practitioner.pk,
        "performed_at": performed.strftime("%Y-%m-%dT%H:%M"),
        "depth_mm": "1.5",
        "passes": "3",
        "areas": ["cheeks", "periorbital"],
        "device": "pen",
        "notes": "Tolerated well",
    }
    data.update(changes)
    return data


def _post(client, patient, data):
    return client.post(reverse("patients:treatment_create", args=[patient.pk]), data)


def _saved_once(client, patient, practitioner, performed):
    response = _post(client, patient, _data(practitioner, performed))
    assert response.status_code == 302
    return Treatment.objects.get(patient=patient)


def test_the_first_save_answers_with_a_redirect_to_the_treatment(
    practitioner_client, practitioner, patient, performed
):
    treatment = _saved_once(practitioner_client, patient, practitioner, performed)
    response = practitioner_client.get(reverse("patients:treatment_detail", args=[treatment.pk]))
    assert response.status_code == 200


def test_submitting_the_same_treatment_again_asks_and_saves_nothing(
    practitioner_client, practitioner, patient, performed
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    response = _post(practitioner_client, patient, _data(practitioner, performed))
    assert response.status_code == 200
    page = response.content.decode()
    assert WARNING in page
    assert 'name="confirm_repeat" value="yes"' in page
    assert "Yes, save it again" in page
    assert Treatment.objects.filter(patient=patient).count() == 1
    assert AftercarePlan.objects.filter(treatment__patient=patient).count() == 1


def test_the_question_keeps_what_was_typed_and_links_to_the_saved_treatment(
    practitioner_client, practitioner, patient, performed
):
    first = _saved_once(practitioner_client, patient, practitioner, performed)
    page = _post(practitioner_client, patient, _data(practitioner, performed)).content.decode()
    assert 'value="1.5"' in page
    assert "Tolerated well" in page
    assert f'href="{reverse("patients:treatment_detail", args=[first.pk])}"' in page


def test_pressing_enter_again_without_the_box_saves_nothing(
    practitioner_client, practitioner, patient, performed
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    for _ in range(2):
        response = _post(practitioner_client, patient, _data(practitioner, performed))
        assert response.status_code == 200
    assert Treatment.objects.filter(patient=patient).count() == 1


def test_confirming_saves_the_second_treatment_and_its_plan(
    practitioner_client, practitioner, patient, performed
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    data = _data(practitioner, performed, confirm_repeat="yes")
    response = _post(practitioner_client, patient, data)
    assert response.status_code == 302
    assert Treatment.objects.filter(patient=patient).count() == 2


def test_a_few_minutes_apart_is_still_the_same_treatment(
    practitioner_client, practitioner, patient, performed
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    data = _data(practitioner, performed + timedelta(minutes=3))
    assert WARNING in _post(practitioner_client, patient, data).content.decode()


def test_the_areas_in_another_order_are_still_the_same_treatment(
    practitioner_client, practitioner, patient, performed
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    data = _data(practitioner, performed, areas=["periorbital", "cheeks"])
    assert WARNING in _post(practitioner_client, patient, data).content.decode()


@pytest.mark.parametrize(
    "changes",
    [
        {"depth_mm": "1.0"},
        {"passes": "4"},
        {"areas": ["cheeks"]},
        {"device": "roller"},
    ],
)
def test_a_treatment_with_other_values_is_saved_without_asking(
    practitioner_client, practitioner, patient, performed, changes
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    response = _post(practitioner_client, patient, _data(practitioner, performed, **changes))
    assert response.status_code == 302
    assert Treatment.objects.filter(patient=patient).count() == 2


def test_a_treatment_performed_later_that_day_is_saved_without_asking(
    practitioner_client, practitioner, patient, performed
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    data = _data(practitioner, performed + timedelta(minutes=20))
    assert _post(practitioner_client, patient, data).status_code == 302


def test_the_same_values_for_another_patient_are_saved_without_asking(
    practitioner_client, practitioner, patient, performed
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    other = PatientFactory(clinic=patient.clinic)
    assert _post(practitioner_client, other, _data(practitioner, performed)).status_code == 302


def test_the_same_values_saved_long_after_are_not_asked_about(
    practitioner_client, practitioner, patient, performed
):
    _saved_once(practitioner_client, patient, practitioner, performed)
    later = timezone.now() + REPEAT_SAVED_WITHIN + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert (
            _post(practitioner_client, patient, _data(practitioner, performed)).status_code == 302
        )
    assert Treatment.objects.filter(patient=patient).count() == 2


def test_saved_again_finds_the_latest_matching_treatment(patient, performed):
    common = {"patient": patient, "depth_mm": Decimal("1.5"), "passes": 3, "device": "pen"}
    TreatmentFactory(performed_at=performed, areas=["neck"], **common)
    match = TreatmentFactory(performed_at=performed, areas=["cheeks", "neck"], **common)
    found = Treatment.objects.saved_again(
        patient_id=patient.pk,
        performed_at=performed + timedelta(minutes=2),
        depth_mm=Decimal("1.50"),
        passes=3,
        areas=["neck", "cheeks"],
        device="pen",
        saved_since=timezone.now() - timedelta(minutes=5),
        performed_within=timedelta(minutes=5),
    )
    assert found == match
