from datetime import timedelta

import pytest
from django.utils import timezone

from patients.forms import PatientForm, TreatmentForm


def _treatment_data(**overrides):
    data = {
        "performed_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "depth_mm": "1.0",
        "passes": "3",
        "areas": ["cheeks"],
        "device": "pen",
    }
    data.update(overrides)
    return data


@pytest.fixture
def treatment_form(clinic, practitioner):
    def build(**overrides):
        data = _treatment_data(practitioner=str(practitioner.pk))
        data.update(overrides)
        return TreatmentForm(data, clinic=clinic)

    return build


@pytest.mark.django_db
def test_a_complete_treatment_is_valid(treatment_form):
    form = treatment_form()
    assert form.is_valid(), form.errors


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("depth", "message"),
    [("0.05", "at least 0.1 mm"), ("3.5", "at most 3.0 mm")],
)
def test_depth_outside_0_1_to_3_mm_is_refused(treatment_form, depth, message):
    form = treatment_form(depth_mm=depth)
    assert message in form.errors["depth_mm"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("depth", ["0.25", "2.75"])
def test_depth_outside_the_usual_range_asks_for_confirmation(treatment_form, depth):
    form = treatment_form(depth_mm=depth)
    assert not form.is_valid()
    assert form.has_error("depth_mm", code="unusual_depth")
    assert "Confirm unusual depth" in form.errors["depth_mm"][0]


@pytest.mark.django_db
def test_confirmed_unusual_depth_is_accepted(treatment_form):
    assert treatment_form(depth_mm="2.75", confirm_unusual_depth="on").is_valid()


@pytest.mark.django_db
@pytest.mark.parametrize("passes", ["0", "11"])
def test_passes_outside_1_to_10_are_refused(treatment_form, passes):
    form = treatment_form(passes=passes)
    assert form.errors["passes"] == ["Passes must be between 1 and 10."]


@pytest.mark.django_db
def test_at_least_one_area_is_needed(treatment_form):
    form = treatment_form(areas=[])
    assert form.errors["areas"] == ["Choose at least one treated area."]


@pytest.mark.django_db
def test_a_treatment_in_the_future_is_refused(treatment_form):
    tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = treatment_form(performed_at=tomorrow)
    assert form.errors["performed_at"] == ["The treatment time cannot be in the future."]


@pytest.mark.django_db
def test_only_this_clinics_practitioners_can_be_chosen(treatment_form, other_clinic_patient):
    from tests.factories import StaffMembershipFactory

    outsider = StaffMembershipFactory(clinic=other_clinic_patient.clinic).user
    form = treatment_form(practitioner=str(outsider.pk))
    assert "practitioner" in form.errors


@pytest.mark.django_db
def test_front_desk_staff_are_not_offered_as_practitioners(treatment_form, front_desk):
    form = treatment_form(practitioner=str(front_desk.pk))
    assert "practitioner" in form.errors


@pytest.mark.django_db
def test_consent_without_an_email_is_refused_next_to_the_email_field():
    form = PatientForm(
        {"first_name": "A", "last_name": "B", "skin_type": "3", "email_consent": "on"}
    )
    assert form.has_error("email", code="consent_without_email")


@pytest.mark.django_db
def test_a_date_of_birth_in_the_future_is_refused():
    tomorrow = timezone.localdate() + timedelta(days=1)
    form = PatientForm(
        {"first_name": "A", "last_name": "B", "skin_type": "3", "date_of_birth": tomorrow}
    )
    assert form.errors["date_of_birth"] == ["Date of birth cannot be in the future."]


@pytest.mark.django_db
def test_a_skin_type_outside_fitzpatrick_is_refused():
    form = PatientForm({"first_name": "A", "last_name": "B", "skin_type": "7"})
    assert "skin_type" in form.errors
