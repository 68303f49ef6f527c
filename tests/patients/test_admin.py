"""patients.admin: the Patient admin shows texting consent and a number's problems."""

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import StaffRole
from patients.models import TextProblem
from tests.factories import PatientFactory, StaffMembershipFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db


def test_the_patient_admin_shows_text_consent_and_the_numbers_problem_read_only(clinic):
    patient = PatientFactory(
        clinic=clinic,
        text_consent=True,
        text_consent_at=timezone.now(),
        phone_undeliverable_at=timezone.now(),
        phone_undeliverable_reason=TextProblem.INVALID,
    )
    admin = verified_client(StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user)
    page = admin.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    form = page.context["adminform"].form
    assert "text_consent" in form.fields
    for name in ("text_consent_at", "phone_undeliverable_at", "phone_undeliverable_reason"):
        assert name not in form.fields
        assert f"field-{name}" in page.content.decode()


def test_the_patient_list_in_the_admin_filters_by_text_consent(clinic):
    texting = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=timezone.now())
    PatientFactory(clinic=clinic)
    admin = verified_client(StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user)
    page = admin.get(reverse("admin:patients_patient_changelist"), {"text_consent__exact": "1"})
    assert list(page.context["cl"].result_list) == [texting]


def test_a_mobile_typed_in_the_admin_is_read_in_the_clinics_country(clinic):
    patient = PatientFactory(clinic=clinic, phone="")
    admin = verified_client(StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user)
    page = admin.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    phone = page.context["adminform"].form.fields["phone"]
    assert phone.clean("07400 900555").as_e164 == "+447400900555"
