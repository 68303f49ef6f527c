from datetime import timedelta

import pytest
from django.utils import timezone

from aftercare.delivery.text_consent import texts_stop_for_patient
from patients.forms import PatientForm, TreatmentForm
from patients.models import ConsentSource
from tests.factories import ClinicFactory, PatientFactory


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
def test_consent_without_an_email_is_refused_next_to_the_email_field(clinic):
    form = PatientForm(
        {"first_name": "A", "last_name": "B", "skin_type": "3", "email_consent": "on"},
        clinic=clinic,
    )
    assert form.has_error("email", code="consent_without_email")


@pytest.mark.django_db
def test_a_date_of_birth_in_the_future_is_refused(clinic):
    tomorrow = timezone.localdate() + timedelta(days=1)
    form = PatientForm(
        {"first_name": "A", "last_name": "B", "skin_type": "3", "date_of_birth": tomorrow},
        clinic=clinic,
    )
    assert form.errors["date_of_birth"] == ["Date of birth cannot be in the future."]


@pytest.mark.django_db
def test_a_skin_type_outside_fitzpatrick_is_refused(clinic):
    form = PatientForm({"first_name": "A", "last_name": "B", "skin_type": "7"}, clinic=clinic)
    assert "skin_type" in form.errors


def _patient_data(**overrides):
    data = {"first_name": "A", "last_name": "B", "skin_type": "3"}
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_a_national_number_typed_at_a_british_clinic_is_kept_in_international_form(clinic):
    form = PatientForm(_patient_data(phone="07400 900123"), clinic=clinic)
    assert form.is_valid(), form.errors
    assert form.instance.phone.as_e164 == "+447400900123"


@pytest.mark.django_db
def test_a_national_number_typed_at_an_american_clinic_is_read_as_american():
    clinic = ClinicFactory(timezone="America/New_York")
    form = PatientForm(_patient_data(phone="(201) 555-0123"), clinic=clinic)
    assert form.is_valid(), form.errors
    assert form.instance.phone.as_e164 == "+12015550123"


@pytest.mark.django_db
def test_the_clinics_country_wins_over_its_time_zone():
    clinic = ClinicFactory(timezone="Europe/London", country="US")
    form = PatientForm(_patient_data(phone="201 555 0123"), clinic=clinic)
    assert form.is_valid(), form.errors
    assert form.instance.phone.as_e164 == "+12015550123"


@pytest.mark.django_db
def test_a_number_from_another_country_is_kept_when_typed_with_its_code(clinic):
    form = PatientForm(_patient_data(phone="+33 6 12 34 56 78"), clinic=clinic)
    assert form.is_valid(), form.errors
    assert form.instance.phone.as_e164 == "+33612345678"


@pytest.mark.django_db
def test_a_wrong_number_is_refused_with_an_example_in_the_clinics_national_form(clinic):
    form = PatientForm(_patient_data(phone="0740"), clinic=clinic)
    assert form.has_error("phone", code="invalid")
    assert "for example 07400 123456" in form.errors["phone"][0]


@pytest.mark.django_db
def test_text_consent_without_a_number_is_refused_next_to_the_phone_field(clinic):
    form = PatientForm(_patient_data(text_consent="on"), clinic=clinic)
    assert form.has_error("phone", code="consent_without_phone")
    assert form.errors["phone"] == [
        "Add a mobile number: texts need one, and the patient agreed to them."
    ]


@pytest.mark.django_db
def test_text_consent_with_a_landline_is_refused_naming_it_a_landline(clinic):
    form = PatientForm(_patient_data(phone="020 7946 0123", text_consent="on"), clinic=clinic)
    assert form.has_error("phone", code="landline")
    assert "020 7946 0123 is a landline" in form.errors["phone"][0]


@pytest.mark.django_db
def test_a_landline_without_text_consent_is_kept_for_calls(clinic):
    form = PatientForm(_patient_data(phone="020 7946 0123"), clinic=clinic)
    assert form.is_valid(), form.errors


@pytest.mark.django_db
def test_text_consent_with_a_mobile_number_is_accepted(clinic):
    form = PatientForm(_patient_data(phone="07400 900123", text_consent="on"), clinic=clinic)
    assert form.is_valid(), form.errors
    assert form.instance.text_consent


@pytest.mark.django_db
def test_text_consent_is_offered_after_email_consent_only_while_texts_are_on(clinic, settings):
    names = list(PatientForm(clinic=clinic).fields)
    assert names.index("text_consent") == names.index("email_consent") + 1
    settings.TEXT_BACKEND = ""
    assert "text_consent" not in PatientForm(clinic=clinic).fields


@pytest.mark.django_db
def test_the_phone_field_says_how_to_type_the_number(clinic):
    field = PatientForm(clinic=clinic).fields["phone"]
    assert field.label == "Mobile phone"
    assert "as the patient says it" in field.help_text
    assert "international form" in field.help_text


@pytest.mark.django_db
def test_staff_cannot_tick_texts_for_a_patient_who_replied_stop(clinic):
    patient = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=timezone.now())
    texts_stop_for_patient(patient=patient, source=ConsentSource.TEXT_STOP, now=timezone.now())
    form = PatientForm(
        _patient_data(phone="07400 900123", text_consent="on"), instance=patient, clinic=clinic
    )
    assert form.has_error("text_consent", code="replied_stop")


@pytest.mark.django_db
def test_staff_may_tick_texts_again_after_staff_stopped_them(clinic):
    patient = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=timezone.now())
    texts_stop_for_patient(patient=patient, source=ConsentSource.STAFF_STOP, now=timezone.now())
    form = PatientForm(
        _patient_data(phone="07400 900123", text_consent="on"), instance=patient, clinic=clinic
    )
    assert form.is_valid(), form.errors
