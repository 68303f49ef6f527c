"""What Twilio tells us about texts: delivery reports, and replies (STOP, START, HELP).

Both arrive through aftercare.delivery.text_webhooks, which checks Twilio's signature
first. A delivery report is kept on the text's reminder, as an email provider's report
is (DeliveryEvent, Reminder.delivery_status); "undelivered" and "failed" show on staff
Today, and a report that the number does not exist or is a landline marks it for staff.

Replies follow the carriers' keywords (Twilio's defaults): STOP and its synonyms withdraw
consent to texts at once, for every patient with that number (the carrier blocks the
whole number anyway); START and its synonyms give it back, but only to patients whose
texts stopped by such a reply: a number nobody agreed for cannot opt itself in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from aftercare.delivery.reminders import reminders_put_back
from aftercare.delivery.text_consent import phone_mark_undeliverable, texts_stop_for_number
from aftercare.models import DeliveryEvent, DeliveryEventType, Reminder, SentMessage
from patients.consent import consent_change_record
from patients.models import Channel, ConsentChange, ConsentSource, Patient, TextProblem

logger = logging.getLogger(__name__)
PROVIDER = "twilio"

# Twilio's opt-out keywords (Advanced Opt-Out's defaults), matched on the whole reply.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})

# Twilio's MessageStatus values kept, and how far along each is: a report never replaces
# a later one (Twilio's callbacks may arrive out of order).
STATUSES = {
    "queued": (DeliveryEventType.QUEUED, 0),
    "sent": (DeliveryEventType.SENT, 1),
    "delivered": (DeliveryEventType.DELIVERED, 2),
    "undelivered": (DeliveryEventType.UNDELIVERED, 2),
    "failed": (DeliveryEventType.FAILED, 2),
}
STAGE: dict[str, int] = {str(event_type): stage for event_type, stage in STATUSES.values()}
# Twilio error codes on an undelivered text saying the number itself cannot get texts:
# 30005 unknown or inactive number, 30006 landline or unreachable carrier.
NUMBER_CANNOT_GET_TEXTS = {"30005", "30006"}


def text_status_record(
    *, message_sid: str, status: str, error_code: str = "", now: datetime | None = None
) -> DeliveryEvent | None:
    """Keep one delivery report on its text. None when it is not about a text sent from
    here, is a status not kept (sending, accepted...), or came before (a retried call)."""
    now = now or timezone.now()
    if status not in STATUSES or not message_sid:
        return None
    sent = (
        SentMessage.objects.select_related("reminder__patient")
        .filter(provider_message_id=message_sid, reminder__channel=Channel.TEXT)
        .first()
    )
    if sent is None:
        logger.info("twilio report %s for a text not sent from here", status)
        return None
    event_type, stage = STATUSES[status]
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = DeliveryEvent.objects.create(
                    sent_message=sent,
                    provider=PROVIDER,
                    provider_event_id=f"{message_sid}:{status}",
                    event_type=event_type,
                    occurred_at=now,
                    detail=f"Twilio error {error_code}" if error_code else "",
                    received_at=now,
                )
        except IntegrityError:
            return None
        reminder = Reminder.objects.select_for_update().get(pk=sent.reminder_id)
        if STAGE.get(reminder.delivery_status, -1) <= stage:
            reminder.delivery_status = event_type
            reminder.delivery_status_at = now
            reminder.save(update_fields=["delivery_status", "delivery_status_at"])
        if status in {"undelivered", "failed"} and error_code in NUMBER_CANNOT_GET_TEXTS:
            phone_mark_undeliverable(
                patient=sent.reminder.patient,
                number=sent.to,
                reason=TextProblem.INVALID,
                now=now,
            )
    return record


@dataclass(frozen=True)
class ReplyOutcome:
    """What a reply did; `answer` is the text to send back ("" for none)."""

    keyword: str  # "stop", "start", "help" or "" (any other reply)
    patients: int
    answer: str


def text_reply_record(
    *, number: str, body: str, opt_out_type: str = "", now: datetime | None = None
) -> ReplyOutcome:
    """Act on a reply from `number` (E.164). Nothing is kept of what it said."""
    now = now or timezone.now()
    word = (opt_out_type or " ".join(body.split())).upper()
    if word in STOP_WORDS:
        changed = texts_stop_for_number(number=number, source=ConsentSource.TEXT_STOP, now=now)
        # Twilio confirms the opt-out to the patient itself.
        return ReplyOutcome("stop", changed, "")
    if word in START_WORDS:
        return ReplyOutcome("start", texts_start_for_number(number=number, now=now), "")
    clinics = _clinics_texting(number)
    if word in HELP_WORDS:
        return ReplyOutcome("help", len(clinics), _help_answer(clinics))
    return ReplyOutcome("", len(clinics), _not_read_answer(clinics))


def texts_start_for_number(*, number: str, now: datetime) -> int:
    """START: texts again for the patients with `number` whose texts a STOP reply ended,
    with the reminders still to come. Returns how many patients changed."""
    changed = 0
    for patient in Patient.objects.filter(phone=number, text_consent=False, erased_at__isnull=True):
        if _last_text_consent_source(patient) != ConsentSource.TEXT_STOP:
            continue
        with transaction.atomic():
            given = Patient.objects.filter(pk=patient.pk, text_consent=False).update(
                text_consent=True, text_consent_at=now
            )
            if not given:
                continue
            consent_change_record(
                patient=patient,
                given=True,
                source=ConsentSource.TEXT_START,
                at=now,
                channel=Channel.TEXT,
            )
            patient.refresh_from_db()
            reminders_put_back(patient=patient, now=now, channels=(Channel.TEXT,))
        changed += 1
    logger.info("texts started again by the recipient for %s patient(s)", changed)
    return changed


def _last_text_consent_source(patient: Patient) -> str:
    last = ConsentChange.objects.filter(patient=patient, channel=Channel.TEXT).first()
    return last.source if last is not None else ""


def _clinics_texting(number: str) -> list[tuple[str, str]]:
    """(name, phone) of the clinics with a patient at `number`, one each."""
    rows = (
        Patient.objects.filter(phone=number, erased_at__isnull=True)
        .order_by("clinic__name")
        .values_list("clinic__sender_name", "clinic__phone")
        .distinct()
    )
    return list(rows)


def _help_answer(clinics: list[tuple[str, str]]) -> str:
    contacts = "; ".join(f"{name}: {phone}" for name, phone in clinics[:2])
    who = contacts or "the clinic that treated you"
    return f"Aftercare reminders. To talk to us call {who}. Reply STOP to opt out."


def _not_read_answer(clinics: list[tuple[str, str]]) -> str:
    contacts = "; ".join(f"{name}: {phone}" for name, phone in clinics[:2])
    who = f"call {contacts}" if contacts else "call the clinic that treated you"
    return (
        f"Replies to this number are not read. To reach us {who}. "
        "In an emergency call your local emergency number."
    )
