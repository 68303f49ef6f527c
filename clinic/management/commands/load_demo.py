"""Create a demo clinic with staff logins, patients and treatments (idempotent)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from clinic.models import Clinic, StaffMembership, StaffRole
from patients.models import Patient, Treatment
from patients.services import patient_create, treatment_create

DEMO_CLINIC = "Harbour Lane Skin Clinic"
DEMO_LOGINS = {
    "practitioner": ("demo-practitioner-pass", StaffRole.PRACTITIONER, "Priya", "Shah"),
    "admin": ("demo-admin-pass-2026", StaffRole.CLINIC_ADMIN, "Alex", "Morgan"),
    "frontdesk": ("demo-frontdesk-pass", StaffRole.FRONT_DESK, "Jo", "Rivera"),
}
DEMO_PATIENTS = [
    ("Jamie", "Okafor", "jamie.okafor@example.com", 5, True),
    ("Sam", "Lindqvist", "sam.lindqvist@example.com", 2, True),
    ("Rosa", "Delgado", "", 4, False),
]


class Command(BaseCommand):
    help = "Load a demo clinic, two staff logins and a few patients. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Allow running with DEBUG off (not advised)."
        )

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Demo logins have known passwords: run with DEBUG on, or --force.")
        clinic, _ = Clinic.objects.get_or_create(
            name=DEMO_CLINIC,
            defaults={
                "slug": "harbour-lane",
                "timezone": "Europe/London",
                "phone": "+44 20 7946 0000",
                "email": "hello@harbourlane.example",
                "address": "12 Harbour Lane\nLondon",
                "sender_name": "Harbour Lane Skin Clinic",
            },
        )
        users = {name: self._ensure_user(clinic, name, *spec) for name, spec in DEMO_LOGINS.items()}
        if not clinic.patients.exists():
            self._create_patients(clinic, users["practitioner"])
        self.stdout.write(self.style.SUCCESS(f"Demo clinic: {clinic.name}"))
        for name, (password, role, *_) in DEMO_LOGINS.items():
            self.stdout.write(f"  {role.label} login: {name} / {password}")

    def _ensure_user(self, clinic, username, password, role, first_name, last_name):
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@harbourlane.example",
                "is_staff": role == StaffRole.CLINIC_ADMIN,
                "is_superuser": role == StaffRole.CLINIC_ADMIN,
            },
        )
        if created:
            user.set_password(password)
            user.save()
        StaffMembership.objects.get_or_create(user=user, defaults={"clinic": clinic, "role": role})
        return user

    def _create_patients(self, clinic, practitioner) -> None:
        now = timezone.now()
        for days_ago, (first, last, email, skin_type, consent) in enumerate(DEMO_PATIENTS):
            patient = patient_create(
                clinic=clinic,
                patient=Patient(
                    first_name=first,
                    last_name=last,
                    email=email,
                    skin_type=skin_type,
                    email_consent=consent,
                ),
            )
            treatment_create(
                patient=patient,
                practitioner=practitioner,
                treatment=Treatment(
                    performed_at=now - timedelta(days=days_ago * 2, hours=1),
                    depth_mm=Decimal("1.0") + Decimal("0.25") * days_ago,
                    passes=2 + days_ago,
                    areas=["cheeks", "forehead"] if days_ago % 2 == 0 else ["periorbital"],
                    device="pen",
                    products_applied="Hyaluronic acid serum",
                ),
            )
