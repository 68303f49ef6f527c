"""Turning a plan's reminder schedule into rows, and stopping them.

Each reminder moment gets a row per channel the patient gets reminders on (email, text:
Patient.channels, texts only while a text provider is set up).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from aftercare.delivery.queue import queue_plan_reminders
from aftercare.delivery.text_consent import (
    NUMBER_UNDELIVERABLE,
    TEXTS_STOPPED,
    texts_stop_for_patient,
)
from aftercare.delivery.text_transports import texts_enabled
from aftercare.links import link_issue, links_revoke
from aftercare.models import AftercarePlan, Reminder, ReminderStatus
from clinic.models import Clinic
from patients.consent import consent_change_record
from patients.models import Channel, ConsentSource, Patient, Treatment

logger = logging.getLogger(__name__)

# Why reminders were cancelled when the provider reported the address undeliverable;
# correcting the address puts the ones still to come back (reminders_resume_for_address).
UNDELIVERABLE = "email address undeliverable"
# Why reminders were cancelled when the patient or staff stopped them (or a worker found
# consent gone as it came to send one): starting again puts those still to come back
# (reminders_resume_for_patient).
STOPPED_REASONS = ("unsubscribed", "stopped by staff", "no consent", TEXTS_STOPPED)
BOTH_CHANNELS = (Channel.EMAIL, Channel.TEXT)
# At most this many patients of one clinic share an address (a family): each gets a link.
MAX_PATIENTS_PER_ADDRESS = 5


def new_message_id() -> str:
    return f"<reminder-{uuid.uuid4().hex}@{settings.MESSAGE_ID_DOMAIN}>"


def reminder_channels(patient: Patient) -> tuple[Channel, ...]:
    """The channels the patient's reminders go out on now (texts only if set up)."""
    return tuple(c for c in patient.channels if c == Channel.EMAIL or texts_enabled())


def reminder_row(
    *,
    plan: AftercarePlan,
    kind: str,
    label: str,
    covers: str,
    day_number: int,
    due_at: datetime,
    channel: Channel = Channel.EMAIL,
) -> Reminder:
    """An unsaved reminder row for the plan's patient, due at `due_at`, with its own
    Message-ID: the one place a reminder row is made. A text due outside the clinic's
    texting hours is due at their next start."""
    if channel == Channel.TEXT:
        due_at = plan.treatment.clinic.text_time(due_at)
    return Reminder(
        plan=plan,
        patient=plan.treatment.patient,
        kind=kind,
        channel=channel,
        label=label,
        covers=covers,
        day_number=day_number,
        due_at=due_at,
        next_attempt_at=due_at,
        message_id=new_message_id(),
    )


def reminders_schedule(*, plan: AftercarePlan, now: datetime) -> list[Reminder]:
    """Rows for the plan's reminders that are still worth sending.

    Nothing is scheduled for a patient who gets reminders on no channel. A kind
    already sent on a channel for this treatment (under an earlier revision) is not
    sent on it again. A moment already past when the plan is made is skipped, except
    the first one: a late-logged treatment still gets its welcome message now.
    """
    patient = plan.treatment.patient
    channels = reminder_channels(patient)
    if not channels or not plan.is_current:
        return []
    visit = Treatment.objects.same_visit_as(plan.treatment).values_list("pk", flat=True)
    already_sent = set(
        Reminder.objects.filter(
            plan__treatment_id__in=visit, status=ReminderStatus.SENT
        ).values_list("kind", "channel")
    )
    content = plan.content_plan
    rows: list[Reminder] = []
    for moment in content.reminders:
        first = moment.day_number == 0
        if moment.send_at < now and not first:
            continue
        due_at = max(moment.send_at, now) if first else moment.send_at
        rows.extend(
            reminder_row(
                plan=plan,
                kind=moment.key,
                label=moment.label,
                covers=moment.summary_md,
                day_number=moment.day_number,
                due_at=due_at,
                channel=channel,
            )
            for channel in channels
            if (moment.key, channel) not in already_sent
        )
    created = Reminder.objects.bulk_create(rows)
    reminders_carry_note(plan=plan, note=content.note)
    return created


