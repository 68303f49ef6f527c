"""The history of a patient's agreement to aftercare emails and texts."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User

from patients.models import Channel, ConsentChange, Patient


def consent_change_record(
    *,
    patient: Patient,
    given: bool,
    source: str,
    at: datetime,
    by: User | None = None,
    note: str = "",
    channel: str = Channel.EMAIL,
) -> ConsentChange:
    return ConsentChange.objects.create(
        patient=patient,
        channel=channel,
        given=given,
        source=source,
        at=at,
        recorded_by=by,
        note=note,
    )
