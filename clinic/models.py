from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from clinic.countries import emergency_number_for_country, validate_country, validate_phone
from clinic.zones import TEMPERATE, TROPICAL, climate_for_timezone, country_for_timezone


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "%(value)s is not a known time zone; use a name like Europe/London.",
            code="unknown_timezone",
            params={"value": value},
        )


class Climate(models.TextChoices):
    FROM_TIMEZONE = "", "From the time zone"
    TEMPERATE = TEMPERATE, "Temperate"
    TROPICAL = TROPICAL, "Tropical"


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
    country = models.CharField(
        max_length=2,
        blank=True,
        validators=[validate_country],
        help_text=(
            "Two capital letters (ISO 3166), e.g. GB, US or AU. It decides the emergency "
            "number patients are told to call. Empty: the country of the time zone."
        ),
    )
    emergency_number = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_phone],
        help_text=(
            "The number patients call for a severe allergic reaction, e.g. 999. "
            "Empty: the usual emergency number of the country (112 if we don't know it)."
        ),
    )
    out_of_hours_phone = models.CharField(
        "out-of-hours phone",
        max_length=40,
        blank=True,
        validators=[validate_phone],
        help_text=(
            "Where patients call about a warning sign when the clinic is closed. Empty: "
            "they are told to call the emergency number or go to urgent care if it can't "
            "wait."
        ),
    )
    climate = models.CharField(
        max_length=10,
        blank=True,
        choices=Climate.choices,
        help_text=(
            "Decides the seasonal advice: tropical clinics get heat and humidity advice, "
            "never winter or summer. Empty: from the time zone (tropical between the "
            "tropics)."
        ),
    )
    # Texts wake people: they go out only between these times, in the clinic's time zone;
    # one due outside them waits for the next start (aftercare.delivery.dispatch).
    texts_from = models.TimeField(
        default=time(9, 0), help_text="Texts go out from this time of day (the clinic's time)."
    )
    texts_until = models.TimeField(
        default=time(20, 0), help_text="...and not from this time on; the rest wait till morning."
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
            models.CheckConstraint(
                condition=Q(country="") | Q(country__regex=r"^[A-Z]{2}$"),
                name="clinic_country_two_capitals",
            ),
            models.CheckConstraint(
                condition=Q(climate__in=Climate.values), name="clinic_climate_valid"
            ),
            models.CheckConstraint(
                condition=Q(texts_from__lt=F("texts_until")), name="clinic_texts_window_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.texts_from and self.texts_until and self.texts_from >= self.texts_until:
            raise ValidationError(
                {"texts_until": "Texts must stop later in the day than they start."},
                code="texts_window_order",
            )

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def country_code(self) -> str:
        """The country set, else the time zone's; "" when neither says (UTC)."""
        return self.country or country_for_timezone(self.timezone)

    @property
    def emergency_phone(self) -> str:
        """The number to call in an emergency: the one set, else the country's."""
        return self.emergency_number or emergency_number_for_country(self.country_code)

    @property
    def climate_zone(self) -> str:
        """ "temperate" or "tropical": the one set, else the time zone's."""
        return self.climate or climate_for_timezone(self.timezone)

    def text_time(self, moment: datetime) -> datetime:
        """`moment` if texts may go out then, else the next start of the texting hours
        (both in the clinic's time zone)."""
        local = _local(moment, self.zone)
        if self.texts_from <= local.time() < self.texts_until:
            return moment
        day = local.date() + timedelta(days=int(local.time() >= self.texts_until))
        return _wall_clock(day, self.texts_from, self.zone)

    # Opening hours. Each method reads `opening_hours.all()`, so a caller that needs
    # several prefetches them once (clinic.contacts.who_to_call).

    def is_open_at(self, moment: datetime) -> bool | None:
        """Whether the clinic is open at `moment` (aware), in its own time zone.

        None when the clinic gave no opening hours: nobody can say.
        """
        rows = list(self.opening_hours.all())
        if not rows:
            return None
        local = _local(moment, self.zone)
        return any(row.covers(local) for row in rows)

    def next_opening_after(self, moment: datetime) -> datetime | None:
        """When the clinic next opens after `moment`, in its time zone; None without hours."""
        rows = sorted(self.opening_hours.all(), key=lambda row: row.opens)
        local = _local(moment, self.zone)
        for days_ahead in range(8):
            day = local.date() + timedelta(days=days_ahead)
            for row in rows:
                if row.weekday != day.weekday():
                    continue
                opens = datetime.combine(day, row.opens, tzinfo=self.zone)
                if opens > local:
                    return opens
        return None

    def opening_hours_summary(self) -> str:
        """The opening hours in a line, e.g. "Mon-Fri 9:00-18:00, Sat 10:00-14:00"; "" if
        none are given. Days in a row with the same hours are written together."""
        return summarise_opening_hours(self.opening_hours.all())


WEEKDAY_SHORT_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _local(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be an aware datetime")
    return moment.astimezone(zone)


def _wall_clock(day: date, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """`at` on `day` in `zone`; a time skipped by a clock change is the first moment after it."""
    moment = datetime.combine(day, at, tzinfo=zone)
    # A wall time inside a spring-forward gap does not survive a round trip through UTC.
    round_trip = moment.astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(zone)
    return round_trip if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None) else moment


def _clock(value: time) -> str:
    return f"{value.hour}:{value.minute:02d}"


def summarise_opening_hours(rows: Iterable[OpeningHours]) -> str:
    by_day: dict[int, list[tuple[time, time]]] = {}
    for row in rows:
        by_day.setdefault(row.weekday, []).append((row.opens, row.closes))
    parts: list[str] = []
    weekday = 0
    while weekday < 7:
        if weekday not in by_day:
            weekday += 1
            continue
        hours = sorted(by_day[weekday])
        last = weekday
        while last + 1 < 7 and sorted(by_day.get(last + 1, [])) == hours:
            last += 1
        days = WEEKDAY_SHORT_NAMES[weekday]
        if last > weekday:
            days += f"-{WEEKDAY_SHORT_NAMES[last]}"
        spans = " and ".join(f"{_clock(opens)}-{_clock(closes)}" for opens, closes in hours)
        parts.append(f"{days} {spans}")
        weekday = last + 1
    return ", ".join(parts)


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """One stretch of a day on which the clinic answers its phone, in its local time.

    A day with a lunch break has two rows; a day without rows is closed. A clinic with
    no rows at all gave no hours: its pages give both numbers and claim neither.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField(help_text="Local time, e.g. 09:00.")
    closes = models.TimeField(help_text="Local time, e.g. 18:00; after the opening time.")

    class Meta:
        ordering = ["clinic", "weekday", "opens"]
        verbose_name = "opening hours"
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0) & Q(weekday__lte=6), name="opening_hours_weekday"
            ),
            models.CheckConstraint(
                condition=Q(opens__lt=F("closes")), name="opening_hours_opens_before_closes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {_clock(self.opens)}-{_clock(self.closes)}"

    def clean(self) -> None:
        if self.opens is not None and self.closes is not None and self.opens >= self.closes:
            raise ValidationError(
                {
                    "closes": ValidationError(
                        "The closing time must come after the opening time.",
                        code="closes_before_opening",
                    )
                }
            )

    def covers(self, local: datetime) -> bool:
        """Whether this stretch holds `local`, a time in the clinic's zone."""
        return local.weekday() == self.weekday and self.opens <= local.time() < self.closes

    def overlaps(self, other: OpeningHours) -> bool:
        return (
            self.weekday == other.weekday
            and self.opens < other.closes
            and other.opens < self.closes
        )


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
