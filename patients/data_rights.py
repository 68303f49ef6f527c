"""A patient's data rights: a copy of their whole record, and erasure.

Erasure keeps the rows that clinic statistics count (the patient, their treatments'
facts, reminders' statuses, reports' symptoms) but removes everything that says who
the patient is or what they wrote: names, contact details, notes, photos, sent
emails, links, consent history. The audit trail of the record goes too, replaced by
one entry saying that (and by whom) the patient was erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model

from aftercare.models import (
    AdjustmentKind,
    AftercarePlan,
    ConcernReport,
    PatientLink,
    PlanAdjustment,
    Reminder,
    SentMessage,
)
from patients.models import ConsentChange, Patient, Treatment

ERASED_FIRST_NAME = "Erased"
ERASED_LAST_NAME = "patient"
ERASED_TEXT = "[erased]"


def patient_export(*, patient: Patient, now: datetime) -> dict[str, Any]:
    """Everything the clinic holds about the patient, as plain JSON-ready values."""
    treatments = patient.treatments.select_related("practitioner").prefetch_related(
        "plans", "adjustments__created_by"
    )
    reminders = patient.reminders.prefetch_related("sent_messages").order_by("due_at", "id")
    links = PatientLink.objects.filter(plan__treatment__patient=patient).order_by("created_at")
    return {
        "exported_at": now,
        "clinic": {"name": patient.clinic.name, "phone": patient.clinic.phone},
        "patient": {
            "id": patient.pk,
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "email": patient.email,
            "phone": str(patient.phone or ""),
            "date_of_birth": patient.date_of_birth,
            "skin_type": patient.skin_type,
            "email_consent": patient.email_consent,
            "email_consent_at": patient.email_consent_at,
            "text_consent": patient.text_consent,
            "text_consent_at": patient.text_consent_at,
            "breakout_prone": patient.breakout_prone,
            "slow_healing": patient.slow_healing,
            "sensitive_skin": patient.sensitive_skin,
            "history_notes": patient.history_notes,
            "created_at": patient.created_at,
        },
        "consent_history": [
            {
                "channel": change.get_channel_display(),
                "given": change.given,
                "source": change.get_source_display(),
                "at": change.at,
                "note": change.note,
            }
            for change in patient.consent_changes.order_by("at", "id")
        ],
        "treatments": [
            {
                "performed_at": treatment.performed_at,
                "practitioner": treatment.practitioner.get_full_name()
                or treatment.practitioner.get_username(),
                "depth_mm": treatment.depth_mm,
                "passes": treatment.passes,
                "areas": treatment.get_area_labels(),
                "device": treatment.get_device_display(),
                "products_applied": treatment.products_applied,
                "notes": treatment.notes,
                "plans": [
                    {
                        "revision": plan.revision,
                        "created_at": plan.created_at,
                        "superseded_at": plan.superseded_at,
                        "content": plan.content,
                    }
                    for plan in sorted(treatment.plans.all(), key=lambda plan: plan.revision)
                ],
                "adjustments": [
                    {
                        "change": adjustment.describe(),
                        "reason": adjustment.reason,
                        "by": adjustment.created_by.get_full_name()
                        or adjustment.created_by.get_username(),
                        "at": adjustment.created_at,
                        "dropped_at": adjustment.dropped_at,
                    }
                    for adjustment in treatment.adjustments.all()
                ],
            }
            for treatment in treatments.order_by("performed_at", "id")
        ],
        "courses": [
            {
                "sessions": course.sessions,
                "weeks_between_sessions": [course.min_interval_weeks, course.max_interval_weeks],
                "starts_on": course.starts_on,
                "ended_at": course.ended_at,
            }
            for course in patient.courses.order_by("starts_on", "id")
        ],
        "emails": [
            {
                "label": reminder.label,
                "due_at": reminder.due_at,
                "status": reminder.status,
                "sent_at": reminder.sent_at,
                "last_error": reminder.last_error,
                "copies": [
                    {
                        "to": sent.to,
                        "subject": sent.subject,
                        "sent_at": sent.sent_at,
                        "text": sent.text_body,
                    }
                    for sent in reminder.sent_messages.all()
                ],
            }
            for reminder in reminders
        ],
        "links": [
            {
                "created_at": link.created_at,
                "expires_at": link.expires_at,
                "status": link.status_at(now),
            }
            for link in links
        ],
        "concern_reports": [
            {
                "created_at": report.created_at,
                "symptoms": report.symptom_labels(),
                "details": report.details,
                "urgent": report.is_red_flag,
                "has_photo": bool(report.photo),
                "handled_at": report.handled_at,
                "handling_note": report.handling_note,
            }
            for report in patient.concerns.order_by("created_at", "id")
        ],
    }


@dataclass(frozen=True)
class Erasure:
    reminders_cancelled: int
    emails_deleted: int
    links_deleted: int
    photos_deleted: int
    audit_entries_deleted: int


def _audited_objects(patient: Patient) -> list[tuple[type[Model], list[int]]]:
    return [
        (Patient, [patient.pk]),
        (Treatment, list(patient.treatments.values_list("pk", flat=True))),
        (
            AftercarePlan,
            list(
                AftercarePlan.objects.filter(treatment__patient=patient).values_list(
                    "pk", flat=True
                )
            ),
        ),
        (ConcernReport, list(patient.concerns.values_list("pk", flat=True))),
        (ConsentChange, list(patient.consent_changes.values_list("pk", flat=True))),
    ]


def _delete_audit_trail(patient: Patient) -> int:
    deleted = 0
    for model, pks in _audited_objects(patient):
        content_type = ContentType.objects.get_for_model(model)
        keys = [str(pk) for pk in pks]
        deleted += LogEntry.objects.filter(content_type=content_type, object_pk__in=keys).delete()[
            0
        ]
        deleted += AdminLogEntry.objects.filter(
            content_type=content_type, object_id__in=keys
        ).delete()[0]
    return deleted


@transaction.atomic
def patient_erase(*, patient: Patient, by: User, now: datetime) -> Erasure:
    """Remove or anonymise the patient's personal data and cancel their reminders."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    reminders = Reminder.objects.filter(patient=patient)
    cancelled = reminders.waiting().cancel(reason="patient erased")
    emails = SentMessage.objects.filter(reminder__patient=patient).delete()[0]
    links = PatientLink.objects.filter(plan__treatment__patient=patient).delete()[0]
    reports = patient.concerns.all()
    photos = [report.photo.name for report in reports if report.photo]
    audit_deleted = _delete_audit_trail(patient)

    with disable_auditlog():
        for report in reports:
            report.details = ERASED_TEXT if report.details or not report.symptoms else ""
            report.handling_note = ""
            report.photo = ""
            report.save(update_fields=["details", "handling_note", "photo"])
        patient.treatments.update(notes="", products_applied="")
        _erase_practitioner_text(patient, now)
        patient.consent_changes.all().delete()
        patient.first_name = ERASED_FIRST_NAME
        patient.last_name = ERASED_LAST_NAME
        patient.email = ""
        patient.phone = ""
        patient.date_of_birth = None
        patient.skin_type = None
        patient.email_consent = False
        patient.email_consent_at = None
        patient.text_consent = False
        patient.text_consent_at = None
        patient.phone_undeliverable_at = None
        patient.phone_undeliverable_reason = ""
        patient.breakout_prone = False
        patient.slow_healing = False
        patient.sensitive_skin = False
        patient.history_notes = ""
        patient.erased_at = now
        patient.save()

    erasure = Erasure(
        reminders_cancelled=cancelled,
        emails_deleted=emails,
        links_deleted=links,
        photos_deleted=len(photos),
        audit_entries_deleted=audit_deleted,
    )
    LogEntry.objects.log_create(
        patient,
        force_log=True,
        action=LogEntry.Action.DELETE,
        changes=None,
        object_repr=f"Erased patient #{patient.pk}",
        actor=by,
        additional_data={"erased_at": now.isoformat(), "erased_by": by.get_username()},
    )
    transaction.on_commit(lambda: _delete_photos(photos))
    return erasure


