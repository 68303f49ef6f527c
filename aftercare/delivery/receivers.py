"""Signal receivers of the aftercare app, connected in AftercareConfig.ready."""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailTrackingEvent, tracking
from django.dispatch import receiver

from aftercare.delivery.provider_reports import delivery_report_record


@receiver(tracking, dispatch_uid="aftercare.delivery_report")
def on_delivery_report(
    sender: Any, *, event: AnymailTrackingEvent, esp_name: str, **_: Any
) -> None:
    delivery_report_record(event=event, provider=esp_name.lower().replace(" ", "_"))
