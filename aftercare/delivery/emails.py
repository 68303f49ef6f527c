"""Rendering one reminder email: subject, plain text and HTML from templates."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from aftercare.guidance.markdown import render_markdown
from aftercare.models import Reminder
from aftercare.planner.planning import Plan, utc
from aftercare.planner.today import POINTS_IN_AN_EMAIL, today_points
from clinic.contacts import who_to_call

TOKEN_MASK = "[patient link]"
# The guidance's reminder moment about booking the next session (default_guidance.py).
REBOOKING_KIND = "rebooking"


@dataclass(frozen=True)
class RenderedEmail:
    message: EmailMultiAlternatives
    text: str
    html: str


def reminder_email(
    reminder: Reminder, *, plan: Plan, plan_url: str, unsubscribe_url: str
) -> RenderedEmail:
    clinic = reminder.plan.treatment.clinic
    patient = reminder.patient
    context = {
        "reminder": reminder,
        "covers_html": render_markdown(reminder.covers),
        "plan": plan,
        # The day's few points, as Today shows them at the moment the email is due.
        "points": today_points(plan, reminder.due_at, limit=POINTS_IN_AN_EMAIL),
        "restrictions": sorted(
            plan.restrictions_active_at(reminder.due_at), key=lambda r: (utc(r.ends_at), r.label)
        ),
        "warnings": plan.warnings_on_day_of(reminder.due_at),
        "clinic": clinic,
        # Read at a time nobody knows: both numbers, with the opening hours.
        "who_to_call": who_to_call(clinic=clinic, at=None),
        "first_name": patient.first_name,
        "plan_url": plan_url,
        "unsubscribe_url": unsubscribe_url,
        "course": plan.course if reminder.kind == REBOOKING_KIND else None,
    }
    # No clinical detail in the subject: it shows on lock screens and in mail logs.
    subject = render_to_string("emails/reminder_subject.txt", context).strip()
    text = render_to_string("emails/reminder.txt", context)
    html = render_to_string("emails/reminder.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=formataddr((clinic.sender_name, settings.DEFAULT_FROM_EMAIL)),
        to=[patient.email],
        reply_to=[clinic.email],
        headers={
            "Message-ID": reminder.message_id,
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return RenderedEmail(message=message, text=text, html=html)


def masked(text: str, token: str) -> str:
    return text.replace(token, TOKEN_MASK)
