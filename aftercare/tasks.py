"""Celery tasks: thin wrappers around the dispatch and the concern alert.

Kept at aftercare/tasks.py, where Celery's autodiscovery looks, and under their
original names so messages already queued still find them. Nothing imported here
imports this module back: services queue tasks through aftercare.delivery.queue
and aftercare.concerns.services.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings

from aftercare.concerns.alerts import concern_alert_send
from aftercare.delivery.dispatch import dispatch_due

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def dispatch_due_reminders() -> int:
    """Run by beat every minute: send everything due, for at most one interval."""
    result = dispatch_due(
        max_seconds=settings.CELERY_BEAT_SCHEDULE["dispatch-due-reminders"]["schedule"]
    )
    if result.sent or result.retried or result.failed:
        logger.info(
            "reminders: %s sent, %s to retry, %s failed", result.sent, result.retried, result.failed
        )
    return result.sent


@shared_task(ignore_result=True)
def send_plan_reminders_now(plan_id: int) -> int:
    """Queued when a plan is committed, so the first email need not wait for beat."""
    return dispatch_due(plan_id=plan_id).sent


@shared_task(
    ignore_result=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=10,
    retry_backoff_max=300,
    max_retries=8,
)
def send_concern_alert(report_id: int) -> None:
    concern_alert_send(report_id)
