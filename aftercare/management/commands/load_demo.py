"""Create a demo clinic with staff logins, a platform superuser, patients and treatments
(idempotent).

The clinic admin and the platform superuser must pass a second factor
(clinic.two_factor). So that `make run` needs no phone, both get an authenticator
with a fixed, demo-only key and a fixed set of recovery codes, printed below; every
run puts them back (a demo login's own authenticator, if set up, is replaced).
"""

from __future__ import annotations

from base64 import b32decode
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import Clinic, OpeningHours, StaffMembership, StaffRole, Weekday
from clinic.two_factor import AUTHENTICATOR_NAME, RECOVERY_DEVICE_NAME, secret_for_typing
from patients.models import Patient, Treatment
from patients.services import patient_create, treatment_create

DEMO_CLINIC = "Harbour Lane Skin Clinic"
DEMO_LOGINS = {
    "practitioner": ("demo-practitioner-pass", StaffRole.PRACTITIONER, "Priya", "Shah"),
    "admin": ("demo-admin-pass-2026", StaffRole.CLINIC_ADMIN, "Alex", "Morgan"),
    "frontdesk": ("demo-frontdesk-pass", StaffRole.FRONT_DESK, "Jo", "Rivera"),
}
# Manages the clinics themselves in the Django admin; belongs to no clinic.
DEMO_PLATFORM_LOGIN = ("platform", "demo-platform-pass-2026")
# Known to anyone who reads this file: for the demo only (the command refuses DEBUG off).
DEMO_TOTP_SECRET = "DEMODEMODEMODEMODEMODEMODEMODEMO"
DEMO_RECOVERY_CODES = [f"demo-code-{n:02d}" for n in range(1, 11)]
DEMO_OUT_OF_HOURS_PHONE = "+44 20 7946 0999"
# Weekdays 9:00 to 18:00 with a lunch hour, Saturday mornings (the clinic's local time).
DEMO_OPENING_HOURS = [
    *[(day, time(9), time(13)) for day in range(Weekday.MONDAY, Weekday.SATURDAY)],
    *[(day, time(14), time(18)) for day in range(Weekday.MONDAY, Weekday.SATURDAY)],
    (Weekday.SATURDAY, time(10), time(14)),
]
# first, last, email, skin type, agrees to emails, mobile, agrees to texts. In development
# texts are printed like emails, so `make run` shows one of each kind of patient.
DEMO_PATIENTS = [
    ("Jamie", "Okafor", "jamie.okafor@example.com", 5, True, "", False),
    ("Sam", "Lindqvist", "sam.lindqvist@example.com", 2, True, "+447400123456", True),
    ("Rosa", "Delgado", "", 4, False, "+447400654321", True),
]


class Command(BaseCommand):
    help = (
        "Load a demo clinic, its staff logins, a platform superuser and a few patients. "
        "Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Allow running with DEBUG off (not advised)."
        )

    @transaction.atomic
    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
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
                "out_of_hours_phone": DEMO_OUT_OF_HOURS_PHONE,
            },
        )
        self._ensure_contacts(clinic)
        users = {name: self._ensure_user(clinic, name, *spec) for name, spec in DEMO_LOGINS.items()}
        platform = self._ensure_platform_user(*DEMO_PLATFORM_LOGIN)
        second_factor = [users["admin"], platform]
        devices = [self._ensure_second_factor(user) for user in second_factor]
        if not clinic.patients.exists():
            self._create_patients(clinic, users["practitioner"])
        self.stdout.write(self.style.SUCCESS(f"Demo clinic: {clinic.name}"))
        for name, (password, role, *_) in DEMO_LOGINS.items():
            self.stdout.write(f"  {role.label} login: {name} / {password}")
        username, password = DEMO_PLATFORM_LOGIN
        self.stdout.write(
            f"Platform superuser (manages clinics at /admin/): {username} / {password}"
        )
        self.stdout.write(
            self.style.WARNING(
                f"Second factor for {' and '.join(u.username for u in second_factor)} "
                "(demo only: a fixed key anyone can read):"
            )
        )
        self.stdout.write(
            f"  Authenticator key (time-based, 6 digits): {secret_for_typing(devices[0])}"
        )
        for device in devices:
            self.stdout.write(f"  {device.user.username}: {device.config_url}")
        self.stdout.write("  Recovery codes (each works once per login; load_demo restores them):")
        self.stdout.write(f"    {' '.join(DEMO_RECOVERY_CODES)}")

    def _ensure_contacts(self, clinic: Clinic) -> None:
        """Opening hours and an out-of-hours phone, for a demo clinic made without them."""
        if not clinic.out_of_hours_phone:
            clinic.out_of_hours_phone = DEMO_OUT_OF_HOURS_PHONE
            clinic.save(update_fields=["out_of_hours_phone"])
        if not clinic.opening_hours.exists():
            OpeningHours.objects.bulk_create(
                OpeningHours(clinic=clinic, weekday=day, opens=opens, closes=closes)
                for day, opens, closes in DEMO_OPENING_HOURS
            )

    def _ensure_user(
        self,
        clinic: Clinic,
        username: str,
        password: str,
        role: StaffRole,
        first_name: str,
        last_name: str,
    ) -> User:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@harbourlane.example",
                "is_staff": role == StaffRole.CLINIC_ADMIN,
            },
        )
        if created:
            user.set_password(password)
            user.save()
        elif user.is_superuser:
            # Earlier versions made the demo clinic admin a superuser.
            user.is_superuser = False
            user.save(update_fields=["is_superuser"])
        StaffMembership.objects.get_or_create(user=user, defaults={"clinic": clinic, "role": role})
        return user

    def _ensure_platform_user(self, username: str, password: str) -> User:
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={
                "first_name": "Platform",
                "last_name": "Admin",
                "email": "platform@aftercare.example",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        if created:
            user.set_password(password)
            user.save()
        return user

    def _ensure_second_factor(self, user: User) -> TOTPDevice:
        key = b32decode(DEMO_TOTP_SECRET).hex()
        TOTPDevice.objects.filter(user=user).exclude(key=key).delete()
        device, _ = TOTPDevice.objects.update_or_create(
            user=user,
            defaults={
                "name": AUTHENTICATOR_NAME,
                "key": key,
                "confirmed": True,
                "throttling_failure_count": 0,
                "throttling_failure_timestamp": None,
            },
        )
        StaticDevice.objects.filter(user=user).exclude(name=RECOVERY_DEVICE_NAME).delete()
        recovery, _ = StaticDevice.objects.update_or_create(
            user=user,
            defaults={
                "name": RECOVERY_DEVICE_NAME,
                "confirmed": True,
                "throttling_failure_count": 0,
                "throttling_failure_timestamp": None,
            },
        )
        recovery.token_set.all().delete()
        StaticToken.objects.bulk_create(
            StaticToken(device=recovery, token=code) for code in DEMO_RECOVERY_CODES
        )
        return device

    def _create_patients(self, clinic: Clinic, practitioner: User) -> None:
        now = timezone.now()
        for days_ago, row in enumerate(DEMO_PATIENTS):
            first, last, email, skin_type, consent, mobile, text_consent = row
            patient = patient_create(
                clinic=clinic,
                patient=Patient(
                    first_name=first,
                    last_name=last,
                    email=email,
                    skin_type=skin_type,
                    email_consent=consent,
                    phone=mobile,
                    text_consent=text_consent,
                    text_consent_at=now if text_consent else None,
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
