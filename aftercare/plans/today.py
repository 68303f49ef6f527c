"""What staff Today lists: the day's work for one clinic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Max, Q, QuerySet

from aftercare.models import ConcernReport, DeliveryEventType, Reminder, ReminderStatus
from clinic.models import Clinic
from patients.models import Channel, Patient, Treatment

EARLY_RECOVERY = timedelta(hours=72)
UPCOMING = timedelta(hours=24)
LIMIT = 50
# Texts that failed or were not delivered stay on Today this long (then only the timeline).
FAILED_TEXTS_SHOWN_FOR = timedelta(days=14)
# A text is not reaching the patient when the provider could not send it, or the phone
# network reported it undelivered or failed. The same condition as the partial index
# reminder_text_failed_for_today (aftercare migration 0015), so PostgreSQL can use it.
TEXT_NOT_REACHING = Q(channel=Channel.TEXT) & (
    Q(status=ReminderStatus.FAILED)
    | Q(delivery_status__in=[DeliveryEventType.UNDELIVERED, DeliveryEventType.FAILED])
)


@dataclass(frozen=True)
class Dashboard:
    open_reports: list[ConcernReport]
    todays_treatments: list[Treatment]
    early_recovery: list[Patient]
    # The email provider reported their address bounced or complained: call them.
    undeliverable_addresses: list[Patient]
    failed_emails: list[Reminder]
    # Texts cannot reach them: the number was refused, or texts to it were not delivered.
    undeliverable_numbers: list[Patient]
    failed_texts: list[Reminder]
    upcoming_reminders: list[Reminder]
    upcoming_count: int


def _reminders(clinic: Clinic) -> QuerySet[Reminder]:
    return Reminder.objects.filter(
        patient__clinic=clinic, patient__erased_at__isnull=True
    ).select_related("patient")


def dashboard_for(*, clinic: Clinic, now: datetime) -> Dashboard:
    local_now = now.astimezone(ZoneInfo(clinic.timezone))
    day_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    treatments = Treatment.objects.filter(clinic=clinic).select_related("patient", "practitioner")
    upcoming = _reminders(clinic).filter(
        status=ReminderStatus.PENDING, next_attempt_at__gte=now, next_attempt_at__lt=now + UPCOMING
    )
    return Dashboard(
        open_reports=list(
            ConcernReport.objects.filter(clinic=clinic, handled_at__isnull=True)
            .select_related("patient")
            .order_by("-is_red_flag", "-created_at")[:LIMIT]
        ),
        todays_treatments=list(
            treatments.filter(
                performed_at__gte=day_start, performed_at__lt=day_start + timedelta(days=1)
            ).order_by("performed_at")[:LIMIT]
        ),
        # Treatments inside the window first (treatment_clinic_recent), so only the
        # patients treated lately are grouped; one treated since (a future booking logged
        # early) is not in early recovery.
        early_recovery=list(
            Patient.objects.filter(
                clinic=clinic,
                erased_at__isnull=True,
                treatments__performed_at__gte=now - EARLY_RECOVERY,
                treatments__performed_at__lte=now,
            )
            .exclude(treatments__performed_at__gt=now)
            .annotate(last_treated_at=Max("treatments__performed_at"))
            .order_by("last_treated_at")[:LIMIT]
        ),
        undeliverable_addresses=list(
            Patient.objects.filter(
                clinic=clinic, erased_at__isnull=True, email_undeliverable_at__isnull=False
            ).order_by("-email_undeliverable_at")[:LIMIT]
        ),
        failed_emails=list(
            _reminders(clinic)
            .filter(status=ReminderStatus.FAILED, channel=Channel.EMAIL)
            .order_by("-due_at")[:LIMIT]
        ),
        undeliverable_numbers=list(
            Patient.objects.filter(
                clinic=clinic, erased_at__isnull=True, phone_undeliverable_at__isnull=False
            ).order_by("-phone_undeliverable_at")[:LIMIT]
        ),
        failed_texts=list(
            _reminders(clinic)
            .filter(TEXT_NOT_REACHING, due_at__gte=now - FAILED_TEXTS_SHOWN_FOR)
            .order_by("-due_at")[:LIMIT]
        ),
        upcoming_reminders=list(upcoming.order_by("next_attempt_at")[:LIMIT]),
        upcoming_count=upcoming.count(),
    )
