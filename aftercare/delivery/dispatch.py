"""Sending due reminders: claim rows, send them over one connection, record each outcome.

Safe with any number of workers and beat schedulers: rows are claimed with
SELECT ... FOR UPDATE SKIP LOCKED in a short transaction that marks them
`sending` under a fresh lease token; the sending happens after commit, outside
any transaction; every outcome is written only if the row still carries that
token, so a worker whose lease ran out, or whose row was cancelled meanwhile
(reminders_stop_for_patient clears the token), cannot overwrite it.

Right before each message the worker checks, in one query, that it still holds
the row and that the patient still consents; right after, it marks the row sent
and stores the clinic's copy in one transaction, and reads the answer before the
next message goes. So a fault (worker killed, database connection lost) leaves at
most one email sent but unrecorded: it is sent again, with the same Message-ID,
once its lease runs out.

Delivery rules: a mail server that cannot be reached (refused connection, time-out,
dropped connection) only delays; a temporary refusal (4xx) is retried with backoff
until REMINDER_RETRY_WINDOW_HOURS after the first one, then the row is `failed`;
a permanent refusal (5xx) fails the row at once. `attempts` counts claims, for
display only.

Texts are rows of the same table, claimed in batches of their own (a text provider
that is down holds up no email) and sent the same way through the text provider
(aftercare.delivery.text_transports), with the same rules. A text found due outside
its clinic's texting hours waits, unsent, for their next start. A provider's answer
that the number replied STOP withdraws consent to texts; one that the number cannot
get texts marks it for staff.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from aftercare.delivery.emails import RenderedEmail, masked, reminder_email
from aftercare.delivery.text_consent import phone_mark_undeliverable, texts_stop_for_patient
from aftercare.delivery.text_transports import OutgoingText, text_transport, texts_enabled
from aftercare.delivery.texts import reminder_text
from aftercare.delivery.transports import EmailTransport, TransportError
from aftercare.links import link_addresses, links_current
from aftercare.models import (
    AftercarePlan,
    PatientLink,
    Reminder,
    ReminderQuerySet,
    ReminderStatus,
    SentMessage,
)
from aftercare.planner.planning import Plan
from patients.models import Channel, ConsentSource, TextProblem

logger = logging.getLogger(__name__)
DUE = [ReminderStatus.PENDING, ReminderStatus.SENDING]


TEXT_COPY_SUBJECT = "Text message"
# What a channel sends: a rendered email, or a text.
Message = TypeVar("Message")


@dataclass(frozen=True)
class Claim:
    lease_token: uuid.UUID
    ids: tuple[int, ...]
    lease_expires_at: datetime
    channel: Channel = Channel.EMAIL


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    # Texts found due outside their clinic's texting hours, put off until the next start.
    deferred: int = 0
    batches: int = 0
    # The mail server could not be reached: the pass stops, the next tick tries again.
    unreachable: bool = False
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchResult) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.cancelled += other.cancelled
        self.deferred += other.deferred
        self.batches += other.batches
        self.unreachable = self.unreachable or other.unreachable
        self.errors.extend(other.errors)


def retry_delay(refused_for: timedelta) -> timedelta:
    """Backoff after a temporary refusal, `refused_for` after the first one.

    Waiting as long again as the refusals have lasted (at least the base, at most
    the cap) doubles the gap between tries: base, base, 2x, 4x... whatever the
    number of tries in between (a claim that met an outage does not count).
    """
    seconds = max(refused_for.total_seconds(), settings.REMINDER_RETRY_BASE_SECONDS)
    return timedelta(seconds=min(seconds, settings.REMINDER_RETRY_MAX_SECONDS))


def claim_due_reminders(
    *,
    now: datetime,
    limit: int,
    lease_seconds: int,
    plan_id: int | None = None,
    channel: Channel = Channel.EMAIL,
) -> Claim:
    """Mark up to `limit` due rows of `channel` `sending` for this caller, and return them.

    Due: pending rows whose time has come, and sending rows whose lease ran out
    (their worker died). Uses the partial index Reminder.reminder_due.
    """
    lease_token = uuid.uuid4()
    lease_expires_at = now + timedelta(seconds=lease_seconds)
    with transaction.atomic():
        due = Reminder.objects.filter(status__in=DUE, next_attempt_at__lte=now, channel=channel)
        if plan_id is not None:
            due = due.filter(plan_id=plan_id)
        ids = list(
            due.select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            Reminder.objects.filter(id__in=ids).update(
                status=ReminderStatus.SENDING,
                lease_token=lease_token,
                next_attempt_at=lease_expires_at,
                attempts=F("attempts") + 1,
            )
    return Claim(
        lease_token=lease_token,
        ids=tuple(ids),
        lease_expires_at=lease_expires_at,
        channel=channel,
    )


def send_claimed(claim: Claim, *, clock: Callable[[], datetime] = timezone.now) -> DispatchResult:
    result = DispatchResult(batches=1)
    reminders = list(
        _held(claim, Reminder.objects.filter(id__in=claim.ids))
        .select_related("patient", "plan__treatment__clinic")
        .order_by("next_attempt_at", "id")
    )
    # One instance per plan, so each plan's content is parsed once per batch.
    plan_of = {reminder.plan_id: reminder.plan for reminder in reminders}
    for reminder in reminders:
        reminder.plan = plan_of[reminder.plan_id]
    links = links_current(plans=list(plan_of.values()), now=clock())
    if claim.channel == Channel.TEXT and not texts_enabled():
        error = TransportError("texts are not set up", permanent=False, connection_lost=True)
        _release(reminders, claim, error, clock(), result)
        return result
    if claim.channel == Channel.TEXT:
        _send_batch(TextSender(), claim, reminders, links, clock, result)
    else:
        _send_batch(EmailSender(), claim, reminders, links, clock, result)
    return result


class Sender(Protocol[Message]):
    """What one channel does its own way in the send loop (EmailSender, TextSender)."""

    noun: str

    def __enter__(self) -> Sender[Message]: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def not_before(self, reminder: Reminder, now: datetime) -> datetime | None: ...

    def build(
        self, reminder: Reminder, *, plan: Plan, plan_url: str, unsubscribe_url: str
    ) -> Message: ...

    def send(self, message: Message) -> str: ...

    def refused(self, reminder: Reminder, error: TransportError, now: datetime) -> None: ...

    def copy(
        self, reminder: Reminder, message: Message, token: str, *, sent_at: datetime
    ) -> SentMessage: ...


def _send_batch(
    sender: Sender[Message],
    claim: Claim,
    reminders: list[Reminder],
    links: dict[int, PatientLink],
    clock: Callable[[], datetime],
    result: DispatchResult,
) -> None:
    """The one send loop, for emails and texts alike: the checks, fences and records."""
    plans: dict[int, tuple[Plan, str, str, str]] = {}
    with sender:
        for position, reminder in enumerate(reminders):
            if reminder.plan.superseded_at:
                result.cancelled += _cancel(reminder, claim, reason="superseded")
                continue
            later = sender.not_before(reminder, clock())
            if later is not None:
                result.deferred += _put_off(reminder, claim, until=later)
                continue
            try:
                if reminder.plan_id not in plans:
                    plans[reminder.plan_id] = _plan_links(reminder.plan, links[reminder.plan_id])
                plan, token, plan_url, unsubscribe_url = plans[reminder.plan_id]
                message = sender.build(
                    reminder, plan=plan, plan_url=plan_url, unsubscribe_url=unsubscribe_url
                )
            except Exception as error:  # noqa: BLE001 - one bad row must not hold up the rest
                logger.exception("reminder %s: cannot build its %s", reminder.pk, sender.noun)
                problem = TransportError(
                    f"cannot build the {sender.noun}: {error!r}", permanent=True
                )
                _record_failure(reminder, claim, problem, clock(), result)
                continue
            if clock() >= claim.lease_expires_at:
                # Past the lease another worker may own these rows: leave the rest to it.
                break
            if not _may_send(reminder, claim):
                # Consent withdrawn, or the row was cancelled or taken over meanwhile.
                result.cancelled += _cancel(reminder, claim, reason="no consent")
                continue
            try:
                provider_message_id = sender.send(message)
            except TransportError as error:
                if error.connection_lost:
                    _release(reminders[position:], claim, error, clock(), result)
                    break
                _record_failure(reminder, claim, error, clock(), result)
                sender.refused(reminder, error, clock())
                continue
            copy = sender.copy(reminder, message, token, sent_at=clock())
            copy.provider_message_id = provider_message_id
            _record_sent(reminder, claim, copy)
            result.sent += 1


class EmailSender:
    """What the send loop does its own way for emails: the transport, message and copy."""

    noun = "email"

    def __enter__(self) -> EmailSender:
        self._transport = EmailTransport()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._transport.close()

    def not_before(self, reminder: Reminder, now: datetime) -> datetime | None:
        """Emails go whenever they are due."""
        return None

    def build(
        self, reminder: Reminder, *, plan: Plan, plan_url: str, unsubscribe_url: str
    ) -> RenderedEmail:
        return reminder_email(
            reminder, plan=plan, plan_url=plan_url, unsubscribe_url=unsubscribe_url
        )

    def send(self, message: RenderedEmail) -> str:
        return self._transport.send(message.message)

    def refused(self, reminder: Reminder, error: TransportError, now: datetime) -> None:
        """A refused email changes nothing beyond its row (bounces come as reports)."""

    def copy(
        self, reminder: Reminder, message: RenderedEmail, token: str, *, sent_at: datetime
    ) -> SentMessage:
        return copy_of(reminder, message, token, sent_at=sent_at)


class TextSender:
    """What the send loop does its own way for texts: the clinic's texting hours, the text
    provider, the copy, and what the provider says about the number."""

    noun = "text"

    def __enter__(self) -> TextSender:
        self._transport = text_transport()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._transport.close()

    def not_before(self, reminder: Reminder, now: datetime) -> datetime | None:
        """The next start of the clinic's texting hours, when `now` is outside them."""
        starts = reminder.plan.treatment.clinic.text_time(now)
        return starts if starts > now else None

    def build(
        self, reminder: Reminder, *, plan: Plan, plan_url: str, unsubscribe_url: str
    ) -> OutgoingText:
        body = reminder_text(reminder, plan=plan, plan_url=plan_url)
        return OutgoingText(to=str(reminder.patient.phone), body=body)

    def send(self, message: OutgoingText) -> str:
        return self._transport.send(message)

    def refused(self, reminder: Reminder, error: TransportError, now: datetime) -> None:
        """The provider said the number replied STOP, or cannot get texts: act on it for
        every text still to come, not just this one."""
        number = str(reminder.patient.phone)
        if error.recipient_problem == "opted_out":
            texts_stop_for_patient(
                patient=reminder.patient, source=ConsentSource.TEXT_STOP, now=now
            )
        elif error.recipient_problem == "invalid":
            phone_mark_undeliverable(
                patient=reminder.patient, number=number, reason=TextProblem.INVALID, now=now
            )

    def copy(
        self, reminder: Reminder, message: OutgoingText, token: str, *, sent_at: datetime
    ) -> SentMessage:
        return SentMessage(
            reminder=reminder,
            message_id=reminder.message_id,
            to=message.to,
            subject=TEXT_COPY_SUBJECT,
            text_body=masked(message.body, token),
            html_body="",
            headers={},
            sent_at=sent_at,
        )


