"""The history of a patient's agreement to aftercare emails."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User

from patients.models import ConsentChange, Patient


def consent_change_record(
    *,
    patient: Patient,
    given: bool,
    source: str,
    at: datetime,
    by: User | None = None,
    note: str = "",
) -> ConsentChange:
    return ConsentChange.objects.create(
        patient=patient, given=given, source=source, at=at, recorded_by=by, note=note
    )
