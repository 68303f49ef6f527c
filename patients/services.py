"""Writes that touch patients and treatments. Views call these; nothing else saves them."""

from __future__ import annotations

from dataclasses import dataclass
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
from aftercare.delivery.text_consent import texts_stop_for_patient
from aftercare.plans.services import plan_create
from clinic.models import Clinic
from patients.consent import consent_change_record
from patients.models import Channel, ConsentSource, Patient, Treatment


@dataclass(frozen=True)
class Consents:
    """What the patient agreed to before this save: emails, texts."""

    email: bool
    text: bool


NO_CONSENT = Consents(email=False, text=False)


def _stamp_consent(patient: Patient, *, before: Consents, now: datetime) -> None:
    if patient.email_consent and not before.email:
        patient.email_consent_at = now
    elif not patient.email_consent:
        patient.email_consent_at = None
    if patient.text_consent and not before.text:
        patient.text_consent_at = now
    elif not patient.text_consent:
        patient.text_consent_at = None


def _record_consent_change(
    patient: Patient, *, before: Consents, now: datetime, by: User | None
) -> None:
    if patient.email_consent != before.email:
        consent_change_record(
            patient=patient, given=patient.email_consent, source=ConsentSource.STAFF, at=now, by=by
        )
    if patient.text_consent != before.text:
        consent_change_record(
            patient=patient,
            given=patient.text_consent,
            source=ConsentSource.STAFF,
            at=now,
            by=by,
            channel=Channel.TEXT,
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
    _stamp_consent(patient, before=NO_CONSENT, now=now)
    patient.full_clean()
    patient.save()
    _record_consent_change(patient, before=NO_CONSENT, now=now, by=by)
    return patient


@transaction.atomic
def patient_update(
    *, patient: Patient, now: datetime | None = None, by: User | None = None
) -> Patient:
    now = now or timezone.now()
    stored = Patient.objects.select_for_update().get(pk=patient.pk)
    before = Consents(email=stored.email_consent, text=stored.text_consent)
    _stamp_consent(patient, before=before, now=now)
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
    number_corrected = stored.phone_undeliverable_at is not None and patient.phone != stored.phone
    if number_corrected:
        # The text provider's report was about the old number.
        patient.phone_undeliverable_at = None
        patient.phone_undeliverable_reason = ""
    else:
        patient.phone_undeliverable_at = stored.phone_undeliverable_at
        patient.phone_undeliverable_reason = stored.phone_undeliverable_reason
    patient.full_clean()
    patient.save()
    _record_consent_change(patient, before=before, now=now, by=by)
    if before.text and not patient.text_consent:
        # Consent is withdrawn and recorded above: this cancels the texts still to send.
        texts_stop_for_patient(patient=patient, source=ConsentSource.STAFF_STOP, now=now, by=by)
    if address_corrected or number_corrected:
        reminders_resume_for_address(patient=patient, now=now)
    put_back = tuple(
        channel
        for channel, ticked in (
            (Channel.EMAIL, patient.email_consent and not before.email),
            (Channel.TEXT, patient.text_consent and not before.text),
        )
        if ticked
    )
    if put_back:
        # Agreement ticked again on the details form: the reminders still to come go back.
        reminders_put_back(patient=patient, now=now, channels=put_back)
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