def dispatch_due(
    *,
    now: datetime | None = None,
    plan_id: int | None = None,
    max_seconds: float | None = None,
) -> DispatchResult:
    """Claim and send due batches until none is left, the time budget is spent, or the
    mail server cannot be reached."""
    started = time.monotonic()
    total = DispatchResult()
    for channel in (Channel.EMAIL, Channel.TEXT):
        while True:
            moment = now or timezone.now()
            claim = claim_due_reminders(
                now=moment,
                limit=settings.REMINDER_BATCH_SIZE,
                lease_seconds=settings.REMINDER_LEASE_SECONDS,
                plan_id=plan_id,
                channel=channel,
            )
            if not claim.ids:
                break
            result = send_claimed(claim, clock=(lambda: now) if now else timezone.now)
            total.add(result)
            if result.unreachable:
                # This channel's server or provider is down; the other channel still goes.
                break
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                return total
    return total


def copy_of(
    reminder: Reminder, rendered: RenderedEmail, token: str, *, sent_at: datetime
) -> SentMessage:
    """The clinic's copy of a sent email, with the patient's token masked (unsaved)."""
    return SentMessage(
        reminder=reminder,
        message_id=reminder.message_id,
        to=reminder.patient.email,
        subject=str(rendered.message.subject),
        text_body=masked(rendered.text, token),
        html_body=masked(rendered.html, token),
        headers={
            key: masked(str(value), token) for key, value in rendered.message.extra_headers.items()
        },
        sent_at=sent_at,
    )


