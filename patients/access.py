"""The one way a staff page loads a patient or a treatment: of the user's clinic, not
erased, else 404 (never 403: another clinic's ids are not confirmed to exist)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from clinic.access import StaffRequest
from patients.models import Patient, Treatment


def patient_for(request: StaffRequest, pk: int) -> Patient:
    return get_object_or_404(
        Patient.objects.select_related("clinic"),
        pk=pk,
        clinic=request.membership.clinic,
        erased_at__isnull=True,
    )


def treatment_for(request: StaffRequest, pk: int) -> Treatment:
    return get_object_or_404(
        Treatment.objects.select_related("patient", "clinic", "practitioner"),
        pk=pk,
        clinic=request.membership.clinic,
        patient__erased_at__isnull=True,
    )
