"""Writes that touch patients and treatments. Views call these; nothing else saves them."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from aftercare.services import plan_create
from clinic.models import Clinic
from patients.models import Patient, Treatment


def _stamp_consent(patient: Patient, *, was_consenting: bool, now: datetime) -> None:
    if patient.email_consent and not was_consenting:
        patient.email_consent_at = now
    elif not patient.email_consent:
        patient.email_consent_at = None


def patient_create(*, clinic: Clinic, patient: Patient, now: datetime | None = None) -> Patient:
    """Save a new patient (an unsaved instance, e.g. from a form) for `clinic`."""
    patient.clinic = clinic
    _stamp_consent(patient, was_consenting=False, now=now or timezone.now())
    patient.full_clean()
    patient.save()
    return patient


def patient_update(*, patient: Patient, now: datetime | None = None) -> Patient:
    was_consenting = (
        Patient.objects.filter(pk=patient.pk, email_consent=True).exists() if patient.pk else False
    )
    _stamp_consent(patient, was_consenting=was_consenting, now=now or timezone.now())
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def treatment_create(
    *, patient: Patient, practitioner: AbstractBaseUser, treatment: Treatment
) -> Treatment:
    """Record a treatment session for `patient`, in the patient's clinic, and plan its aftercare."""
    treatment.patient = patient
    treatment.clinic_id = patient.clinic_id
    treatment.practitioner = practitioner
    treatment.full_clean()
    treatment.save()
    plan_create(treatment=treatment, created_by=practitioner)
    return treatment
