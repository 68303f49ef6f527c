"""Patients' "something not right?" reports: storing them and alerting the clinic."""

from __future__ import annotations

import io
import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from PIL import Image, ImageOps

from aftercare.models import RED_FLAG_SYMPTOMS, ConcernReport, PatientLink

logger = logging.getLogger(__name__)
PHOTO_MAX_SIDE = 2000


def clean_photo(upload: UploadedFile) -> ContentFile:
    """Re-encode an uploaded photo as JPEG: drops EXIF (location, device) and anything
    that is not pixels, and bounds its size."""
    with Image.open(upload) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
    return ContentFile(buffer.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


@transaction.atomic
def concern_report_create(
    *,
    link: PatientLink,
    symptoms: list[str],
    details: str,
    photo: UploadedFile | None,
    now: datetime,
) -> ConcernReport:
    treatment = link.plan.treatment
    report = ConcernReport(
        plan=link.plan,
        patient=treatment.patient,
        clinic=treatment.clinic,
        symptoms=symptoms,
        details=details,
        is_red_flag=bool(set(symptoms) & RED_FLAG_SYMPTOMS),
        created_at=now,
    )
    if photo is not None:
        report.photo = clean_photo(photo)
    report.save()
    transaction.on_commit(lambda: _queue_alert(report.pk))
    return report


def concern_alert_send(report_id: int) -> None:
    """Email the clinic and its staff that a report came in. No health detail in it:
    the message points to the staff page, behind login."""
    report = ConcernReport.objects.select_related("clinic").get(pk=report_id)
    clinic = report.clinic
    staff_emails = (
        get_user_model()
        .objects.filter(membership__clinic=clinic, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    recipients = sorted({clinic.email, *staff_emails})
    url = settings.SITE_URL + reverse("aftercare:concern_detail", args=[report.pk])
    urgency = "marked as URGENT (possible warning sign)" if report.is_red_flag else "not urgent"
    EmailMessage(
        subject="New patient report" + (" (urgent)" if report.is_red_flag else ""),
        body=(
            f"A patient sent a report through their aftercare page. It is {urgency}.\n\n"
            f"Open it (staff login needed): {url}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    ).send()


def concern_mark_handled(*, report: ConcernReport, user: object, note: str, now: datetime) -> bool:
    updated = ConcernReport.objects.filter(pk=report.pk, handled_at__isnull=True).update(
        handled_at=now, handled_by=user, handling_note=note
    )
    return updated == 1


def _queue_alert(report_id: int) -> None:
    from aftercare.tasks import send_concern_alert

    try:
        send_concern_alert.delay(report_id)
    except Exception:  # noqa: BLE001 - with no broker, send it from here instead
        logger.warning("could not queue the alert for report %s; sending inline", report_id)
        try:
            concern_alert_send(report_id)
        except Exception:  # noqa: BLE001 - the report is stored and listed for staff anyway
            logger.exception("could not send the alert for report %s", report_id)
