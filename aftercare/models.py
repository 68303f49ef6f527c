"""Guidance that clinic admins edit, and the plans made from it.

The guidance tables mirror the plain values in `aftercare.planner.inputs`; the planner
never sees these models (see `aftercare.guidance.rows.load_guidance`). Each clinic has
its own rows, copied from the shipped default (`aftercare.guidance.clinic`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils.functional import cached_property

from aftercare.planner.adjustments import KINDS as ADJUSTMENT_KINDS
from aftercare.planner.inputs import AREAS, DEVICES, HISTORY_FLAGS, INTENSITY_FACTORS, ITEM_KINDS
from aftercare.planner.planning import Plan, plan_from_dict
from patients.models import Channel

if TYPE_CHECKING:
    from patients.models import Patient


class IntensityRank(models.IntegerChoices):
    LIGHT = 1, "Light"
    MODERATE = 2, "Moderate"
    INTENSE = 3, "Intense"


class ItemKind(models.TextChoices):
    EXPECT = "expect", "What to expect"
    DO = "do", "What to do"
    AVOID = "avoid", "What to avoid"
    PRODUCT = "product", "Products that help"
    WARNING = "warning", "Warning sign"


class FactorKind(models.TextChoices):
    DEPTH = "depth", "Needle depth at least (mm)"
    PASSES = "passes", "Passes at least"
    AREA_COUNT = "area_count", "Number of areas at least"
    AREA = "area", "Treated area is"
    DEVICE = "device", "Device is"
    HISTORY = "history", "Patient's history includes"


# What the `value` of an intensity row of each kind names; the other kinds use a threshold.
FACTOR_VALUES: dict[str, tuple[str, ...]] = {
    FactorKind.AREA: AREAS,
    FactorKind.DEVICE: DEVICES,
    FactorKind.HISTORY: HISTORY_FLAGS,
}

assert tuple(ItemKind.values) == ITEM_KINDS
assert set(FactorKind.values) == set(INTENSITY_FACTORS)


class FactIdsField(models.JSONField):
    """The CLINICAL_FACTS.md ids (e.g. ["H1", "R3"]) a piece of guidance rests on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("help_text", "Ids of the clinical facts this rests on, e.g. H1, R3.")
        super().__init__(*args, **kwargs)


CLINIC_HELP = "The clinic whose patients this guidance is for."
DEFAULT_KEY_HELP = (
    "The shipped default row this row comes from; empty when the clinic added it "
    "(see aftercare.guidance.clinic)."
)
DEFAULT_FINGERPRINT_HELP = "Fingerprint of that default row, as it was when last taken."


class ClinicGuidanceRow(models.Model):
    """A row of one clinic's guidance, remembering the shipped default row it came from."""

    clinic = models.ForeignKey(
        "clinic.Clinic", on_delete=models.CASCADE, related_name="+", help_text=CLINIC_HELP
    )
    default_key = models.CharField(
        max_length=100, blank=True, editable=False, help_text=DEFAULT_KEY_HELP
    )
    default_fingerprint = models.CharField(
        max_length=64, blank=True, editable=False, help_text=DEFAULT_FINGERPRINT_HELP
    )

    class Meta:
        abstract = True


def unique_per_clinic(model_name: str, *fields: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["clinic", *fields], name=f"{model_name}_unique_per_clinic"
    )


