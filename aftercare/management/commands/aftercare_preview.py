"""Print the aftercare plan the current guidance gives for a made-up treatment.

Nothing is stored: the facts come from the options, the guidance from a clinic's copy
(`--clinic SLUG`) or the shipped default, and `aftercare.plans.services.plan_preview` does the
planning. The JSON format is documented in
docs/aftercare_preview.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import zoneinfo
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from aftercare.planner.inputs import AREAS, DEVICES, HISTORY_FLAGS, ClinicFacts, TreatmentFacts
from aftercare.planner.planning import Plan, plan_to_dict
from aftercare.plans.services import plan_preview
from clinic.models import Clinic
from clinic.zones import climate_for_timezone, hemisphere_for_timezone
from patients.models import MAX_DEPTH_MM, MAX_PASSES, MIN_DEPTH_MM, MIN_PASSES

# A date without a time means a mid-morning appointment.
TREATMENT_TIME = time(10, 0)
DEPTH_DECIMAL_PLACES = 2  # as stored in Treatment.depth_mm
MAX_AGE = 120
ROMAN_SKIN_TYPES = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6}


class Command(BaseCommand):
    help = (
        "Preview the aftercare plan for a treatment described by the options, using a "
        "clinic's guidance (--clinic) or the shipped default. Nothing is saved."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        treatment = parser.add_argument_group("treatment")
        treatment.add_argument(
            "--depth",
            type=_depth,
            required=True,
            help=f"Needle depth in mm, {MIN_DEPTH_MM} to {MAX_DEPTH_MM}.",
        )
        treatment.add_argument(
            "--passes",
            type=_passes,
            required=True,
            help=f"Number of passes, {MIN_PASSES} to {MAX_PASSES}.",
        )
        treatment.add_argument(
            "--area",
            dest="areas",
            action="append",
            choices=AREAS,
            default=[],
            metavar="AREA",
            help=f"A treated area (at least one; repeat for more). One of: {', '.join(AREAS)}.",
        )
        treatment.add_argument(
            "--device",
            choices=DEVICES,
            default="pen",
            help=f"One of: {', '.join(DEVICES)} (default: pen).",
        )
        treatment.add_argument(
            "--skin-type",
            type=_skin_type,
            required=True,
            help="Fitzpatrick skin type: I to VI (any case) or 1 to 6.",
        )
        treatment.add_argument("--age", type=_age, help="The patient's age in years.")
        treatment.add_argument(
            "--history",
            action="append",
            choices=HISTORY_FLAGS,
            default=[],
            metavar="FLAG",
            help=f"A history flag; repeat for several. One of: {', '.join(HISTORY_FLAGS)}.",
        )
        treatment.add_argument(
            "--date",
            dest="when",
            type=_when,
            metavar="DATE",
            help=(
                "YYYY-MM-DD (treatment at 10:00 local) or an ISO datetime such as "
                "2027-01-15T14:30, read as local time in --timezone. Default: now."
            ),
        )
        clinic = parser.add_argument_group("clinic")
        clinic.add_argument(
            "--timezone",
            type=_timezone,
            default="Europe/London",
            help="The clinic's IANA time zone (default: Europe/London).",
        )
        clinic.add_argument(
            "--clinic",
            metavar="SLUG",
            help="Use this clinic's guidance (default: the shipped default guidance).",
        )
        clinic.add_argument("--clinic-name", default="Preview clinic", metavar="NAME")
        clinic.add_argument("--clinic-phone", default="+00 0000 000000", metavar="PHONE")
        clinic.add_argument("--clinic-email", default="clinic@example.com", metavar="EMAIL")
        parser.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="text: a readable summary (default); json: the whole plan.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["areas"]:
            # Not argparse's `required`: its message would not list the areas to choose from.
            raise CommandError(
                f"--area is required: give at least one of {', '.join(AREAS)} "
                "(repeat --area for more)"
            )
        zone_name = options["timezone"]
        clinic = ClinicFacts(
            name=options["clinic_name"],
            phone=options["clinic_phone"],
            email=options["clinic_email"],
            timezone=zone_name,
            hemisphere=hemisphere_for_timezone(zone_name),
            climate=climate_for_timezone(zone_name),
        )
        treatment = TreatmentFacts(
            performed_at=_performed_at(options["when"], ZoneInfo(zone_name)),
            depth_mm=options["depth"],
            passes=options["passes"],
            areas=frozenset(options["areas"]),
            device=options["device"],
            skin_type=options["skin_type"],
            age_years=options["age"],
            history=frozenset(options["history"]),
        )
        plan = plan_preview(treatment, clinic, guidance_of=_clinic(options["clinic"]))
        if options["format"] == "json":
            self.stdout.write(json.dumps(plan_to_dict(plan), indent=2))
        else:
            self.stdout.write("\n".join(_text_lines(plan)))


def _clinic(slug: str | None) -> Clinic | None:
    if not slug:
        return None
    try:
        return Clinic.objects.get(slug=slug)
    except Clinic.DoesNotExist:
        known = ", ".join(Clinic.objects.values_list("slug", flat=True)) or "none yet"
        raise CommandError(f"No clinic with the slug {slug!r} (clinics: {known})") from None


# Argument types. argparse prefixes their messages with "argument --<option>:", and Django
# turns the parser error into a CommandError when the command is called from code.


def _depth(value: str) -> Decimal:
    try:
        depth = Decimal(value.strip())
    except InvalidOperation:
        depth = None
    if depth is None or not depth.is_finite():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number; give the needle depth in mm, "
            f"{MIN_DEPTH_MM} to {MAX_DEPTH_MM}"
        )
    if not MIN_DEPTH_MM <= depth <= MAX_DEPTH_MM:
        raise argparse.ArgumentTypeError(
            f"{value} mm is out of range; the needle depth must be {MIN_DEPTH_MM} to "
            f"{MAX_DEPTH_MM} mm"
        )
    if depth != depth.quantize(Decimal(1).scaleb(-DEPTH_DECIMAL_PLACES)):
        raise argparse.ArgumentTypeError(
            f"{value} has too many decimal places; use at most {DEPTH_DECIMAL_PLACES}"
        )
    return depth


def _passes(value: str) -> int:
    passes = _whole_number(value)
    if passes is None or not MIN_PASSES <= passes <= MAX_PASSES:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not allowed; passes must be a whole number from {MIN_PASSES} "
            f"to {MAX_PASSES}"
        )
    return passes


def _skin_type(value: str) -> int:
    text = value.strip().upper()
    skin_type = ROMAN_SKIN_TYPES.get(text) or _whole_number(text)
    if skin_type is None or skin_type not in ROMAN_SKIN_TYPES.values():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a Fitzpatrick skin type; use I, II, III, IV, V or VI "
            "(any case), or 1 to 6"
        )
    return skin_type


def _age(value: str) -> int:
    age = _whole_number(value)
    if age is None or not 0 <= age <= MAX_AGE:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an age; give whole years from 0 to {MAX_AGE}"
        )
    return age


def _when(value: str) -> date | datetime:
    text = value.strip()
    try:
        if len(text) > len("YYYY-MM-DD"):
            return datetime.fromisoformat(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date; use YYYY-MM-DD (treatment at 10:00) or "
            "YYYY-MM-DDTHH:MM in the clinic's local time"
        ) from None


def _timezone(value: str) -> str:
    if value not in _known_zones():
        raise argparse.ArgumentTypeError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/London, "
            "Australia/Sydney or America/New_York"
        )
    return value


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _whole_number(value: str) -> int | None:
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _performed_at(when: date | datetime | None, zone: ZoneInfo) -> datetime:
    if when is None:
        local = timezone.now().astimezone(zone).replace(second=0, microsecond=0)
    elif isinstance(when, datetime):
        local = when if when.tzinfo is not None else when.replace(tzinfo=zone)
    else:
        local = datetime.combine(when, TREATMENT_TIME, tzinfo=zone)
    # Through UTC and back: a wall time skipped by a DST change moves forward, as in the planner.
    return local.astimezone(UTC).astimezone(zone)


# The text summary.


def _text_lines(plan: Plan) -> list[str]:
    intensity = plan.intensity
    clinic = plan.clinic

    def when(moment: datetime) -> str:
        return _long(moment, year=moment.year != plan.performed_at.year)

    lines = [
        f"Aftercare preview for {clinic.name} ({clinic.phone}, {clinic.email})",
        f"Treatment: {_long(plan.performed_at, year=True)} {plan.timezone} "
        f"(UTC{_offset(plan.performed_at)})",
        f"Intensity: {intensity.label} (rank {intensity.rank}, score {intensity.score}), "
        f"about {intensity.downtime_hours} hours of visible downtime",
        f"Season: {plan.season} ({clinic.hemisphere}ern hemisphere)",
        "",
        "Phases:",
    ]
    for phase in plan.phases:
        until = f" until {when(phase.ends_at)}" if phase.ends_at else " onwards"
        lines.append(f"  {phase.name}: from {when(phase.starts_at)}{until}")
    lines += ["", "Restrictions (allowed again):"]
    lines += [
        f"  {restriction.label}: from {when(restriction.ends_at)}"
        for restriction in plan.restrictions
    ]
    lines += ["", "Reminders:"]
    lines += [
        f"  Day {reminder.day_number}, {when(reminder.send_at)}: {reminder.label}"
        for reminder in plan.reminders
    ]
    lines += ["", "Warning signs:"]
    lines += [f"  {warning.title}" for warning in plan.warnings]
    lines += [
        "",
        f"Guidance items: {len(plan.items)} (use --format json to see them all)",
        f"Fact ids: {', '.join(plan.fact_ids)}",
    ]
    return lines


def _long(moment: datetime, *, year: bool = False) -> str:
    """'Thursday 15 January 14:30': English names whatever the locale, for a stable output."""
    day = f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]}"
    return f"{day}{f' {moment.year}' if year else ''} {moment:%H:%M}"


def _offset(moment: datetime) -> str:
    """'+11:00', as in the ISO times of the JSON format."""
    return moment.isoformat(timespec="minutes")[-6:]


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
