"""Celery tasks of the delivery: beat's dispatch tick, and sending a new plan's first
emails at once. Named as they were when they lived in aftercare/tasks.py, so messages
already queued and beat's schedule still find them."""

from __future__ import annotations

import logging
from typing import cast

from celery import shared_task
from django.conf import settings

from aftercare.delivery.dispatch import dispatch_due

logger = logging.getLogger(__name__)


@shared_task(name="aftercare.tasks.dispatch_due_reminders", ignore_result=True)
def dispatch_due_reminders() -> int:
    """Run by beat every minute: send everything due, for at most one interval."""
    interval = cast(float, settings.CELERY_BEAT_SCHEDULE["dispatch-due-reminders"]["schedule"])
    result = dispatch_due(max_seconds=interval)
    if result.sent or result.retried or result.failed:
        logger.info(
            "reminders: %s sent, %s to retry, %s failed", result.sent, result.retried, result.failed
        )
    return result.sent


@shared_task(name="aftercare.tasks.send_plan_reminders_now", ignore_result=True)
def send_plan_reminders_now(plan_id: int) -> int:
    """Queued when a plan is committed, so the first email need not wait for beat."""
    return dispatch_due(plan_id=plan_id).sent