class RecoveryPhase(ClinicGuidanceRow):
    key = models.SlugField()
    name = models.CharField(max_length=100)
    summary = models.TextField(help_text="Markdown.")
    starts_after_hours = models.PositiveIntegerField()
    ends_after_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the phase has no end."
    )
    fact_ids = FactIdsField()

    class Meta:
        ordering = ["starts_after_hours", "key"]
        constraints = [
            unique_per_clinic("phase", "key"),
            models.CheckConstraint(
                condition=Q(ends_after_hours__isnull=True)
                | Q(ends_after_hours__gt=F("starts_after_hours")),
                name="phase_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GuidanceItem(ClinicGuidanceRow):
    key = models.SlugField()
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown. HTML is removed when it is shown.")
    starts_after_hours = models.PositiveIntegerField(
        default=0, help_text="Hours after the treatment (24 = one day, 168 = one week)."
    )
    ends_after_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Hours after the treatment; empty: no end."
    )
    order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    after_restriction = models.SlugField(
        blank=True,
        help_text=(
            "A restriction's key (e.g. makeup): the hours above then count from the moment "
            "that restriction ends for the patient, not from the treatment. Empty: from the "
            "treatment."
        ),
    )
    # Conditions: empty means "any".
    min_depth_mm = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    max_depth_mm = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    min_passes = models.PositiveSmallIntegerField(null=True, blank=True)
    max_passes = models.PositiveSmallIntegerField(null=True, blank=True)
    min_intensity = models.PositiveSmallIntegerField(
        choices=IntensityRank.choices, null=True, blank=True
    )
    areas = models.JSONField(default=list, blank=True, help_text="Applies if any is treated.")
    devices = models.JSONField(default=list, blank=True)
    skin_types = models.JSONField(default=list, blank=True)
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    history = models.JSONField(
        default=list, blank=True, help_text="Applies if the patient has any of these."
    )
    seasons = models.JSONField(default=list, blank=True)
    fact_ids = FactIdsField()

    class Meta:
        ordering = ["starts_after_hours", "order", "key"]
        constraints = [
            unique_per_clinic("guidance_item", "key"),
            models.CheckConstraint(
                condition=Q(kind__in=ItemKind.values), name="guidance_item_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(ends_after_hours__isnull=True)
                | Q(ends_after_hours__gt=F("starts_after_hours")),
                name="guidance_item_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=Q(min_depth_mm__isnull=True)
                | Q(max_depth_mm__isnull=True)
                | Q(max_depth_mm__gte=F("min_depth_mm")),
                name="guidance_item_depth_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(min_passes__isnull=True)
                | Q(max_passes__isnull=True)
                | Q(max_passes__gte=F("min_passes")),
                name="guidance_item_passes_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(min_age__isnull=True)
                | Q(max_age__isnull=True)
                | Q(max_age__gte=F("min_age")),
                name="guidance_item_age_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        if self.after_restriction and self.clinic_id is not None:
            known = RestrictionRule.objects.filter(clinic_id=self.clinic_id)
            if not known.filter(key=self.after_restriction).exists():
                raise ValidationError(
                    {
                        "after_restriction": ValidationError(
                            "The clinic has no restriction with the key %(key)s (its keys: "
                            "%(keys)s).",
                            code="unknown_restriction",
                            params={
                                "key": self.after_restriction,
                                "keys": ", ".join(known.values_list("key", flat=True)),
                            },
                        )
                    }
                )


class RestrictionRule(ClinicGuidanceRow):
    """Something to avoid for a while. Its duration never shrinks as intensity grows."""

    key = models.SlugField()
    label = models.CharField(max_length=100, help_text='Shown as "<label>: from Thursday 14:30".')
    body = models.TextField(help_text="Markdown: what to avoid, why, and what to do instead.")
    hours_light = models.PositiveIntegerField()
    hours_moderate = models.PositiveIntegerField()
    hours_intense = models.PositiveIntegerField()
    hours_per_point = models.PositiveIntegerField(
        default=0,
        help_text=(
            "Extra hours for every intensity point the treatment scored above its level's "
            "minimum score, so a treatment near the top of a level waits longer. 0: none."
        ),
    )
    areas = models.JSONField(
        default=list,
        blank=True,
        help_text="Applies if any of these areas is treated; empty: whatever is treated.",
    )
    order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    fact_ids = FactIdsField()

    class Meta:
        ordering = ["order", "key"]
        constraints = [
            unique_per_clinic("restriction", "key"),
            models.CheckConstraint(
                condition=Q(hours_moderate__gte=F("hours_light"))
                & Q(hours_intense__gte=F("hours_moderate")),
                name="restriction_hours_grow_with_intensity",
                violation_error_message=(
                    "A more intense treatment cannot have a shorter restriction: "
                    "light ≤ moderate ≤ intense."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.label


class ReminderMoment(ClinicGuidanceRow):
    key = models.SlugField()
    label = models.CharField(max_length=100)
    summary = models.TextField(help_text="Markdown: what this email covers.")
    offset_days = models.PositiveSmallIntegerField(help_text="0 sends right away.")
    min_intensity = models.PositiveSmallIntegerField(
        choices=IntensityRank.choices, default=IntensityRank.LIGHT
    )
    is_active = models.BooleanField(default=True)
    fact_ids = FactIdsField()

    class Meta:
        ordering = ["offset_days", "key"]
        constraints = [unique_per_clinic("reminder_moment", "key")]

    def __str__(self) -> str:
        return self.label


class IntensityFactor(ClinicGuidanceRow):
    """One row of the intensity table (see aftercare.planner.inputs.IntensityFactor)."""

    factor = models.CharField(max_length=12, choices=FactorKind.choices)
    threshold = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="For depth, passes and area count."
    )
    value = models.CharField(
        max_length=20,
        blank=True,
        help_text=(
            "For area, device and history: the area, the device, or the history flag "
            "(slow_healing, sensitive_skin, breakout_prone)."
        ),
    )
    points = models.PositiveSmallIntegerField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["factor", "threshold", "value"]
        constraints = [
            unique_per_clinic("intensity_factor", "factor", "threshold", "value"),
            models.CheckConstraint(
                condition=Q(factor__in=FactorKind.values), name="intensity_factor_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        subject = self.value or self.threshold
        return f"{self.get_factor_display()} {subject}: {self.points} points"

    def clean(self) -> None:
        super().clean()
        known = FACTOR_VALUES.get(self.factor)
        if known is not None and self.value not in known:
            raise ValidationError(
                {
                    "value": ValidationError(
                        "%(value)r is not one of: %(known)s. A row that matches nothing "
                        "would never add its points.",
                        code="unknown_value",
                        params={"value": self.value, "known": ", ".join(known)},
                    )
                }
            )


class IntensityLevel(ClinicGuidanceRow):
    rank = models.PositiveSmallIntegerField(choices=IntensityRank.choices)
    label = models.CharField(max_length=40)
    min_score = models.PositiveSmallIntegerField()
    downtime_hours = models.PositiveIntegerField(help_text="Expected visible downtime.")

    class Meta:
        ordering = ["rank"]
        constraints = [unique_per_clinic("intensity_level", "rank")]

    def __str__(self) -> str:
        return f"{self.label} (score ≥ {self.min_score})"


class GuidanceSnapshot(models.Model):
    """A frozen copy of all guidance, kept so any plan can show what it was made from."""

    fingerprint = models.CharField(max_length=64, unique=True)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Guidance {self.fingerprint[:12]}"


class AftercarePlanQuerySet(models.QuerySet["AftercarePlan"]):
    def current(self) -> AftercarePlanQuerySet:
        """Plans not superseded: at most one per treatment (a database constraint)."""
        return self.filter(superseded_at__isnull=True)

    def current_for(self, patient: Patient) -> AftercarePlan | None:
        """The plan the patient follows now: the current plan of their latest treatment."""
        return (
            self.current()
            .filter(treatment__patient=patient)
            .order_by("-treatment__performed_at", "-treatment_id")
            .first()
        )


class AftercarePlan(models.Model):
    """The plan a patient was given for one treatment, as it was shown.

    `content` is the planner's output (aftercare.planner.planning.plan_to_dict); it is
    never recomputed, so later guidance edits do not change what was said.
    Regenerating makes a new revision and supersedes the old one.
    """

    treatment = models.ForeignKey(
        "patients.Treatment", on_delete=models.CASCADE, related_name="plans"
    )
    revision = models.PositiveIntegerField(default=1)
    content = models.JSONField()
    guidance = models.ForeignKey(GuidanceSnapshot, on_delete=models.PROTECT, related_name="plans")
    intensity = models.PositiveSmallIntegerField(choices=IntensityRank.choices)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = AftercarePlanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["treatment", "revision"], name="aftercare_plan_revision_unique"
            ),
            # The plan a treatment's patient is following now: at most one per treatment.
            models.UniqueConstraint(
                fields=["treatment"],
                condition=Q(superseded_at__isnull=True),
                name="aftercare_plan_one_current_per_treatment",
            ),
        ]

    def __str__(self) -> str:
        return f"Plan r{self.revision} for treatment #{self.treatment_id}"

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None

    @cached_property
    def content_plan(self) -> Plan:
        """`content` as the planner's Plan, parsed once per instance."""
        return plan_from_dict(self.content)


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class DeliveryEventType(models.TextChoices):
    """The provider's reports kept on a reminder: django-anymail's event types for emails,
    Twilio's message statuses for texts (its "undelivered" has its own type)."""

    QUEUED = "queued", "Queued by the provider"
    SENT = "sent", "Sent by the provider"
    DELIVERED = "delivered", "Delivered"
    DEFERRED = "deferred", "Delayed by the receiving server"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Marked as spam"
    REJECTED = "rejected", "Refused by the provider"
    FAILED = "failed", "Provider could not send"
    UNDELIVERED = "undelivered", "Not delivered to the phone"
    AUTORESPONDED = "autoresponded", "Automatic reply"


class ReminderQuerySet(models.QuerySet["Reminder"]):
    def waiting(self) -> ReminderQuerySet:
        """Rows still to send that no worker holds: pending, or failed (staff may resend)."""
        return self.filter(status__in=[ReminderStatus.PENDING, ReminderStatus.FAILED])

    def unsent(self) -> ReminderQuerySet:
        """Waiting rows and rows a worker is sending: what stopping must reach."""
        return self.filter(
            status__in=[ReminderStatus.PENDING, ReminderStatus.FAILED, ReminderStatus.SENDING]
        )

    def cancel(self, *, reason: str) -> int:
        """Cancel the rows. Clearing the lease token makes a worker's later writes to a
        row it is sending miss it (aftercare.delivery.dispatch fences every outcome on it)."""
        return self.update(
            status=ReminderStatus.CANCELLED, cancelled_reason=reason, lease_token=None
        )


class Reminder(models.Model):
    """One reminder email or text to send: the table is the queue (see
    aftercare.delivery.dispatch). A moment texted and emailed is two rows, one per channel.

    `next_attempt_at` is when the row is next due: its planned time, a retry time
    after a temporary error, or, while `sending`, the end of the worker's lease
    (so a row left behind by a crashed worker becomes due again by itself).
    """

    # Every index here is written again each time a row changes status, so only the
    # ones something reads exist: lookups by plan use reminder_one_per_plan_kind_channel,
    # lookups by patient use reminder_patient_due.
    plan = models.ForeignKey(
        AftercarePlan, on_delete=models.CASCADE, related_name="reminders", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="reminders", db_index=False
    )
    kind = models.SlugField(db_index=False, help_text="The reminder moment's key, e.g. day-3.")
    channel = models.CharField(
        max_length=10, choices=Channel.choices, default=Channel.EMAIL, db_default=Channel.EMAIL
    )
    label = models.CharField(max_length=100)
    covers = models.TextField(help_text="Markdown: what this email covers.")
    day_number = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    # Claims so far, shown to staff; giving up depends on first_refused_at, never on this.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # When the mail server first refused the message with a temporary (4xx) reply: it is
    # retried until REMINDER_RETRY_WINDOW_HOURS after this, then failed.
    first_refused_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_reason = models.CharField(max_length=100, blank=True)
    note = models.TextField(
        blank=True, help_text="The practitioner's personal note, carried by this email."
    )
    message_id = models.CharField(max_length=200)
    # The provider's latest report on this message (DeliveryEvent keeps them all).
    delivery_status = models.CharField(
        max_length=20, choices=DeliveryEventType.choices, blank=True, default="", db_default=""
    )
    delivery_status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReminderQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "kind", "channel"], name="reminder_one_per_plan_kind_channel"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="reminder_channel_valid"
            ),
            # A constraint rather than unique=True: no second (LIKE) index on PostgreSQL.
            models.UniqueConstraint(fields=["message_id"], name="reminder_message_id_unique"),
            models.CheckConstraint(
                condition=Q(status__in=ReminderStatus.values), name="reminder_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=ReminderStatus.SENT) | Q(sent_at__isnull=False),
                name="reminder_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReminderStatus.SENDING) | Q(lease_token__isnull=False),
                name="reminder_sending_has_lease",
            ),
        ]
        indexes = [
            # Read by aftercare.delivery.dispatch.claim_due_reminders: the rows still to send,
            # in due order. Sent, failed and cancelled rows stay out of the index.
            models.Index(
                fields=["next_attempt_at"],
                name="reminder_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["patient", "due_at"], name="reminder_patient_due"),
            # Read by aftercare.plans.today.dashboard_for (failed_emails): the clinic's latest
            # failed emails, newest first. Without it staff Today reads the whole table
            # (0.9 s at 8M reminders, bench/staff_pages.py); only failed rows are in it.
            models.Index(
                fields=["-due_at"],
                name="reminder_failed_for_today",
                condition=Q(status="failed"),
            ),
            # Read by aftercare.plans.today.dashboard_for (failed_texts): texts the provider
            # could not send or the network did not deliver, newest first. Its condition is
            # aftercare.plans.today.TEXT_NOT_REACHING: only those rows are in it.
            models.Index(
                fields=["-due_at"],
                name="reminder_text_failed_today",
                condition=Q(channel="text")
                & (Q(status="failed") | Q(delivery_status__in=["undelivered", "failed"])),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} for {self.patient} ({self.get_status_display()})"


class SentMessage(models.Model):
    """A copy of an email or text as it was sent, for the clinic's records.

    The patient's link is masked in the copy: the token only ever lives in the
    patient's mailbox or phone. A text's copy has its words in `text_body`, no HTML.
    """

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="sent_messages")
    message_id = models.CharField(max_length=200)
    # The provider's own id for the message (django-anymail's message_id, Twilio's
    # message SID), which its webhooks quote; empty over plain SMTP.
    provider_message_id = models.CharField(max_length=200, blank=True, default="", db_default="")
    # An email address, or a phone number in E.164 form for a text.
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=200)
    text_body = models.TextField()
    html_body = models.TextField()
    headers = models.JSONField(default=dict)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]
        indexes = [
            # Read by aftercare.delivery.provider_reports: which email a provider's report is about.
            models.Index(
                fields=["provider_message_id"],
                name="sentmessage_provider_id",
                condition=~Q(provider_message_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to} at {self.sent_at:%Y-%m-%d %H:%M}"


class DeliveryEvent(models.Model):
    """One report from the provider about one sent email or text (its webhook)."""

    sent_message = models.ForeignKey(
        SentMessage, on_delete=models.CASCADE, related_name="delivery_events"
    )
    provider = models.CharField(max_length=30)
    # The provider's id for the report, so a webhook retried by the provider counts once.
    provider_event_id = models.CharField(max_length=200, blank=True)
    event_type = models.CharField(max_length=20, choices=DeliveryEventType.choices)
    occurred_at = models.DateTimeField()
    # What the provider or the receiving server said (reason, SMTP reply), shortened.
    detail = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"],
                condition=~Q(provider_event_id=""),
                name="deliveryevent_once_per_provider_event",
            ),
            models.CheckConstraint(
                condition=Q(event_type__in=DeliveryEventType.values),
                name="deliveryevent_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} ({self.provider}, {self.occurred_at:%d %b %Y})"


class PatientLinkQuerySet(models.QuerySet["PatientLink"]):
    def usable(self, now: datetime) -> PatientLinkQuerySet:
        """Links that still open their plan: not revoked, not expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class PatientLink(models.Model):
    """An emailed link to a patient's plan. Only a SHA-256 of its token is stored.

    The token is an HMAC of `salt` under SECRET_KEY (like Django's password reset
    tokens), so every email can carry the link without the database ever holding
    it; rotating SECRET_KEY invalidates old links.
    """

    plan = models.ForeignKey(AftercarePlan, on_delete=models.CASCADE, related_name="links")
    salt = models.CharField(max_length=64, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PatientLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Link for plan #{self.plan_id}"

    def is_usable(self, now: datetime) -> bool:
        """PatientLinkQuerySet.usable, for a link already loaded."""
        return self.revoked_at is None and self.expires_at > now

    def status_at(self, now: datetime) -> str:
        """ "active", "expired" or "revoked", as staff see it."""
        if self.revoked_at:
            return "revoked"
        return "active" if self.is_usable(now) else "expired"


def private_storage() -> FileSystemStorage:
    """Patient photos live outside any public URL; staff views serve them."""
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)


class Symptom(models.TextChoices):
    """What a patient can tick on the report form, in the order the form shows them.

    The values are stored in ConcernReport.symptoms: never rename one. When each one is a
    warning sign is in SYMPTOM_RULES below.
    """

    BREATHING = (
        "breathing",
        "Trouble breathing or swallowing, or swelling of the lips, tongue or throat",
    )
    REDNESS = "redness", "Redness or swelling"
    REDNESS_PAST_72H = "redness_past_72h", "Redness or swelling still there after 3 days"
    HEAT = "heat", "Skin that feels hot and very inflamed"
    SPREADING_REDNESS = "spreading_redness", "Red streaks, or redness that is spreading"
    PUS = "pus", "Pus or yellow crusts"
    FEVER = "fever", "A fever, or feeling hot and shivery"
    SEVERE_PAIN = "severe_pain", "Severe or worsening pain"
    RASH_ITCHING = "rash_itching", "A rash, hives or itching"
    COLD_SORES = "cold_sores", "Small, painful blisters in a cluster (cold sores)"
    BRUISE = "bruise", "A bruise"
    UNUSUAL_BRUISING = "unusual_bruising", "Bruising that is not fading"
    BREAKOUTS = "breakouts", "Spots or breakouts"
    PEELING = "peeling", "Peeling, flaking or dryness"
    OTHER = "other", "Something else"


@dataclass(frozen=True)
class SymptomRule:
    # Hours after the treatment from which the symptom is a warning sign (the patient is
    # told to call now); None: never on its own. Before then the plan calls it normal.
    warning_from_hours: int | None
    # A severe allergic reaction: the emergency number, at any hour.
    emergency: bool = False
    # The form offers the symptom only in these hours, where its wording fits the time.
    offered_from_hours: int = 0
    offered_until_hours: int | None = None


THREE_DAYS = 72
FIVE_DAYS = 120

# When each symptom becomes a warning sign (CLINICAL_FACTS W1-W4, PRACTICE_FACTS X1-X3):
# the plan says warmth, redness and swelling are normal for the first three days and that
# a bruise fades over a few days; infection, allergy and cold sores are warnings at once.
SYMPTOM_RULES: dict[str, SymptomRule] = {
    Symptom.BREATHING: SymptomRule(warning_from_hours=0, emergency=True),
    Symptom.REDNESS: SymptomRule(warning_from_hours=THREE_DAYS, offered_until_hours=THREE_DAYS),
    Symptom.REDNESS_PAST_72H: SymptomRule(
        warning_from_hours=THREE_DAYS, offered_from_hours=THREE_DAYS
    ),
    Symptom.HEAT: SymptomRule(warning_from_hours=THREE_DAYS),
    Symptom.SPREADING_REDNESS: SymptomRule(warning_from_hours=0),
    Symptom.PUS: SymptomRule(warning_from_hours=0),
    Symptom.FEVER: SymptomRule(warning_from_hours=0),
    Symptom.SEVERE_PAIN: SymptomRule(warning_from_hours=0),
    Symptom.RASH_ITCHING: SymptomRule(warning_from_hours=0),
    Symptom.COLD_SORES: SymptomRule(warning_from_hours=0),
    Symptom.BRUISE: SymptomRule(warning_from_hours=FIVE_DAYS, offered_until_hours=FIVE_DAYS),
    Symptom.UNUSUAL_BRUISING: SymptomRule(
        warning_from_hours=FIVE_DAYS, offered_from_hours=FIVE_DAYS
    ),
    Symptom.BREAKOUTS: SymptomRule(warning_from_hours=None),
    Symptom.PEELING: SymptomRule(warning_from_hours=None),
    Symptom.OTHER: SymptomRule(warning_from_hours=None),
}


def symptoms_offered(*, hours_since_treatment: float) -> list[tuple[str, str]]:
    """The report form's choices at this hour: no wording that contradicts the time."""
    offered = []
    for symptom in Symptom:
        rule = SYMPTOM_RULES[symptom]
        until = rule.offered_until_hours
        if rule.offered_from_hours <= hours_since_treatment and (
            until is None or hours_since_treatment < until
        ):
            offered.append((symptom.value, symptom.label))
    return offered


def red_flags(symptoms: Iterable[str], *, hours_since_treatment: float) -> frozenset[str]:
    """The symptoms that are warning signs this many hours after the treatment."""
    return frozenset(
        symptom
        for symptom in symptoms
        if (rule := SYMPTOM_RULES.get(symptom)) is not None
        and rule.warning_from_hours is not None
        and hours_since_treatment >= rule.warning_from_hours
    )


def expected_symptoms(symptoms: Iterable[str], *, hours_since_treatment: float) -> frozenset[str]:
    """The symptoms that become warning signs later, but are normal at this hour."""
    return frozenset(
        symptom
        for symptom in symptoms
        if (rule := SYMPTOM_RULES.get(symptom)) is not None
        and rule.warning_from_hours is not None
        and hours_since_treatment < rule.warning_from_hours
    )


def emergencies(symptoms: Iterable[str]) -> frozenset[str]:
    """The symptoms of a severe allergic reaction: the emergency number, at any hour."""
    return frozenset(
        symptom
        for symptom in symptoms
        if (rule := SYMPTOM_RULES.get(symptom)) is not None and rule.emergency
    )


class ConcernReport(models.Model):
    """A patient's "something not right?" report, from their plan pages."""

    plan = models.ForeignKey(AftercarePlan, on_delete=models.CASCADE, related_name="concerns")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="concerns"
    )
    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.CASCADE, related_name="concerns")
    symptoms = models.JSONField(default=list, blank=True)
    details = models.TextField(blank=True)
    photo = models.ImageField(upload_to="concerns/%Y/%m/", storage=private_storage, blank=True)
    is_red_flag = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    handling_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-is_red_flag", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(symptoms=[]) | ~Q(details=""), name="concern_says_something"
            ),
        ]
        indexes = [
            # Staff's list of open reports, red flags first.
            models.Index(
                fields=["clinic", "-is_red_flag", "-created_at"],
                name="concern_open_by_clinic",
                condition=Q(handled_at__isnull=True),
            ),
            # Read by aftercare.plans.views.concern_list (handled_reports): the clinic's 20
            # most recently handled reports, without sorting all of them.
            models.Index(
                fields=["clinic", "-handled_at"],
                name="concern_recently_handled",
                condition=Q(handled_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Report from {self.patient} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.handled_at is None

    @property
    def is_emergency(self) -> bool:
        """A sign of a severe allergic reaction: the patient was told to call the emergency
        number (is_red_flag is set too, for staff)."""
        return bool(emergencies(self.symptoms))

    def symptom_labels(self) -> list[str]:
        labels = dict(Symptom.choices)
        return [labels.get(symptom, symptom) for symptom in self.symptoms]


def length_label(hours: int) -> str:
    """A restriction's length as staff read it: 504 -> "21 days", 54 -> "2 days 6 hours"."""
    days, extra = divmod(hours, 24)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if extra or not days:
        parts.append(f"{extra} hour{'s' if extra != 1 else ''}")
    return " ".join(parts)


class AdjustmentKind(models.TextChoices):
    RESTRICTION = "restriction", "Restriction length"
    NOTE = "note", "Personal note"
    SKIP_REMINDER = "skip_reminder", "Reminder skipped"
    ADD_REMINDER = "add_reminder", "Reminder added"


assert tuple(AdjustmentKind.values) == ADJUSTMENT_KINDS


class PlanAdjustment(models.Model):
    """A practitioner's change to one patient's plan: who, when, what and why.

    Adjustments belong to the treatment, so every later revision of its plan (a
    regeneration from the guidance, a combined plan for the visit) applies them again
    in order, until a practitioner drops them (`dropped_at`).
    """

    treatment = models.ForeignKey(
        "patients.Treatment", on_delete=models.CASCADE, related_name="adjustments"
    )
    plan = models.ForeignKey(
        AftercarePlan,
        on_delete=models.CASCADE,
        related_name="adjustments",
        help_text="The plan revision this adjustment made.",
    )
    kind = models.CharField(max_length=20, choices=AdjustmentKind.choices)
    key = models.SlugField(blank=True, help_text="The restriction's or reminder's key.")
    label = models.CharField(max_length=100, blank=True)
    hours = models.PositiveIntegerField(null=True, blank=True)
    previous_hours = models.PositiveIntegerField(null=True, blank=True)
    guidance_hours = models.PositiveIntegerField(null=True, blank=True)
    day_number = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    dropped_at = models.DateTimeField(null=True, blank=True)
    dropped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=AdjustmentKind.values), name="adjustment_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="restriction")
                | (Q(hours__isnull=False) & Q(guidance_hours__isnull=False) & ~Q(key="")),
                name="adjustment_restriction_has_hours",
            ),
            # Shorter than the guidance is a clinical decision: it must say why.
            models.CheckConstraint(
                condition=~Q(kind="restriction")
                | Q(hours__gte=F("guidance_hours"))
                | ~Q(reason=""),
                name="adjustment_shorter_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(kind="add_reminder") | (Q(day_number__isnull=False) & ~Q(key="")),
                name="adjustment_added_reminder_has_day",
            ),
            models.CheckConstraint(
                condition=~Q(kind="skip_reminder") | ~Q(key=""),
                name="adjustment_skip_names_reminder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on treatment #{self.treatment_id}"

    @property
    def is_active(self) -> bool:
        return self.dropped_at is None

    def describe(self) -> str:
        """What changed, in words staff read in the plan's history."""
        if self.kind == AdjustmentKind.RESTRICTION:
            before, after = self.previous_hours or 0, self.hours or 0
            return (
                f"{self.label}: {length_label(before)} → {length_label(after)} "
                f"(guidance: {length_label(self.guidance_hours or 0)})"
            )
        if self.kind == AdjustmentKind.NOTE:
            return "Personal note removed" if not self.text else f"Personal note: “{self.text}”"
        if self.kind == AdjustmentKind.SKIP_REMINDER:
            return f"Reminder skipped: {self.label}"
        return f"Reminder added on day {self.day_number}: {self.label}"


class TreatmentCourseQuerySet(models.QuerySet["TreatmentCourse"]):
    def active(self) -> TreatmentCourseQuerySet:
        """Courses not ended: at most one per patient (a database constraint)."""
        return self.filter(ended_at__isnull=True)


class TreatmentCourse(models.Model):
    """A course of sessions a patient is on (results need several, weeks apart: P7)."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="courses"
    )
    sessions = models.PositiveSmallIntegerField(help_text="Number of sessions in the course.")
    min_interval_weeks = models.PositiveSmallIntegerField(
        help_text="Fewest weeks between sessions."
    )
    max_interval_weeks = models.PositiveSmallIntegerField(help_text="Most weeks between sessions.")
    starts_on = models.DateField(help_text="The day of the first session.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = TreatmentCourseQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sessions__gte=2) & Q(sessions__lte=12), name="course_sessions_2_to_12"
            ),
            models.CheckConstraint(
                condition=Q(min_interval_weeks__gte=1)
                & Q(max_interval_weeks__gte=F("min_interval_weeks")),
                name="course_interval_ordered",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(ended_at__isnull=True),
                name="course_one_active_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"Course of {self.sessions} for {self.patient}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None
