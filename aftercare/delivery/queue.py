"""Asking a worker to send a plan's due reminders now, instead of at beat's next tick."""

from __future__ import annotations

import logging

from aftercare.delivery.tasks import send_plan_reminders_now

logger = logging.getLogger(__name__)


def queue_plan_reminders(plan_id: int) -> None:
    """Queue the send; if the broker is down nothing is lost: the rows are due, and the
    next beat tick sends them."""
    try:
        send_plan_reminders_now.delay(plan_id)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the request
        logger.warning("could not queue the first reminders of plan %s", plan_id, exc_info=True)