def _plan_links(plan: AftercarePlan, link: PatientLink) -> tuple[Plan, str, str, str]:
    return (plan.content_plan, *link_addresses(link))


def _held(claim: Claim, rows: ReminderQuerySet) -> ReminderQuerySet:
    """The rows this claim still holds: a cancel or a new claim replaces the token."""
    return rows.filter(lease_token=claim.lease_token, status=ReminderStatus.SENDING)


# Per channel: the patient's consent, their address or number, and its "undeliverable" mark.
_RECIPIENT_FIELDS = {
    Channel.EMAIL: ("email_consent", "email", "email_undeliverable_at"),
    Channel.TEXT: ("text_consent", "phone", "phone_undeliverable_at"),
}


def _may_send(reminder: Reminder, claim: Claim) -> bool:
    """Read right before the send: the row is still ours, its patient still consents to
    this channel, and the address or number is there and has not been refused."""
    consent, address, undeliverable = _RECIPIENT_FIELDS[Channel(reminder.channel)]
    return (
        _held(claim, Reminder.objects.filter(pk=reminder.pk))
        .filter(
            **{
                f"patient__{consent}": True,
                f"patient__{undeliverable}__isnull": True,
                "patient__erased_at__isnull": True,
            }
        )
        .exclude(**{f"patient__{address}": ""})
        .exists()
    )


