"""Celery tasks: thin wrappers around aftercare.dispatch."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings

from aftercare.concerns import concern_alert_send
from aftercare.dispatch import dispatch_due

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
