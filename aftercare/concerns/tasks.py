"""The Celery task that emails a clinic about a new patient report (retried while the
mail server is unreachable). Named as it was in aftercare/tasks.py."""

from __future__ import annotations

import smtplib

from celery import shared_task

from aftercare.concerns.alerts import concern_alert_send


@shared_task(
    name="aftercare.tasks.send_concern_alert",
    ignore_result=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=10,
    retry_backoff_max=300,
    max_retries=8,
)
def send_concern_alert(report_id: int) -> None:
    concern_alert_send(report_id)
