from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from phonenumber_field.modelfields import PhoneNumberField

from aftercare.planner.courses import visit_day
from aftercare.planner.inputs import AREAS, DEVICES
from clinic.models import Clinic

MIN_DEPTH_MM = Decimal("0.1")
MAX_DEPTH_MM = Decimal("3.0")
USUAL_MIN_DEPTH_MM = Decimal("0.5")
USUAL_MAX_DEPTH_MM = Decimal("2.5")
MIN_PASSES = 1
MAX_PASSES = 10


class SkinType(models.IntegerChoices):
    """Fitzpatrick skin types."""

    I = 1, "I – always burns, never tans"  # noqa: E741
    II = 2, "II – usually burns, tans minimally"
    III = 3, "III – sometimes burns, tans gradually"
    IV = 4, "IV – burns minimally, tans well"
    V = 5, "V – rarely burns, tans deeply"
    VI = 6, "VI – never burns"


class TreatmentArea(models.TextChoices):
    FOREHEAD = "forehead", "Forehead"
    PERIORBITAL = "periorbital", "Around the eyes (periorbital)"
    CHEEKS = "cheeks", "Cheeks"
    NOSE = "nose", "Nose"
    PERIORAL = "perioral", "Around the mouth (perioral)"
    CHIN_JAWLINE = "chin_jawline", "Chin and jawline"
    NECK = "neck", "Neck"
    DECOLLETAGE = "decolletage", "Décolletage"
    HANDS = "hands", "Hands"
    SCALP = "scalp", "Scalp"
    BODY = "body", "Body areas"


class Device(models.TextChoices):
    PEN = "pen", "Automated microneedling pen"
    ROLLER = "roller", "Derma roller"
    STAMP = "stamp", "Derma stamp"
    RF = "rf", "RF microneedling"


assert tuple(TreatmentArea.values) == AREAS, (
    "patients.TreatmentArea must match aftercare.planner.inputs"
)
assert tuple(Device.values) == DEVICES, "patients.Device must match aftercare.planner.inputs"


class UndeliverableReason(models.TextChoices):
    """Why the email provider says the patient's address cannot take our emails."""

    BOUNCED = "bounced", "Email bounced"
    COMPLAINED = "complained", "Marked our email as spam"
    REJECTED = "rejected", "Refused by the email provider"


class TextProblem(models.TextChoices):
    """Why texts cannot reach the patient's number (the text provider said so)."""

    INVALID = "invalid", "Not a mobile number we can text"
    UNDELIVERED = "undelivered", "Texts do not arrive"


class Channel(models.TextChoices):
    """How a reminder reaches the patient. A patient agrees to each separately."""

    EMAIL = "email", "Email"
    TEXT = "text", "Text message"


class PatientQuerySet(models.QuerySet["Patient"]):
    def search(self, text: str, *, region: str = "") -> PatientQuerySet:
        """Patients matching every word as a fragment of a name, email or phone.

        A whole phone number typed the way people say it in `region` ("07400 123456" in
        GB) is looked up in the E.164 form numbers are stored in.
        On PostgreSQL each `icontains` (UPPER(col) LIKE UPPER('%word%')) is served by a
        trigram GIN index on UPPER(col) (patients migration 0002) for words of three or
        more characters.
        """
        number = _phone_number_in(text, region)
        query = Q()
        for word in [number] if number else text.split():
            query &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(phone__icontains=word)
            )
        return self.filter(query)


