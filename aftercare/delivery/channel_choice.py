"""The patient chooses how reminders reach them: by email, by text, or both (issue #19).

The patient does this from their pages (aftercare.portal); staff record consent on the
patient's record. Choosing no channel at all is the unsubscribe page's job, not this one's.
Imports consent and reminder services; nothing here knows about views or forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from aftercare.delivery.reminders import (
    BOTH_CHANNELS,
    reminders_put_back,
    reminders_stop_for_patient,
)
from aftercare.delivery.text_consent import TEXTS_STOPPED
from aftercare.delivery.text_transports import texts_enabled
from patients.consent import consent_change_record
from patients.models import Channel, ConsentChange, ConsentSource, Patient

# Why the unsent rows of a channel the patient turned off were cancelled. Both are among
# reminders.STOPPED_REASONS, so turning the channel on again (here, the unsubscribe
# page's "start again", or START) puts those still to come back.
STOP_REASONS = {Channel.EMAIL: "unsubscribed", Channel.TEXT: TEXTS_STOPPED}

# Why a channel cannot be chosen (ChannelUnavailable.code).
NO_CHANNEL = "no_channel"
ERASED = "erased"
NO_EMAIL = "no_email"
EMAIL_UNDELIVERABLE = "email_undeliverable"
TEXTS_OFF = "texts_off"
NO_PHONE = "no_phone"
PHONE_UNDELIVERABLE = "phone_undeliverable"
REPLIED_STOP = "replied_stop"

CHANNEL_PROBLEMS = {
    NO_CHANNEL: "Please choose email, text or both.",
    ERASED: "We no longer hold your details, so we cannot send you reminders.",
    NO_EMAIL: "We have no email address for you. Please ask the clinic to add it.",
    EMAIL_UNDELIVERABLE: "Emails to you do not arrive. Ask the clinic to check your address.",
    TEXTS_OFF: "We do not send reminders by text.",
    NO_PHONE: "We have no mobile number for you. Please ask the clinic to add it.",
    PHONE_UNDELIVERABLE: "Texts to you do not arrive. Ask the clinic to check your number.",
    REPLIED_STOP: "You replied STOP to our texts. To get them again, reply START to one of them.",
}


class ChannelUnavailable(ValueError):
    """A channel the patient cannot choose now. The message is written for the patient,
    so a form can show it as it is; `code` says why (the constants above)."""

    def __init__(self, *, code: str, channel: Channel | None = None) -> None:
        self.code, self.channel, self.message = code, channel, CHANNEL_PROBLEMS[code]
        super().__init__(self.message)


@dataclass(frozen=True)
class ChannelChoice:
    """What choosing changed: the channels the patient now gets reminders on."""

    channels: tuple[Channel, ...]
    turned_on: tuple[Channel, ...]
    turned_off: tuple[Channel, ...]
    cancelled: int  # unsent rows of the channels turned off
    put_back: int  # rows still to come of the channels turned on


def channel_problem(patient: Patient, channel: Channel) -> str:
    """Why the patient cannot choose `channel` now (a code above), or "" when they can.

    Email needs an address on file that the provider has not refused; text needs texts set
    up, a mobile number on file that the provider has not refused, and no STOP reply in
    force: the provider refuses every text to a number that replied STOP until it replies
    START, so consent given here would only be withdrawn again at the first send.
    """
    if patient.erased_at is not None:
        return ERASED
    if channel == Channel.EMAIL:
        if not patient.email:
            return NO_EMAIL
        return EMAIL_UNDELIVERABLE if patient.email_undeliverable else ""
    if not texts_enabled():
        return TEXTS_OFF
    if not patient.phone:
        return NO_PHONE
    if patient.phone_undeliverable_at is not None:
        return PHONE_UNDELIVERABLE
    if not patient.text_consent and _last_text_source(patient) == ConsentSource.TEXT_STOP:
        return REPLIED_STOP
    return ""


def channels_choosable(patient: Patient) -> tuple[Channel, ...]:
    """The channels the patient may choose now, email first."""
    return tuple(c for c in BOTH_CHANNELS if not channel_problem(patient, c))


@transaction.atomic
def reminder_channels_choose(
    *, patient: Patient, channels: tuple[Channel, ...], now: datetime
) -> ChannelChoice:
    """Set the patient's consent to each channel to match their choice, with a consent
    history row (source PATIENT_CHOICE) for each one that changed; cancel the unsent
    reminders of a channel turned off and put back those still to come of one turned on.

    Raises ChannelUnavailable, changing nothing, for an empty choice or a channel the
    patient cannot use. The patient's row is locked first, so two posts (two tabs, a
    double tap) are applied one after the other, each against the consent the other left.
    """
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    wanted = {Channel(channel) for channel in channels}
    chosen = tuple(c for c in BOTH_CHANNELS if c in wanted)
    if not chosen:
        raise ChannelUnavailable(code=NO_CHANNEL)
    for channel in chosen:
        problem = channel_problem(locked, channel)
        if problem:
            raise ChannelUnavailable(code=problem, channel=channel)
    agreed = {Channel.EMAIL: locked.email_consent, Channel.TEXT: locked.text_consent}
    turned_off = tuple(c for c in BOTH_CHANNELS if agreed[c] and c not in chosen)
    turned_on = tuple(c for c in chosen if not agreed[c])
    cancelled = 0
    for channel in turned_off:
        cancelled += reminders_stop_for_patient(
            patient=locked,
            reason=STOP_REASONS[channel],
            source=ConsentSource.PATIENT_CHOICE,
            channels=(channel,),
            now=now,
        )
    for channel in turned_on:
        _consent_give(locked, channel=channel, now=now)
    put_back = reminders_put_back(patient=locked, now=now, channels=turned_on) if turned_on else 0
    patient.refresh_from_db(
        fields=["email_consent", "email_consent_at", "text_consent", "text_consent_at"]
    )
    return ChannelChoice(
        channels=chosen,
        turned_on=turned_on,
        turned_off=turned_off,
        cancelled=cancelled,
        put_back=put_back,
    )


def _consent_give(patient: Patient, *, channel: Channel, now: datetime) -> None:
    if channel == Channel.EMAIL:
        patient.email_consent, patient.email_consent_at = True, now
        patient.save(update_fields=["email_consent", "email_consent_at", "updated_at"])
    else:
        patient.text_consent, patient.text_consent_at = True, now
        patient.save(update_fields=["text_consent", "text_consent_at", "updated_at"])
    consent_change_record(
        patient=patient,
        given=True,
        source=ConsentSource.PATIENT_CHOICE,
        at=now,
        channel=channel,
    )


def _last_text_source(patient: Patient) -> str:
    last = ConsentChange.objects.filter(patient=patient, channel=Channel.TEXT).first()
    return last.source if last is not None else ""
