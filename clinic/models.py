from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "%(value)s is not a known time zone; use a name like Europe/London.",
            code="unknown_timezone",
            params={"value": value},
        )


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        unique=True, help_text="Short name used in patients' links, e.g. harbour-lane."
    )
    timezone = models.CharField(
        max_length=64,
        default="Europe/London",
        validators=[validate_timezone],
        help_text="IANA time zone name, e.g. Europe/London or Australia/Sydney.",
    )
    phone = models.CharField(max_length=40)
    email = models.EmailField()
    address = models.TextField(blank=True)
    sender_name = models.CharField(
        max_length=100, help_text="Shown as the sender of the clinic's reminder emails."
    )
    reminder_hour = models.PositiveSmallIntegerField(
        default=9, help_text="Local hour (8 to 20) at which reminder emails go out."
    )
    booking_url = models.URLField(
        blank=True,
        help_text="Online booking page, linked from rebooking reminders. Empty: the phone.",
    )
    require_two_factor = models.BooleanField(
        default=False,
        help_text=(
            "Every staff member must enter a code from an authenticator app after their "
            "password. Clinic admins always must."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="clinic_name_not_empty"),
            models.CheckConstraint(condition=~Q(phone=""), name="clinic_phone_not_empty"),
            models.CheckConstraint(condition=~Q(timezone=""), name="clinic_timezone_not_empty"),
            models.CheckConstraint(
                condition=Q(reminder_hour__gte=8) & Q(reminder_hour__lte=20),
                name="clinic_reminder_hour_daytime",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StaffRole(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    FRONT_DESK = "front_desk", "Front desk"
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"


class StaffMembership(models.Model):
    """Links a Django user to the one clinic they work for, with their role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=StaffRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic", "user__username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=StaffRole.values), name="staff_membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.clinic})"

    @property
    def can_treat(self) -> bool:
        return self.role in {StaffRole.PRACTITIONER, StaffRole.CLINIC_ADMIN}