def _phone_number_in(text: str, region: str) -> str:
    """`text` in E.164 form if it is a valid phone number read in `region`, else ""."""
    if not any(character.isdigit() for character in text):
        return ""
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Patient(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    # Stored in international (E.164) form; typed in the clinic's national form too
    # (patients.forms reads it with the clinic's country).
    phone = PhoneNumberField("mobile phone", blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    skin_type = models.PositiveSmallIntegerField(
        "Fitzpatrick skin type",
        choices=SkinType.choices,
        null=True,
        blank=True,
        help_text="Assessed by a practitioner; needed before a treatment is logged.",
    )
    email_consent = models.BooleanField(
        "agrees to aftercare emails",
        default=False,
        help_text="Reminders are only emailed to patients with an email address who agreed.",
    )
    email_consent_at = models.DateTimeField(null=True, blank=True, editable=False)
    text_consent = models.BooleanField(
        "agrees to aftercare texts",
        default=False,
        db_default=False,
        help_text="Reminders are only texted to patients with a mobile number who agreed.",
    )
    text_consent_at = models.DateTimeField(null=True, blank=True, editable=False)
    breakout_prone = models.BooleanField("breakout-prone skin", default=False)
    slow_healing = models.BooleanField(
        "condition that slows healing",
        default=False,
        help_text="For example diabetes, or a condition or medicine that slows skin healing.",
    )
    sensitive_skin = models.BooleanField("sensitive or reactive skin", default=False)
    history_notes = models.TextField("other relevant history", blank=True)
    # Set from the email provider's bounce or complaint report
    # (aftercare.delivery.provider_reports); nothing more is emailed to the address until
    # staff correct it.
    email_undeliverable_at = models.DateTimeField(null=True, blank=True, editable=False)
    email_undeliverable_reason = models.CharField(
        max_length=20,
        choices=UndeliverableReason.choices,
        blank=True,
        default="",
        db_default="",
        editable=False,
    )
    # Set when the text provider refuses the number or reports texts to it undelivered
    # (aftercare.delivery.text_reports); nothing more is texted until staff correct it.
    phone_undeliverable_at = models.DateTimeField(null=True, blank=True, editable=False)
    phone_undeliverable_reason = models.CharField(
        max_length=20,
        choices=TextProblem.choices,
        blank=True,
        default="",
        db_default="",
        editable=False,
    )
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [
            ("change_clinical_details", "Can edit a patient's skin type and history"),
            ("export_patient", "Can export a patient's whole record"),
            ("erase_patient", "Can erase a patient's personal data"),
            ("view_audit_trail", "Can see who viewed or changed a patient's record"),
        ]
        indexes = [
            models.Index(Upper("last_name"), "clinic", name="patient_clinic_last_name"),
            # Read by aftercare.plans.today.dashboard_for (undeliverable_addresses): the
            # clinic's patients whose address bounced, latest first; only they are in it.
            models.Index(
                fields=["clinic", "-email_undeliverable_at"],
                name="patient_undeliverable_today",
                condition=Q(email_undeliverable_at__isnull=False),
            ),
            # The same for numbers texts cannot reach (undeliverable_numbers).
            models.Index(
                fields=["clinic", "-phone_undeliverable_at"],
                name="patient_phone_bad_today",
                condition=Q(phone_undeliverable_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(skin_type__gte=1) & Q(skin_type__lte=6),
                name="patient_skin_type_1_to_6",
            ),
            models.CheckConstraint(
                condition=~Q(first_name="") & ~Q(last_name=""), name="patient_names_not_empty"
            ),
            # Consent is only meaningful with an address to send to and the moment it was given.
            models.CheckConstraint(
                condition=Q(email_consent=False)
                | (~Q(email="") & Q(email_consent_at__isnull=False)),
                name="patient_consent_needs_email_and_time",
            ),
            models.CheckConstraint(
                condition=Q(text_consent=False) | (~Q(phone="") & Q(text_consent_at__isnull=False)),
                name="patient_text_consent_needs_phone_and_time",
            ),
            models.CheckConstraint(
                condition=(
                    Q(email_undeliverable_at__isnull=True, email_undeliverable_reason="")
                    | (
                        Q(email_undeliverable_at__isnull=False)
                        & Q(email_undeliverable_reason__in=UndeliverableReason.values)
                    )
                ),
                name="patient_undeliverable_has_time_and_reason",
            ),
            models.CheckConstraint(
                condition=(
                    Q(phone_undeliverable_at__isnull=True, phone_undeliverable_reason="")
                    | (
                        Q(phone_undeliverable_at__isnull=False)
                        & Q(phone_undeliverable_reason__in=TextProblem.values)
                    )
                ),
                name="patient_phone_undeliverable_has_time_and_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def can_receive_reminders(self) -> bool:
        """Reminders reach the patient by at least one channel."""
        return bool(self.channels)

    @property
    def can_receive_emails(self) -> bool:
        return bool(self.email) and self.email_consent and not self.email_undeliverable

    @property
    def can_receive_texts(self) -> bool:
        return bool(self.phone) and self.text_consent and self.phone_undeliverable_at is None

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The channels reminders go out on now: those the patient agreed to and that work."""
        usable = {Channel.EMAIL: self.can_receive_emails, Channel.TEXT: self.can_receive_texts}
        return tuple(channel for channel, works in usable.items() if works)

    @property
    def phone_problem(self) -> str:
        """What staff are told while texts cannot reach the number ("" when they can)."""
        if self.phone_undeliverable_reason == TextProblem.INVALID:
            return "Not a mobile number we can text: check it with the patient"
        if self.phone_undeliverable_at is not None:
            return "Texts are not arriving: call the patient"
        return ""

    @property
    def email_undeliverable(self) -> bool:
        return self.email_undeliverable_at is not None

    @property
    def email_problem(self) -> str:
        """What staff are told while the address cannot be used ("" when it can)."""
        if self.email_undeliverable_reason == UndeliverableReason.COMPLAINED:
            return "Marked our email as spam: call the patient"
        if self.email_undeliverable_at is not None:
            return "Email bounced: call the patient"
        return ""

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def history_flags(self) -> frozenset[str]:
        flags = {
            "breakout_prone": self.breakout_prone,
            "slow_healing": self.slow_healing,
            "sensitive_skin": self.sensitive_skin,
        }
        return frozenset(name for name, present in flags.items() if present)


class TreatmentQuerySet(models.QuerySet["Treatment"]):
    def same_visit_as(self, treatment: Treatment) -> TreatmentQuerySet:
        """The patient's treatments on the same local day (the clinic's time zone) as
        `treatment`, itself included, in order: one visit, one plan."""
        zone = ZoneInfo(treatment.clinic.timezone)
        day = visit_day(treatment.performed_at, treatment.clinic.timezone)
        starts = datetime.combine(day, time(0), tzinfo=zone)
        ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return (
            self.select_related("patient", "clinic")
            .filter(
                patient_id=treatment.patient_id, performed_at__gte=starts, performed_at__lt=ends
            )
            .order_by("performed_at", "id")
        )

    def saved_again(
        self,
        *,
        patient_id: int,
        performed_at: datetime,
        depth_mm: Decimal,
        passes: int,
        areas: list[str],
        device: str,
        saved_since: datetime,
        performed_within: timedelta,
    ) -> Treatment | None:
        """The patient's latest treatment with these values, performed within
        `performed_within` of `performed_at` and saved since `saved_since`: the same
        session saved twice (Back and submit again), unless staff say otherwise."""
        candidates = self.filter(
            patient_id=patient_id,
            depth_mm=depth_mm,
            passes=passes,
            device=device,
            performed_at__gte=performed_at - performed_within,
            performed_at__lte=performed_at + performed_within,
            created_at__gte=saved_since,
        ).order_by("-created_at", "-id")
        # Areas are a JSON list: compared as sets here, the same on every database.
        return next((t for t in candidates if set(t.areas) == set(areas)), None)


class Treatment(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="treatments")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="treatments")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="treatments"
    )
    performed_at = models.DateTimeField()
    depth_mm = models.DecimalField("needle depth (mm)", max_digits=3, decimal_places=2)
    passes = models.PositiveSmallIntegerField("number of passes")
    areas = models.JSONField("treated areas", default=list)
    device = models.CharField(max_length=20, choices=Device.choices)
    products_applied = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TreatmentQuerySet.as_manager()

    class Meta:
        ordering = ["-performed_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-performed_at"], name="treatment_clinic_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(depth_mm__gte=MIN_DEPTH_MM) & Q(depth_mm__lte=MAX_DEPTH_MM),
                name="treatment_depth_in_range",
            ),
            models.CheckConstraint(
                condition=Q(passes__gte=MIN_PASSES) & Q(passes__lte=MAX_PASSES),
                name="treatment_passes_in_range",
            ),
            models.CheckConstraint(
                condition=Q(device__in=Device.values), name="treatment_device_valid"
            ),
            models.CheckConstraint(condition=~Q(areas=[]), name="treatment_has_an_area"),
        ]

    def __str__(self) -> str:
        return f"Treatment #{self.pk} for {self.patient}"

    def clean(self) -> None:
        unknown = sorted(set(self.areas or []) - set(TreatmentArea.values))
        if unknown:
            raise ValidationError(
                {"areas": f"Unknown treated area: {', '.join(unknown)}."}, code="unknown_area"
            )

    def get_area_labels(self) -> list[str]:
        labels = dict(TreatmentArea.choices)
        return [labels.get(area, area) for area in self.areas]


class ConsentSource(models.TextChoices):
    STAFF = "staff", "Recorded by staff"
    STAFF_STOP = "staff_stop", "Reminders stopped by staff"
    PATIENT_UNSUBSCRIBE = "patient_unsubscribe", "Patient unsubscribed"
    SPAM_COMPLAINT = "spam_complaint", "Patient marked an email as spam"
    ERASURE = "erasure", "Patient erased"
    PATIENT_RESUMED = "patient_resumed", "Patient started reminders again"
    STAFF_RENEWED = "staff_renewed", "Renewed agreement recorded by staff"
    PATIENT_CHOICE = "patient_choice", "Patient chose how to get reminders"
    TEXT_STOP = "text_stop", "Patient replied STOP to a text"
    TEXT_START = "text_start", "Patient replied START to a text"


class ConsentChange(models.Model):
    """One change of a patient's agreement to aftercare emails or texts: the consent history."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consent_changes")
    channel = models.CharField(
        max_length=10, choices=Channel.choices, default=Channel.EMAIL, db_default=Channel.EMAIL
    )
    given = models.BooleanField()
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()
    # How the patient agreed, in staff's words (required when staff record renewed consent).
    note = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=ConsentSource.values), name="consent_change_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="consent_change_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        state = "Given" if self.given else "Withdrawn"
        return f"{state} ({self.get_channel_display()}) at {self.at:%Y-%m-%d %H:%M}"
