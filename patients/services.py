"""Writes that touch patients and treatments. Views call these; nothing else saves them."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from aftercare.delivery.reminders import (
    reminders_put_back,
    reminders_resume_for_address,
    reminders_resume_for_patient,
)
from aftercare.plans.services import plan_create
from clinic.models import Clinic
from patients.consent import consent_change_record
from patients.models import ConsentSource, Patient, Treatment


def _stamp_consent(patient: Patient, *, was_consenting: bool, now: datetime) -> None:
    if patient.email_consent and not was_consenting:
        patient.email_consent_at = now
    elif not patient.email_consent:
        patient.email_consent_at = None


def _record_consent_change(
    patient: Patient, *, was_consenting: bool, now: datetime, by: User | None
) -> None:
    if patient.email_consent != was_consenting:
        consent_change_record(
            patient=patient, given=patient.email_consent, source=ConsentSource.STAFF, at=now, by=by
        )


@transaction.atomic
def patient_create(
    *,
    clinic: Clinic,
    patient: Patient,
    now: datetime | None = None,
    by: User | None = None,
) -> Patient:
    """Save a new patient (an unsaved instance, e.g. from a form) for `clinic`."""
    now = now or timezone.now()
    patient.clinic = clinic
    _stamp_consent(patient, was_consenting=False, now=now)
    patient.full_clean()
    patient.save()
    _record_consent_change(patient, was_consenting=False, now=now, by=by)
    return patient


@transaction.atomic
def patient_update(
    *, patient: Patient, now: datetime | None = None, by: User | None = None
) -> Patient:
    now = now or timezone.now()
    stored = Patient.objects.select_for_update().get(pk=patient.pk)
    was_consenting = stored.email_consent
    _stamp_consent(patient, was_consenting=was_consenting, now=now)
    address_corrected = stored.email_undeliverable and (
        patient.email.strip().lower() != stored.email.strip().lower()
    )
    if address_corrected:
        # The provider's bounce or complaint was about the old address.
        patient.email_undeliverable_at = None
        patient.email_undeliverable_reason = ""
    else:
        # A report may have arrived since the form was opened: keep it.
        patient.email_undeliverable_at = stored.email_undeliverable_at
        patient.email_undeliverable_reason = stored.email_undeliverable_reason
    patient.full_clean()
    patient.save()
    _record_consent_change(patient, was_consenting=was_consenting, now=now, by=by)
    if address_corrected:
        reminders_resume_for_address(patient=patient, now=now)
    if patient.email_consent and not was_consenting:
        # Agreement ticked again on the details form: the reminders still to come go back.
        reminders_put_back(patient=patient, now=now)
    return patient


def patient_consent_renew(
    *, patient: Patient, note: str, by: User, now: datetime | None = None
) -> int:
    """Staff record that a patient who had stopped reminder emails agrees to them again.

    `note` says how the patient agreed; it is kept on the consent history. Returns how
    many reminders wait again.
    """
    return reminders_resume_for_patient(
        patient=patient,
        source=ConsentSource.STAFF_RENEWED,
        now=now or timezone.now(),
        by=by,
        note=note,
    )


@transaction.atomic
def treatment_create(*, patient: Patient, practitioner: User, treatment: Treatment) -> Treatment:
    """Record a treatment session for `patient`, in the patient's clinic, and plan its aftercare."""
    if patient.skin_type is None:
        raise ValidationError(
            "Record the patient's skin type before logging a treatment.", code="no_skin_type"
        )
    treatment.patient = patient
    treatment.clinic_id = patient.clinic_id
    treatment.practitioner = practitioner
    treatment.full_clean()
    treatment.save()
    plan_create(treatment=treatment, created_by=practitioner)
    return treatment
