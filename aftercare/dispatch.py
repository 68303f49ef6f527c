"""Sending due reminders: claim rows, send them over one connection, record each outcome.

Safe with any number of workers and beat schedulers: rows are claimed with
SELECT ... FOR UPDATE SKIP LOCKED in a short transaction that marks them
`sending` under a fresh lease token; the sending happens after commit, outside
any transaction; every outcome is written only if the row still carries that
token, so a worker whose lease ran out cannot overwrite the one that took over.
Recording a sent email is aftercare.recording's job.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from aftercare.emails import reminder_email
from aftercare.links import link_addresses, links_current
from aftercare.models import AftercarePlan, PatientLink, Reminder, ReminderStatus
from aftercare.plan_cache import stored_plan
from aftercare.planning import Plan
from aftercare.recording import SentRecorder, copy_of
from aftercare.transports import EmailTransport, TransportError

logger = logging.getLogger(__name__)
DUE = [ReminderStatus.PENDING, ReminderStatus.SENDING]


@dataclass(frozen=True)
class Claim:
    lease_token: uuid.UUID
    ids: tuple[int, ...]
    lease_expires_at: datetime


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchResult) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.cancelled += other.cancelled
        self.batches += other.batches
        self.errors.extend(other.errors)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2x base, 4x base... capped."""
    seconds = settings.REMINDER_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.REMINDER_RETRY_MAX_SECONDS))


def claim_due_reminders(
    *, now: datetime, limit: int, lease_seconds: int, plan_id: int | None = None
) -> Claim:
    """Mark up to `limit` due rows `sending` for this caller, and return them.

    Due: pending rows whose time has come, and sending rows whose lease ran out
    (their worker died). Uses the partial index Reminder.reminder_due.
    """
    lease_token = uuid.uuid4()
    lease_expires_at = now + timedelta(seconds=lease_seconds)
    with transaction.atomic():
        due = Reminder.objects.filter(status__in=DUE, next_attempt_at__lte=now)
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
    return Claim(lease_token=lease_token, ids=tuple(ids), lease_expires_at=lease_expires_at)


def send_claimed(claim: Claim, *, clock=timezone.now) -> DispatchResult:
    result = DispatchResult(batches=1)
    reminders = (
        Reminder.objects.filter(
            id__in=claim.ids, lease_token=claim.lease_token, status=ReminderStatus.SENDING
        )
        .select_related("patient", "plan__treatment__clinic")
        # The plan's JSON is parsed once per process (plan_cache), not once per row.
        .defer("plan__content")
        .order_by("next_attempt_at", "id")
    )
    reminders = list(reminders)
    links = links_current(
        plans=list({reminder.plan_id: reminder.plan for reminder in reminders}.values()),
        now=clock(),
    )
    plans: dict[int, tuple[Plan, str, str, str]] = {}
    with EmailTransport() as transport, SentRecorder() as recorder:
        for reminder in reminders:
            if not reminder.patient.can_receive_reminders or reminder.plan.superseded_at:
                reason = "no consent" if reminder.plan.superseded_at is None else "superseded"
                result.cancelled += _finish(
                    reminder,
                    claim,
                    status=ReminderStatus.CANCELLED,
                    cancelled_reason=reason,
                    lease_token=None,
                )
                continue
            try:
                if reminder.plan_id not in plans:
                    plans[reminder.plan_id] = _plan_links(reminder.plan, links[reminder.plan_id])
                plan, token, plan_url, unsubscribe_url = plans[reminder.plan_id]
                rendered = reminder_email(
                    reminder, plan=plan, plan_url=plan_url, unsubscribe_url=unsubscribe_url
                )
            except Exception as error:  # noqa: BLE001 - one bad row must not hold up the rest
                logger.exception("reminder %s: cannot build its email", reminder.pk)
                problem = TransportError(f"cannot build the email: {error!r}", permanent=True)
                _record_failure(reminder, claim, problem, clock(), result)
                continue
            if clock() >= claim.lease_expires_at:
                # Past the lease another worker may own these rows: leave the rest to it.
                break
            try:
                transport.send(rendered.message)
            except TransportError as error:
                _record_failure(reminder, claim, error, clock(), result)
                continue
            recorder.record(
                reminder, claim.lease_token, copy_of(reminder, rendered, token, sent_at=clock())
            )
            result.sent += 1
    return result


def dispatch_due(
    *,
    now: datetime | None = None,
    plan_id: int | None = None,
    max_seconds: float | None = None,
) -> DispatchResult:
    """Claim and send due batches until none is left (or the time budget is spent)."""
    started = time.monotonic()
    total = DispatchResult()
    with _commits_without_waiting_for_disk():
        _dispatch_batches(now, plan_id, max_seconds, started, total)
    return total


def _dispatch_batches(
    now: datetime | None,
    plan_id: int | None,
    max_seconds: float | None,
    started: float,
    total: DispatchResult,
) -> None:
    while True:
        moment = now or timezone.now()
        claim = claim_due_reminders(
            now=moment,
            limit=settings.REMINDER_BATCH_SIZE,
            lease_seconds=settings.REMINDER_LEASE_SECONDS,
            plan_id=plan_id,
        )
        if not claim.ids:
            break
        total.add(send_claimed(claim, clock=(lambda: now) if now else timezone.now))
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            break


@contextmanager
def _commits_without_waiting_for_disk() -> Iterator[None]:
    """Let PostgreSQL acknowledge the dispatch's commits before their WAL is on disk.

    Waiting for that flush took longer than rendering an email. If the database
    server itself crashes, the last fraction of a second of commits may be lost:
    a lost claim only returns rows to the queue, and a lost "sent" mark leaves its
    row `sending` until the lease runs out, when it is sent again with the same
    Message-ID (the duplicate a crash mid-send already allows). A worker crash
    loses nothing: a commit is visible to others as soon as it returns.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            # A broken connection takes its session settings with it.
            logger.debug("could not reset synchronous_commit", exc_info=True)


def _plan_links(plan: AftercarePlan, link: PatientLink) -> tuple[Plan, str, str, str]:
    return (stored_plan(plan), *link_addresses(link))


def _finish(reminder: Reminder, claim: Claim, **changes: object) -> int:
    """Write an outcome only if this claim still holds the row."""
    return Reminder.objects.filter(
        pk=reminder.pk, lease_token=claim.lease_token, status=ReminderStatus.SENDING
    ).update(**changes)


def _record_failure(
    reminder: Reminder, claim: Claim, error: TransportError, now: datetime, result: DispatchResult
) -> None:
    message = str(error)[:1000]
    result.errors.append(message)
    # A mail server that cannot be reached is not the message's fault: keep retrying.
    gives_up = error.permanent or (
        not error.connection_lost and reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS
    )
    if gives_up:
        result.failed += _finish(
            reminder, claim, status=ReminderStatus.FAILED, last_error=message, lease_token=None
        )
        logger.warning("reminder %s failed: %s", reminder.pk, message)
    else:
        result.retried += _finish(
            reminder,
            claim,
            status=ReminderStatus.PENDING,
            last_error=message,
            lease_token=None,
            next_attempt_at=now + retry_delay(reminder.attempts),
        )