def reminders_carry_note(*, plan: AftercarePlan, note: str) -> None:
    """Put the practitioner's note on the plan's next email, unless one already carried it.

    The email shows the note as it is on its row (see templates/emails/), so the
    emails already sent keep what they said. Texts never carry it: it is the
    patient's own health detail, and the patient pages show it.
    """
    waiting = Reminder.objects.filter(plan=plan, channel=Channel.EMAIL).waiting()
    visit = Treatment.objects.same_visit_as(plan.treatment).values_list("pk", flat=True)
    already_told = Reminder.objects.filter(
        plan__treatment_id__in=visit, channel=Channel.EMAIL, status=ReminderStatus.SENT, note=note
    ).exists()
    nxt = waiting.filter(status=ReminderStatus.PENDING).order_by("due_at", "id").first()
    waiting.exclude(note="").update(note="")
    if note and not already_told and nxt is not None:
        Reminder.objects.filter(pk=nxt.pk).update(note=note)


def reminders_cancel_for_plans(plan_ids: Iterable[int], *, reason: str) -> int:
    return Reminder.objects.filter(plan_id__in=list(plan_ids)).waiting().cancel(reason=reason)


@transaction.atomic
def reminders_stop_for_patient(
    *,
    patient: Patient,
    reason: str,
    by: User | None = None,
    source: ConsentSource | None = None,
    channels: tuple[Channel, ...] = BOTH_CHANNELS,
    now: datetime | None = None,
) -> int:
    """Stop the patient's future reminders on `channels` and withdraw their consent to
    them (the unsubscribe link of an email stops emails; staff stop both).

    Rows a worker is sending are cancelled too: clearing their lease token makes
    the worker's later writes miss them, and the worker checks that it still holds
    a row right before each message. Only a message already handed to the mail
    server or text provider can still go out.
    """
    source = source or (
        ConsentSource.PATIENT_UNSUBSCRIBE if reason == "unsubscribed" else ConsentSource.STAFF_STOP
    )
    now = now or timezone.now()
    cancelled = 0
    if Channel.TEXT in channels:
        cancelled += texts_stop_for_patient(
            patient=patient, source=source, now=now, reason=reason, by=by
        )
    if Channel.EMAIL not in channels:
        return cancelled
    withdrawn = Patient.objects.filter(pk=patient.pk, email_consent=True).update(
        email_consent=False, email_consent_at=None
    )
    if withdrawn:
        consent_change_record(patient=patient, given=False, source=source, at=now, by=by)
    patient.email_consent = False
    patient.email_consent_at = None
    return cancelled + Reminder.objects.filter(
        patient=patient, channel=Channel.EMAIL
    ).unsent().cancel(reason=reason)


def reminders_resume_for_address(*, patient: Patient, now: datetime) -> int:
    """Put back the reminders still to come that a bounced address stopped.

    Called once staff have corrected the address (or the number, for texts); those
    already past stay cancelled (staff were told to call the patient meanwhile).
    """
    return _resume_cancelled(
        patient, channel=Channel.EMAIL, reason=UNDELIVERABLE, now=now
    ) + _resume_cancelled(patient, channel=Channel.TEXT, reason=NUMBER_UNDELIVERABLE, now=now)


def _resume_cancelled(patient: Patient, *, channel: Channel, reason: str, now: datetime) -> int:
    if channel not in reminder_channels(patient):
        return 0
    return Reminder.objects.filter(
        patient=patient,
        channel=channel,
        status=ReminderStatus.CANCELLED,
        cancelled_reason=reason,
        due_at__gt=now,
        plan__superseded_at__isnull=True,
    ).update(status=ReminderStatus.PENDING, cancelled_reason="", next_attempt_at=F("due_at"))


@transaction.atomic
def reminders_resume_for_patient(
    *,
    patient: Patient,
    source: ConsentSource,
    now: datetime,
    by: User | None = None,
    note: str = "",
) -> int:
    """Record the patient's renewed agreement to emails and put back the reminders still to come.

    The undo of reminders_stop_for_patient, for the patient (from the unsubscribe page) and
    for staff (who write down how the patient agreed). Nothing changes for an erased
    patient or one without an email address. Returns how many reminders wait again.
    """
    given = (
        Patient.objects.filter(pk=patient.pk, email_consent=False, erased_at__isnull=True)
        .exclude(email="")
        .update(email_consent=True, email_consent_at=now)
    )
    if given:
        consent_change_record(
            patient=patient, given=True, source=source, at=now, by=by, note=note.strip()
        )
    patient.refresh_from_db(fields=["email_consent", "email_consent_at"])
    return reminders_put_back(patient=patient, now=now, channels=(Channel.EMAIL,))