def _put_off(reminder: Reminder, claim: Claim, *, until: datetime) -> int:
    """Back to pending, due when the clinic's texting hours next start."""
    return _finish(
        reminder, claim, status=ReminderStatus.PENDING, lease_token=None, next_attempt_at=until
    )


def _finish(reminder: Reminder, claim: Claim, **changes: object) -> int:
    """Write an outcome only if this claim still holds the row."""
    return _held(claim, Reminder.objects.filter(pk=reminder.pk)).update(**changes)


def _cancel(reminder: Reminder, claim: Claim, *, reason: str) -> int:
    return _held(claim, Reminder.objects.filter(pk=reminder.pk)).cancel(reason=reason)


def _record_sent(reminder: Reminder, claim: Claim, copy: SentMessage) -> None:
    """Mark the row sent (if the claim still holds it) and keep the copy, together.

    The copy is kept even when the row went elsewhere: the email did go out.
    """
    with transaction.atomic():
        marked = _finish(
            reminder, claim, status=ReminderStatus.SENT, sent_at=copy.sent_at, last_error=""
        )
        copy.save()
    if not marked:
        logger.warning(
            "reminder %s was sent after its lease ran out or it was cancelled", reminder.pk
        )


def _release(
    reminders: list[Reminder],
    claim: Claim,
    error: TransportError,
    now: datetime,
    result: DispatchResult,
) -> None:
    """The mail server cannot be reached: put the rest of the batch back, a little later.

    Not the messages' fault, so it never counts toward failing them.
    """
    message = str(error)[:1000]
    result.errors.append(message)
    result.unreachable = True
    result.retried += _held(
        claim, Reminder.objects.filter(pk__in=[r.pk for r in reminders])
    ).update(
        status=ReminderStatus.PENDING,
        last_error=message,
        lease_token=None,
        next_attempt_at=now + timedelta(seconds=settings.REMINDER_RETRY_BASE_SECONDS),
    )
    logger.warning("mail server unreachable, %s reminders put back: %s", len(reminders), message)


def _record_failure(
    reminder: Reminder, claim: Claim, error: TransportError, now: datetime, result: DispatchResult
) -> None:
    """A message refused: 5xx (or an email that cannot be built) fails at once; 4xx is
    retried until the retry window after the first refusal has passed."""
    message = str(error)[:1000]
    result.errors.append(message)
    changes: dict[str, object] = {"last_error": message, "lease_token": None}
    if not error.permanent:
        changes["first_refused_at"] = first_refused_at = reminder.first_refused_at or now
        refused_for = now - first_refused_at
        if refused_for < timedelta(hours=settings.REMINDER_RETRY_WINDOW_HOURS):
            changes |= {
                "status": ReminderStatus.PENDING,
                "next_attempt_at": now + retry_delay(refused_for),
            }
            result.retried += _finish(reminder, claim, **changes)
            return
    result.failed += _finish(reminder, claim, status=ReminderStatus.FAILED, **changes)
    logger.warning("reminder %s failed: %s", reminder.pk, message)
