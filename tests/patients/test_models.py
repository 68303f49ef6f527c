from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from patients.models import Patient, Treatment
from tests.factories import PatientFactory, TreatmentFactory


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_refuses_a_depth_written_straight_to_the_database():
    treatment = TreatmentFactory()
    with pytest.raises(IntegrityError, match="treatment_depth_in_range"), transaction.atomic():
        Treatment.objects.filter(pk=treatment.pk).update(depth_mm=Decimal("3.5"))


@pytest.mark.django_db
@pytest.mark.parametrize("passes", [0, 11])
def test_the_database_refuses_passes_out_of_range(passes):
    treatment = TreatmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Treatment.objects.filter(pk=treatment.pk).update(passes=passes)


@pytest.mark.django_db
def test_the_database_refuses_a_treatment_without_areas():
    treatment = TreatmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Treatment.objects.filter(pk=treatment.pk).update(areas=[])


@pytest.mark.django_db
def test_the_database_refuses_an_unknown_device():
    treatment = TreatmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Treatment.objects.filter(pk=treatment.pk).update(device="laser")


@pytest.mark.django_db
@pytest.mark.parametrize("skin_type", [0, 7])
def test_the_database_refuses_a_skin_type_outside_fitzpatrick(skin_type):
    patient = PatientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(skin_type=skin_type)


@pytest.mark.django_db
def test_the_database_refuses_consent_without_an_email():
    patient = PatientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(email="")


@pytest.mark.django_db
def test_a_treatment_with_an_unknown_area_does_not_validate():
    treatment = TreatmentFactory.build(areas=["cheeks", "elbow"], patient=PatientFactory())
    with pytest.raises(ValidationError, match="Unknown treated area: elbow"):
        treatment.full_clean()


def test_age_counts_whole_years_before_the_birthday():
    patient = Patient(date_of_birth=date(1990, 6, 15))
    assert patient.age_on(date(2026, 6, 14)) == 35
    assert patient.age_on(date(2026, 6, 15)) == 36


def test_age_is_unknown_without_a_date_of_birth():
    assert Patient().age_on(date(2026, 1, 1)) is None


def test_history_flags_name_the_ticked_boxes():
    patient = Patient(breakout_prone=True, sensitive_skin=True)
    assert patient.history_flags() == {"breakout_prone", "sensitive_skin"}


@pytest.mark.django_db
def test_search_matches_every_word_across_name_email_and_phone():
    match = PatientFactory(first_name="Ana", last_name="Silva", phone="07700 900555")
    PatientFactory(first_name="Ana", last_name="Jones", clinic=match.clinic)
    assert list(Patient.objects.search("ana 900555")) == [match]


@pytest.mark.django_db
def test_search_finds_a_mobile_typed_as_people_say_it_in_the_clinics_country():
    match = PatientFactory(phone="+447400123987")
    PatientFactory(clinic=match.clinic, phone="+447400123988")
    assert list(Patient.objects.search("07400 123987", region="GB")) == [match]
    assert list(Patient.objects.search("+44 7400 123 987")) == [match]


@pytest.mark.django_db
def test_search_for_a_number_that_is_not_a_whole_phone_number_matches_fragments():
    match = PatientFactory(phone="+447400123987")
    assert list(Patient.objects.search("123987", region="GB")) == [match]


VISIT_NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_visit_is_the_patients_treatments_on_one_local_day(patient):
    morning = TreatmentFactory(patient=patient, performed_at=VISIT_NOON - timedelta(hours=3))
    noon = TreatmentFactory(patient=patient, performed_at=VISIT_NOON)
    TreatmentFactory(patient=patient, performed_at=VISIT_NOON + timedelta(days=1))
    TreatmentFactory(performed_at=VISIT_NOON)
    assert list(Treatment.objects.same_visit_as(noon)) == [morning, noon]