def _erase_practitioner_text(patient: Patient, now: datetime) -> None:
    """What practitioners wrote for this patient: notes, added reminders, reasons.

    The adjustments stay (with their kind, hours and dates) so the plan's history
    still counts them; their words go, in the plans' stored content too.
    """
    adjustments = PlanAdjustment.objects.filter(treatment__patient=patient)
    added = set(adjustments.filter(kind=AdjustmentKind.ADD_REMINDER).values_list("key", flat=True))
    adjustments.exclude(reason="").update(reason=ERASED_TEXT)
    adjustments.exclude(text="").update(text=ERASED_TEXT)
    adjustments.filter(kind=AdjustmentKind.ADD_REMINDER).update(label=ERASED_TEXT)
    Reminder.objects.filter(patient=patient).exclude(note="").update(note="")
    Reminder.objects.filter(patient=patient, kind__in=added).update(
        label=ERASED_TEXT, covers=ERASED_TEXT
    )
    for plan in AftercarePlan.objects.filter(treatment__patient=patient):
        content = plan.content
        content["note"] = ""
        for reminder in content.get("reminders", []):
            if reminder["key"] in added:
                reminder["label"] = ERASED_TEXT
                reminder["summary_md"] = ERASED_TEXT
        AftercarePlan.objects.filter(pk=plan.pk).update(content=content)
    patient.courses.active().update(ended_at=now)


def _delete_photos(names: list[str]) -> None:
    storage = ConcernReport._meta.get_field("photo").storage
    for name in names:
        storage.delete(name)
