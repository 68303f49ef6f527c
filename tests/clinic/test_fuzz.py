"""Property-based fuzzing of the staff forms, posted through the staff views as a logged-in
practitioner: whatever is typed or forged, the answer is a page or a redirect, never a 500.

The field names come from the forms themselves, so fields added later are fuzzed too.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.forms import PatientForm, TreatmentForm
from patients.models import Patient, Treatment
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Values that have broken form handling elsewhere: NUL (PostgreSQL refuses it in text),
# huge and non-finite numbers, impossible dates, header and markup injection.
TRICKY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "-1",
    "0",
    "1e309",
    "NaN",
    "-Infinity",
    "9" * 40,
    "0.0000000001",
    "2026-02-30",
    "2026-13-45T25:61",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "Jo\r\nBcc: x@evil.example",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%s%n",
    "🙂" * 50,
    "x" * 5000,
]
text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300)
value = st.one_of(st.sampled_from(TRICKY), text)
values = st.one_of(value, st.lists(value, max_size=4))


def form_data(field_names: list[str], valid: dict[str, object]) -> st.SearchStrategy:
    """Each field valid, tricky, random or missing."""
    per_field = {
        name: st.one_of(st.just(valid[name]), values) if name in valid else values
        for name in field_names
    }
    return st.fixed_dictionaries({}, optional=per_field)


PATIENT_FIELDS = list(PatientForm.base_fields)
VALID_PATIENT = {
    "first_name": "Sam",
    "last_name": "Lee",
    "email": "sam@example.com",
    "skin_type": "3",
    "email_consent": "on",
    "date_of_birth": "1990-05-17",
}


@pytest.fixture
def client_and_patient(practitioner, clinic) -> tuple[Client, Patient]:
    client = Client()
    client.force_login(practitioner)
    return client, PatientFactory(clinic=clinic)


@FUZZ
@given(data=form_data(PATIENT_FIELDS, VALID_PATIENT))
def test_the_new_patient_form_never_fails_with_a_server_error(client_and_patient, data):
    client, _ = client_and_patient
    response = client.post(reverse("patients:create"), data)
    assert response.status_code in {200, 302}


@FUZZ
@given(data=form_data(PATIENT_FIELDS, VALID_PATIENT))
def test_the_edit_patient_form_never_fails_with_a_server_error(client_and_patient, data):
    client, patient = client_and_patient
    response = client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code in {200, 302}


TREATMENT_FIELDS = list(TreatmentForm.base_fields)


@FUZZ
@given(data=st.data())
def test_the_treatment_form_never_fails_with_a_server_error(client_and_patient, practitioner, data):
    client, patient = client_and_patient
    valid = {
        "practitioner": str(practitioner.pk),
        "performed_at": "2026-11-20T10:00",
        "depth_mm": "1.0",
        "passes": "3",
        "areas": ["cheeks"],
        "device": "pen",
    }
    posted = data.draw(form_data(TREATMENT_FIELDS, valid))
    response = client.post(reverse("patients:treatment_create", args=[patient.pk]), posted)
    assert response.status_code in {200, 302}


def test_the_fuzzed_treatment_form_can_save(client_and_patient, practitioner):
    # The valid values the fuzzer mixes in do make a treatment: the fuzz reaches the save path.
    client, patient = client_and_patient
    response = client.post(
        reverse("patients:treatment_create", args=[patient.pk]),
        {
            "practitioner": str(practitioner.pk),
            "performed_at": "2026-11-20T10:00",
            "depth_mm": "1.0",
            "passes": "3",
            "areas": ["cheeks"],
            "device": "pen",
        },
    )
    assert response.status_code == 302
    assert Treatment.objects.filter(patient=patient).count() == 1


def test_the_fuzzed_patient_form_can_save(client_and_patient):
    client, _ = client_and_patient
    response = client.post(reverse("patients:create"), VALID_PATIENT)
    assert response.status_code == 302
