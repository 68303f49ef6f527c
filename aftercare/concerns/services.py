"""Patients' "something not right?" reports: storing them and queueing the clinic's alert."""

from __future__ import annotations

import io
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from PIL import Image, ImageOps

from aftercare.concerns.alerts import concern_alert_send
from aftercare.concerns.tasks import send_concern_alert
from aftercare.models import (
    SYMPTOM_RULES,
    AftercarePlan,
    ConcernReport,
    PatientLink,
    Symptom,
    expected_symptoms,
    red_flags,
)

logger = logging.getLogger(__name__)
PHOTO_MAX_SIDE = 2000
PHOTO_TOO_MANY_PIXELS = (
    "This photo is too large to process (%(megapixels)s megapixels). "
    "Please send a smaller photo or a screenshot."
)
# Pillow refuses to open an image over twice Image.MAX_IMAGE_PIXELS before we see its size.
PHOTO_FAR_TOO_MANY_PIXELS = (
    "This photo is too large to process. Please send a smaller photo or a screenshot."
)
PHOTO_UNREADABLE = "We could not read this photo. Please send a JPEG or PNG photo, or a screenshot."


class PhotoRefused(ValueError):
    """An upload that cannot become a stored photo. Message, code and params are written
    for the patient, so a form can show them as they are."""

    def __init__(self, message: str, *, code: str, params: dict[str, object] | None = None):
        self.message, self.code, self.params = message, code, params or {}
        super().__init__(message % self.params)


class CleanPhoto(ContentFile[bytes]):
    """A photo clean_photo made: a JPEG of the pixels alone, ready to store."""


def clean_photo(upload: File[bytes]) -> CleanPhoto:
    """Re-encode an uploaded photo as a JPEG built from its pixels alone: no EXIF (location,
    device), ICC profile, XMP, comment or PNG text survives, and its size is bounded.

    The pixel count is checked from the header before anything is decoded: a small file
    can declare a huge image (12 KB of PNG for 10000x10000 pixels, 700 MB once decoded).
    Raises PhotoRefused for an image too large or one that cannot be read. A CleanPhoto
    (the report form already made it) is returned as it is.
    """
    if isinstance(upload, CleanPhoto):
        return upload
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            _check_pixel_count(image.size)
            # A JPEG can be decoded at 1/2, 1/4 or 1/8 scale: far less memory when it is
            # shrunk below anyway.
            image.draft(None, (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            ImageOps.exif_transpose(image, in_place=True)
            pixels = image.convert("RGB")
    except PhotoRefused:
        raise
    except Image.DecompressionBombError as error:
        raise PhotoRefused(PHOTO_FAR_TOO_MANY_PIXELS, code="too_many_pixels") from error
    except Exception as error:  # noqa: BLE001 - Pillow's decoders fail in many ways on bad files
        logger.info("could not read an uploaded photo: %r", error)
        raise PhotoRefused(PHOTO_UNREADABLE, code="unreadable") from error
    pixels.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    # A new image carries no `info` from the upload: Pillow's JPEG writer would otherwise
    # copy a comment (a JPEG COM segment, or a PNG text chunk named "comment") across.
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    buffer = io.BytesIO()
    clean.save(buffer, format="JPEG", quality=85)
    return CleanPhoto(buffer.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


def _check_pixel_count(size: tuple[int, int]) -> None:
    width, height = size
    limit = settings.CONCERN_PHOTO_MAX_MEGAPIXELS
    if width * height > limit * 1_000_000:
        megapixels = format(round(width * height / 1_000_000, 1), "g")  # 1.2, 100
        raise PhotoRefused(
            PHOTO_TOO_MANY_PIXELS, code="too_many_pixels", params={"megapixels": megapixels}
        )


def hours_since_treatment(*, plan: AftercarePlan, moment: datetime) -> float:
    """Hours from the treatment the plan is for (its performed_at) to `moment`."""
    return (moment - plan.content_plan.performed_at).total_seconds() / 3600


@dataclass(frozen=True)
class ExpectedSymptom:
    label: str
    warning_after_days: int  # from then on it is a warning sign


def concern_expected_symptoms(*, report: ConcernReport) -> list[ExpectedSymptom]:
    """The report's symptoms that the plan calls normal when it was sent, but that would
    be warning signs later (redness on day 1), with the day from which they would be."""
    hours = hours_since_treatment(plan=report.plan, moment=report.created_at)
    expected = expected_symptoms(report.symptoms, hours_since_treatment=hours)
    labels = dict(Symptom.choices)
    return [
        ExpectedSymptom(
            label=labels[symptom],
            warning_after_days=math.ceil((SYMPTOM_RULES[symptom].warning_from_hours or 0) / 24),
        )
        for symptom in report.symptoms
        if symptom in expected
    ]


@transaction.atomic
def concern_report_create(
    *,
    link: PatientLink,
    symptoms: list[str],
    details: str,
    photo: File[bytes] | None,
    now: datetime,
) -> ConcernReport:
    """Store the patient's report and queue the clinic's alert. A report is a red flag
    when a symptom is a warning sign at this hour after the treatment (aftercare.models
    SYMPTOM_RULES), a severe allergic reaction included; staff see red flags first."""
    treatment = link.plan.treatment
    hours = hours_since_treatment(plan=link.plan, moment=now)
    report = ConcernReport(
        plan=link.plan,
        patient=treatment.patient,
        clinic=treatment.clinic,
        symptoms=symptoms,
        details=details,
        is_red_flag=bool(red_flags(symptoms, hours_since_treatment=hours)),
        created_at=now,
    )
    if photo is not None:
        report.photo = clean_photo(photo)
    report.save()
    transaction.on_commit(lambda: _queue_alert(report.pk))
    return report


def concern_mark_handled(*, report: ConcernReport, user: object, note: str, now: datetime) -> bool:
    updated = ConcernReport.objects.filter(pk=report.pk, handled_at__isnull=True).update(
        handled_at=now, handled_by=user, handling_note=note
    )
    return updated == 1


def _queue_alert(report_id: int) -> None:
    try:
        send_concern_alert.delay(report_id)
    except Exception:  # noqa: BLE001 - with no broker, send it from here instead
        logger.warning("could not queue the alert for report %s; sending inline", report_id)
        try:
            concern_alert_send(report_id)
        except Exception:  # noqa: BLE001 - the report is stored and listed for staff anyway
            logger.exception("could not send the alert for report %s", report_id)