def reminders_put_back(
    *, patient: Patient, now: datetime, channels: tuple[Channel, ...] = BOTH_CHANNELS
) -> int:
    """Queue the current plan's reminders still to come on `channels`, once the patient
    agrees to them again (those the patient gets reminders on; the rest are skipped).

    Rows that stopping cancelled go back to pending, keeping their Message-IDs. A moment
    with no row on the current plan (it was revised, or made, while the patient was not
    agreeing) gets a new one, unless its kind was already sent on the channel for the
    visit. Moments already past stay unsent: they are about days the patient has lived
    through.
    """
    channels = tuple(c for c in channels if c in reminder_channels(patient))
    plan = AftercarePlan.objects.current_for(patient) if channels else None
    if plan is None:
        return 0
    rows = Reminder.objects.filter(plan=plan, channel__in=channels)
    restored = rows.filter(
        status=ReminderStatus.CANCELLED, cancelled_reason__in=STOPPED_REASONS, due_at__gt=now
    ).update(status=ReminderStatus.PENDING, cancelled_reason="", next_attempt_at=F("due_at"))
    visit = Treatment.objects.same_visit_as(plan.treatment).values_list("pk", flat=True)
    known = set(rows.values_list("kind", "channel")) | set(
        Reminder.objects.filter(
            plan__treatment_id__in=visit, channel__in=channels, status=ReminderStatus.SENT
        ).values_list("kind", "channel")
    )
    content = plan.content_plan
    added = Reminder.objects.bulk_create(
        reminder_row(
            plan=plan,
            kind=moment.key,
            label=moment.label,
            covers=moment.summary_md,
            day_number=moment.day_number,
            due_at=moment.send_at,
            channel=channel,
        )
        for moment in content.reminders
        for channel in channels
        if moment.send_at > now and (moment.key, channel) not in known
    )
    reminders_carry_note(plan=plan, note=content.note)
    return restored + len(added)


def reminder_resend(*, reminder: Reminder, now: datetime | None = None) -> bool:
    """Put a failed reminder back in the queue, due now. False if it was not failed."""
    updated = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.FAILED).update(
        status=ReminderStatus.PENDING,
        next_attempt_at=now or timezone.now(),
        attempts=0,
        first_refused_at=None,
        last_error="",
    )
    return updated == 1


@transaction.atomic
def link_reissue(
    *, patient: Patient, now: datetime, channels: tuple[Channel, ...] = BOTH_CHANNELS
) -> Reminder | None:
    """Revoke the patient's links and send a new one on each of `channels` the patient
    gets reminders on, through the reminder queue. Returns the first row made.

    None if the patient has no current plan or gets reminders on none of them.
    """
    channels = tuple(c for c in channels if c in reminder_channels(patient))
    plan = AftercarePlan.objects.current_for(patient)
    if plan is None or not channels:
        return None
    links_revoke(patient_id=patient.pk, now=now)
    link_issue(plan=plan)
    kind = f"new-link-{uuid.uuid4().hex[:12]}"
    rows: list[Reminder] = [
        reminder_row(
            plan=plan,
            kind=kind,
            label="Your new aftercare link",
            covers="Here is a new link to your aftercare plan. Earlier links no longer work.",
            day_number=max(plan.content_plan.day_number_at(now), 0),
            due_at=now,
            channel=channel,
        )
        for channel in channels
    ]
    for row in rows:
        row.save()
    transaction.on_commit(lambda: queue_plan_reminders(plan.pk))
    return rows[0]


def links_send_on_request(*, clinic: Clinic, email: str, now: datetime) -> int:
    """Email a fresh link to the clinic's patients whose address on file is `email`.

    A patient asked on the patient pages ("email me a fresh link"). The link goes only to
    the address on file, and only to a patient who agrees to emails and whose current
    plan's links still run (PATIENT_LINK_DAYS after the treatment); earlier links are
    revoked (link_reissue). The count is for tests and logs: the patient is told the same
    whatever it is.
    """
    patients = Patient.objects.filter(
        clinic=clinic,
        email__iexact=email.strip(),
        email_consent=True,
        email_undeliverable_at__isnull=True,
        erased_at__isnull=True,
    ).order_by("pk")[:MAX_PATIENTS_PER_ADDRESS]
    links_last_until = timedelta(days=settings.PATIENT_LINK_DAYS)
    sent = 0
    for patient in patients:
        plan = AftercarePlan.objects.select_related("treatment").current_for(patient)
        if plan is None or plan.treatment.performed_at + links_last_until <= now:
            continue
        if link_reissue(patient=patient, now=now, channels=(Channel.EMAIL,)) is not None:
            sent += 1
    logger.info("fresh link asked for on clinic %s: %s sent", clinic.pk, sent)
    return sent
