"""Stopping texts: the number replied STOP, or it cannot get texts.

Apart from aftercare.delivery.reminders so the dispatch, which meets both in Twilio's
answers, can use them (reminders imports the task queue, which imports the dispatch).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from aftercare.models import Reminder
from patients.consent import consent_change_record
from patients.models import Channel, ConsentSource, Patient, TextProblem

logger = logging.getLogger(__name__)

# Why texts were cancelled: the patient's texting consent went (STOP, staff, the patient's
# choice), or the number cannot get texts. Giving consent again, or correcting the number,
# puts those still to come back (aftercare.delivery.reminders.reminders_put_back).
TEXTS_STOPPED = "texts stopped"
NUMBER_UNDELIVERABLE = "phone number undeliverable"


@transaction.atomic
def texts_stop_for_patient(
    *,
    patient: Patient,
    source: ConsentSource,
    now: datetime,
    reason: str = TEXTS_STOPPED,
    by: User | None = None,
) -> int:
    """Withdraw the patient's consent to texts and cancel every text still to send.

    Rows a worker is sending are cancelled too (their lease is cleared): only a text
    already handed to the provider can still go out. Returns how many were cancelled.
    """
    withdrawn = Patient.objects.filter(pk=patient.pk, text_consent=True).update(
        text_consent=False, text_consent_at=None
    )
    if withdrawn:
        consent_change_record(
            patient=patient,
            given=False,
            source=source,
            at=now,
            by=by,
            channel=Channel.TEXT,
        )
    patient.text_consent = False
    patient.text_consent_at = None
    return (
        Reminder.objects.filter(patient=patient, channel=Channel.TEXT)
        .unsent()
        .cancel(reason=reason)
    )


def texts_stop_for_number(*, number: str, source: ConsentSource, now: datetime) -> int:
    """STOP from `number` (E.164): texts stop for every patient with that number, in every
    clinic, since the carrier now blocks all our texts to it. Returns the patients changed."""
    patients = list(Patient.objects.filter(phone=number, erased_at__isnull=True))
    for patient in patients:
        texts_stop_for_patient(patient=patient, source=source, now=now)
    logger.info("texts stopped by the recipient for %s patient(s)", len(patients))
    return len(patients)


@transaction.atomic
def phone_mark_undeliverable(
    *, patient: Patient, number: str, reason: TextProblem, now: datetime
) -> bool:
    """Mark the number, if it is still the patient's, and stop texting it until staff
    correct it. False when the number changed meanwhile or was already marked."""
    marked = Patient.objects.filter(
        pk=patient.pk, phone=number, phone_undeliverable_at__isnull=True, erased_at__isnull=True
    ).update(phone_undeliverable_at=now, phone_undeliverable_reason=reason)
    if not marked:
        return False
    patient.phone_undeliverable_at = now
    patient.phone_undeliverable_reason = reason
    Reminder.objects.filter(patient=patient, channel=Channel.TEXT).unsent().cancel(
        reason=NUMBER_UNDELIVERABLE
    )
    logger.warning("patient %s: phone number marked undeliverable (%s)", patient.pk, reason)
    return True
