"""The email that tells a clinic a patient report came in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.urls import reverse

from aftercare.models import ConcernReport


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
