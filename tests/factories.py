from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from clinic.models import Clinic, OpeningHours, StaffMembership, StaffRole
from patients.models import Patient, Treatment

STAFF_PASSWORD = "correct-horse-battery-staple"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")
    timezone = "Europe/London"
    phone = "+44 20 7946 0123"
    email = factory.Sequence(lambda n: f"clinic{n}@example.com")
    address = "1 High Street"
    sender_name = factory.SelfAttribute("name")
    out_of_hours_phone = "+44 20 7946 0999"

    @factory.post_generation
    def opening_hours(obj, create, extracted, **kwargs):
        """`ClinicFactory(opening_hours=[(0, "09:00", "18:00"), ...])`: weekday (Monday 0),
        opens, closes. None by default: the clinic gave no hours."""
        if create and extracted:
            for weekday, opens, closes in extracted:
                OpeningHoursFactory(clinic=obj, weekday=weekday, opens=opens, closes=closes)


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    clinic = factory.SubFactory(ClinicFactory)
    weekday = 0
    opens = "09:00"
    closes = "18:00"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Staff{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(STAFF_PASSWORD)


class StaffMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = StaffRole.PRACTITIONER


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    first_name = "Jordan"
    last_name = factory.Sequence(lambda n: f"Patient{n}")
    email = factory.LazyAttribute(lambda p: f"{p.last_name.lower()}@example.com")
    # A number libphonenumber takes as a valid UK mobile (07700 900xxx is reserved for drama:
    # the field's validation refuses it).
    phone = "+447400123456"
    skin_type = 3
    email_consent = True
    email_consent_at = factory.LazyFunction(timezone.now)


class TreatmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Treatment

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    practitioner = factory.SubFactory(UserFactory)
    performed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    # Scores 0 in the shipped intensity table: the light durations exactly (makeup 48 h).
    depth_mm = Decimal("0.25")
    passes = 2
    areas = factory.LazyFunction(lambda: ["cheeks"])
    device = "pen"
