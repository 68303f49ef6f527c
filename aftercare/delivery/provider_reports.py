"""What the email provider reports about the emails it carried (anymail's tracking webhooks).

django-anymail receives each provider's webhook at /anymail/<provider>/tracking/, checks
its signature (basic auth, and the provider's own signature where it signs: Mailgun's
HMAC, SendGrid's ECDSA), turns the payload into an AnymailTrackingEvent and sends the
`anymail.signals.tracking` signal, which `delivery_report_record` receives.

Each report is kept on the email's reminder. A hard bounce, a spam complaint, or a
refusal because the address is bad or suppressed marks the patient's address
undeliverable: nothing more is emailed to it, and staff see it on Today and the
patient's timeline until they correct the address (patients.services.patient_update
then puts the reminders still to come back in the queue). A complaint also withdraws
the patient's consent, as an unsubscribe would.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any, cast

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from aftercare.delivery.reminders import UNDELIVERABLE, reminders_stop_for_patient
from aftercare.models import DeliveryEvent, DeliveryEventType, Reminder, SentMessage
from patients.models import Channel, ConsentSource, Patient, UndeliverableReason

logger = logging.getLogger(__name__)

# Refusals that say the address itself will not take our email.
UNDELIVERABLE_REJECTIONS = {
    RejectReason.INVALID,
    RejectReason.BOUNCED,
    RejectReason.BLOCKED,
    RejectReason.SPAM,
    RejectReason.UNSUBSCRIBED,
}


def delivery_report_record(
    *, event: AnymailTrackingEvent, provider: str, now: datetime | None = None
) -> DeliveryEvent | None:
    """Keep one provider report; act on it if it says the address cannot be used.

    None when the report is about an email this project did not send, is of a kind
    not kept (opens, clicks), or was already received (providers retry webhooks).
    """
    now = now or timezone.now()
    event_type = _event_type(event, provider)
    if event_type not in DeliveryEventType.values:
        return None
    sent = _sent_message_for(event.message_id)
    if sent is None:
        logger.info("%s report %s for an email not sent from here", provider, event_type)
        return None
    occurred_at = event.timestamp or now
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = DeliveryEvent.objects.create(
                    sent_message=sent,
                    provider=provider,
                    provider_event_id=_event_id(event),
                    event_type=event_type,
                    occurred_at=occurred_at,
                    detail=_detail(event),
                    received_at=now,
                )
        except IntegrityError:
            return None  # the provider sent this report before
        Reminder.objects.filter(pk=sent.reminder_id).filter(
            Q(delivery_status_at__isnull=True) | Q(delivery_status_at__lte=occurred_at)
        ).update(delivery_status=event_type, delivery_status_at=occurred_at)
        reason = _undeliverable_reason(event_type, event, provider)
        if reason is not None:
            _address_undeliverable(sent=sent, reason=reason, now=now)
    return record


def _sent_message_for(message_id: str | None) -> SentMessage | None:
    """The copy of the email the report is about, by the provider's id or our Message-ID."""
    if not message_id:
        return None
    bare = str(message_id).strip().strip("<>")
    candidates = [bare, f"<{bare}>"]
    copies = SentMessage.objects.select_related("reminder__patient").order_by("-sent_at")
    # Two lookups, each on an index: the provider's id (sentmessage_provider_id), then
    # our own Message-ID through its reminder (reminder_message_id_unique).
    return (
        copies.filter(provider_message_id__in=candidates).first()
        or copies.filter(reminder__message_id__in=candidates).first()
    )


def _event_type(event: AnymailTrackingEvent, provider: str) -> str:
    # Anymail reports Amazon SES's "DeliveryDelay" as unknown; it is a deferral.
    if provider == "amazon_ses" and _raw(event).get("eventType") == "DeliveryDelay":
        return cast(str, EventType.DEFERRED)
    return str(event.event_type)


def _event_id(event: AnymailTrackingEvent) -> str:
    """The provider's id for the report; for providers that give none (Brevo, Postmark's
    deliveries) a digest of the report itself, so a retried webhook still counts once."""
    if event.event_id:
        return str(event.event_id)[:200]
    payload = json.dumps(event.esp_event, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()


def _undeliverable_reason(
    event_type: str, event: AnymailTrackingEvent, provider: str
) -> str | None:
    if event_type == EventType.COMPLAINED:
        return UndeliverableReason.COMPLAINED
    if event_type == EventType.BOUNCED and _is_hard_bounce(event, provider):
        return UndeliverableReason.BOUNCED
    if (
        event_type == EventType.REJECTED
        # Amazon SES only rejects a message for its content (a virus), never the address.
        and provider != "amazon_ses"
        and event.reject_reason in UNDELIVERABLE_REJECTIONS
    ):
        return UndeliverableReason.REJECTED
    return None


def _raw(event: AnymailTrackingEvent) -> dict[str, Any]:
    return event.esp_event if isinstance(event.esp_event, dict) else {}


def _is_hard_bounce(event: AnymailTrackingEvent, provider: str) -> bool:
    """Anymail reports some providers' soft bounces (a full mailbox) as `bounced` too;
    only a permanent one says the address is bad. Mailgun's temporary failures already
    arrive as `deferred`."""
    raw = _raw(event)
    if provider == "postmark":
        return raw.get("Type") == "HardBounce"
    if provider == "brevo":
        return raw.get("event") in {"hard_bounce", "invalid_email"}
    if provider == "amazon_ses":
        bounce: dict[str, Any] = raw.get("bounce", {})
        return bounce.get("bounceType") == "Permanent"
    if provider == "sendgrid":
        return raw.get("type") != "blocked"
    return True


def _address_undeliverable(*, sent: SentMessage, reason: str, now: datetime) -> None:
    """Mark the address, if it is still the one the email went to, and stop sending to it."""
    patient = sent.reminder.patient
    marked = Patient.objects.filter(
        pk=patient.pk,
        email__iexact=sent.to,
        email_undeliverable_at__isnull=True,
        erased_at__isnull=True,
    ).update(email_undeliverable_at=now, email_undeliverable_reason=reason)
    if not marked:
        return
    if reason == UndeliverableReason.COMPLAINED:
        reminders_stop_for_patient(
            patient=patient,
            reason=UNDELIVERABLE,
            source=ConsentSource.SPAM_COMPLAINT,
            channels=(Channel.EMAIL,),
        )
    else:
        Reminder.objects.filter(patient=patient, channel=Channel.EMAIL).unsent().cancel(
            reason=UNDELIVERABLE
        )
    logger.warning("patient %s: email address marked undeliverable (%s)", patient.pk, reason)


def _detail(event: AnymailTrackingEvent) -> str:
    parts = [str(part) for part in (event.reject_reason, event.description, event.mta_response)]
    return "; ".join(part for part in parts if part and part != "None")[:500]
