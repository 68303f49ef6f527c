"""Everything that happened to one patient's record, in time order, for the timeline page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from aftercare.models import AftercarePlan, DeliveryEventType, PatientLink, ReminderStatus
from patients.models import Channel, Patient

_DELIVERY_BADGES = {
    DeliveryEventType.DELIVERED: "success",
    DeliveryEventType.DEFERRED: "warning",
    DeliveryEventType.BOUNCED: "danger",
    DeliveryEventType.COMPLAINED: "danger",
    DeliveryEventType.REJECTED: "danger",
    DeliveryEventType.FAILED: "danger",
    DeliveryEventType.UNDELIVERED: "danger",
}
_REMINDER_BADGES: dict[str, str] = {
    ReminderStatus.PENDING: "info",
    ReminderStatus.SENDING: "info",
    ReminderStatus.SENT: "success",
    ReminderStatus.FAILED: "danger",
    ReminderStatus.CANCELLED: "secondary",
}


def _consent_title(channel: str, *, given: bool) -> str:
    if channel == Channel.TEXT:
        return "Agreed to aftercare texts" if given else "Text consent withdrawn"
    return "Agreed to aftercare emails" if given else "Email consent withdrawn"


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    url: str = ""
    link_text: str = ""
    badge: str = ""
    badge_style: str = "secondary"
    reminder_id: int | None = None
    is_future: bool = False
    # A reminder's latest report from the provider ("Delivered", "Not delivered to the phone").
    delivery: str = ""
    delivery_style: str = "secondary"


def timeline_events(*, patient: Patient, now: datetime) -> list[Event]:
    """Newest first; reminders still to come are listed first, marked as future."""
    events: list[Event] = []
    for treatment in patient.treatments.select_related("practitioner"):
        who = treatment.practitioner.get_full_name() or treatment.practitioner.get_username()
        events.append(
            Event(
                at=treatment.performed_at,
                kind="treatment",
                title="Treatment",
                detail=(
                    f"{treatment.depth_mm} mm, {treatment.passes} passes, "
                    f"{', '.join(treatment.get_area_labels())}; by {who}"
                ),
                url=reverse("patients:treatment_detail", args=[treatment.pk]),
                link_text="Open treatment",
            )
        )
    plans = AftercarePlan.objects.filter(treatment__patient=patient).select_related("created_by")
    for plan in plans:
        events.append(
            Event(
                at=plan.created_at,
                kind="plan",
                title=f"Aftercare plan, revision {plan.revision}",
                detail=(
                    f"{plan.get_intensity_display()} treatment"
                    + ("" if plan.is_current else f"; replaced {plan.superseded_at:%d %b %Y}")
                ),
                url=reverse("aftercare:sheet", args=[plan.pk]),
                link_text="The plan as given",
                badge="Current" if plan.is_current else "Replaced",
                badge_style="success" if plan.is_current else "secondary",
            )
        )
    if patient.email_undeliverable_at:
        events.append(
            Event(
                at=patient.email_undeliverable_at,
                kind="email",
                title=patient.email_problem,
                detail=patient.get_email_undeliverable_reason_display(),
                badge="Address not usable",
                badge_style="danger",
            )
        )
    if patient.phone_undeliverable_at:
        events.append(
            Event(
                at=patient.phone_undeliverable_at,
                kind="text",
                title=patient.phone_problem,
                detail=patient.get_phone_undeliverable_reason_display(),
                badge="Number not usable",
                badge_style="danger",
            )
        )
    for reminder in patient.reminders.prefetch_related("sent_messages"):
        sent = next(iter(reminder.sent_messages.all()), None)
        is_future = reminder.status == ReminderStatus.PENDING and reminder.due_at > now
        delivery = DeliveryEventType(reminder.delivery_status) if reminder.delivery_status else None
        is_text = reminder.channel == Channel.TEXT
        events.append(
            Event(
                at=reminder.sent_at or reminder.due_at,
                kind="text" if is_text else "email",
                title=f"{'Text' if is_text else 'Email'}: {reminder.label}",
                detail=reminder.last_error or reminder.cancelled_reason,
                url=reverse("aftercare:sent_message", args=[sent.pk]) if sent else "",
                link_text=(
                    ("Read the text as sent" if is_text else "Read the email as sent")
                    if sent
                    else ""
                ),
                badge=reminder.get_status_display(),
                badge_style=_REMINDER_BADGES[reminder.status],
                delivery=delivery.label if delivery else "",
                delivery_style=_DELIVERY_BADGES.get(delivery, "info") if delivery else "secondary",
                reminder_id=reminder.pk if reminder.status == ReminderStatus.FAILED else None,
                is_future=is_future,
            )
        )
    for report in patient.concerns.select_related("handled_by"):
        handled = (
            f"Handled {report.handled_at:%d %b %H:%M}: {report.handling_note}"
            if report.handled_at
            else "Open"
        )
        events.append(
            Event(
                at=report.created_at,
                kind="concern",
                title="Report from the patient",
                detail=f"{', '.join(report.symptom_labels()) or 'Free text'}. {handled}",
                url=reverse("aftercare:concern_detail", args=[report.pk]),
                link_text="Open report" if report.is_open else "Read report",
                badge="Red flag" if report.is_red_flag else ("Open" if report.is_open else ""),
                badge_style="danger" if report.is_red_flag else "warning",
            )
        )
    for change in patient.consent_changes.all():
        events.append(
            Event(
                at=change.at,
                kind="consent",
                title=_consent_title(change.channel, given=change.given),
                detail=change.get_source_display() + (f": “{change.note}”" if change.note else ""),
            )
        )
    links = PatientLink.objects.filter(plan__treatment__patient=patient)
    for link in links:
        events.append(Event(at=link.created_at, kind="link", title="Patient link made"))
        if link.revoked_at:
            events.append(Event(at=link.revoked_at, kind="link", title="Patient link revoked"))
    future = sorted((e for e in events if e.is_future), key=lambda e: e.at)
    past = sorted((e for e in events if not e.is_future), key=lambda e: e.at, reverse=True)
    return future + past
