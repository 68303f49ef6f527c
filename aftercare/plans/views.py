from __future__ import annotations

import hashlib
from base64 import b64encode
from html.parser import HTMLParser

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from aftercare.concerns import services as concerns
from aftercare.concerns.forms import HandleConcernForm
from aftercare.delivery import reminders
from aftercare.links import links_revoke
from aftercare.models import ConcernReport, SentMessage
from aftercare.plans.access import (
    concern_for,
    plan_for,
    reminder_for,
    sent_message_for,
)
from aftercare.plans.display import plan_context, sheet_periods
from aftercare.plans.services import plan_create
from aftercare.plans.today import EARLY_RECOVERY, dashboard_for
from clinic.access import StaffRequest, staff_required
from clinic.contacts import who_to_call
from patients.access import patient_for, treatment_for
from patients.models import Channel

OPEN_REPORTS_SHOWN = 50


@staff_required(perms=["aftercare.add_aftercareplan"])
@require_POST
def plan_regenerate(request: StaffRequest, pk: int) -> HttpResponse:
    treatment = treatment_for(request, pk)
    # Dropping a practitioner's adjustments is itself a clinical change.
    drop = bool(request.POST.get("drop_adjustments")) and request.user.has_perm(
        "aftercare.add_planadjustment"
    )
    plan = plan_create(treatment=treatment, created_by=request.user, drop_adjustments=drop)
    kept = "the changes made for this patient dropped" if drop else "changes for this patient kept"
    messages.success(
        request,
        f"Plan regenerated from the current guidance (revision {plan.revision}, {kept}).",
    )
    return redirect("patients:treatment_detail", pk=treatment.pk)


@staff_required(perms=["aftercare.view_aftercareplan"])
def plan_sheet(request: StaffRequest, pk: int) -> HttpResponse:
    """The one-page instruction sheet staff print and hand to the patient."""
    plan = plan_for(request, pk)
    clinic = plan.treatment.clinic
    context: dict[str, object] = {
        "stored_plan": plan,
        "clinic": clinic,
        "patient": plan.treatment.patient,
        # Read at a time nobody knows: both numbers, with the opening hours.
        "who_to_call": who_to_call(clinic=clinic, at=None),
    }
    context.update(plan_context(plan.content_plan))
    context["sheet_periods"] = sheet_periods(plan.content_plan)
    return render(request, "aftercare/plan_sheet.html", context)


@staff_required(perms=["aftercare.change_reminder"])
@require_POST
def reminder_resend(request: StaffRequest, pk: int) -> HttpResponse:
    reminder = reminder_for(request, pk)
    if reminders.reminder_resend(reminder=reminder):
        messages.success(request, f"“{reminder.label}” will be sent again within a minute.")
    else:
        messages.error(request, "Only a failed reminder can be sent again.")
    return redirect("patients:detail", pk=reminder.patient_id)


@staff_required(perms=["aftercare.change_reminder"])
@require_POST
def patient_reminders_stop(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    stopped = reminders.reminders_stop_for_patient(
        patient=patient, reason="stopped by staff", by=request.user
    )
    messages.success(
        request,
        f"Reminders stopped ({stopped} cancelled). The patient's consent to emails and texts "
        "is withdrawn; if they want them again, record their agreement on this page.",
    )
    return redirect("patients:detail", pk=patient.pk)


class _StyleAttributes(HTMLParser):
    """Collects the values of every style="" attribute of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.values: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.values.update(value for name, value in attrs if name == "style" and value)


def style_attribute_hashes(html: str) -> list[str]:
    """CSP sources that allow exactly the style="" attributes of `html`, and no others."""
    parser = _StyleAttributes()
    parser.feed(html)
    parser.close()
    return sorted(
        f"'sha256-{b64encode(hashlib.sha256(value.encode()).digest()).decode()}'"
        for value in parser.values
    )


def _header_rows(sent: SentMessage) -> list[tuple[str, str]]:
    """The email's headers once each, Message-ID first, without the angle brackets."""
    headers = {"Message-ID": sent.message_id}
    headers.update((name, value) for name, value in sent.headers.items() if name != "Message-ID")
    return [
        (name, value.strip().removeprefix("<").removesuffix(">")) for name, value in headers.items()
    ]


@staff_required(perms=["aftercare.view_sentmessage"])
def sent_message_detail(request: StaffRequest, pk: int) -> HttpResponse:
    sent = sent_message_for(request, pk)
    is_text = sent.reminder.channel == Channel.TEXT
    context = {
        "sent": sent,
        "is_text": is_text,
        "header_rows": _header_rows(sent),
        # A text's story is the network's reports (an email's is on the timeline).
        "events": list(sent.delivery_events.order_by("occurred_at", "id")) if is_text else [],
    }
    response = render(request, "aftercare/sent_message.html", context)
    # The HTML part is shown as the patient's mail app showed it, in an <iframe srcdoc>
    # sandboxed without scripts; such a frame takes this page's Content-Security-Policy.
    # Emails style with style="" attributes: allow exactly this email's, by their hashes.
    # (django-csp's own csp_update decorator sets the same attribute, for a fixed policy.)
    hashes = style_attribute_hashes(sent.html_body)
    if hashes:
        response._csp_update = {"style-src-attr": ["'unsafe-hashes'", *hashes]}  # type: ignore[attr-defined]
    return response


@staff_required(perms=["aftercare.view_concernreport"])
def concern_list(request: StaffRequest) -> HttpResponse:
    reports = ConcernReport.objects.filter(clinic=request.membership.clinic).select_related(
        "patient"
    )
    open_reports = reports.filter(handled_at__isnull=True)
    context = {
        # Red flags first, then the newest: the ones to call about before any other.
        "open_reports": open_reports.order_by("-is_red_flag", "-created_at")[:OPEN_REPORTS_SHOWN],
        "open_count": open_reports.count(),
        "handled_reports": reports.filter(handled_at__isnull=False).order_by("-handled_at")[:20],
    }
    return render(request, "aftercare/concern_list.html", context)


@staff_required(perms=["aftercare.change_concernreport"])
@require_http_methods(["GET", "POST"])
def concern_detail(request: StaffRequest, pk: int) -> HttpResponse:
    report = concern_for(request, pk)
    form = HandleConcernForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if concerns.concern_mark_handled(
            report=report, user=request.user, note=form.cleaned_data["note"], now=timezone.now()
        ):
            messages.success(request, "Report marked as handled.")
        else:
            messages.info(request, "Someone had already marked this report as handled.")
        return redirect("aftercare:concern_list")
    return render(request, "aftercare/concern_detail.html", {"report": report, "form": form})


@staff_required(perms=["aftercare.view_concernreport"])
def concern_photo(request: StaffRequest, pk: int) -> FileResponse:
    report = concern_for(request, pk)
    if not report.photo:
        raise Http404("No photo")
    response = FileResponse(report.photo.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    return response


@staff_required(perms=["aftercare.change_patientlink"])
@require_POST
def patient_links_revoke(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    revoked = links_revoke(patient_id=patient.pk, now=timezone.now())
    messages.success(
        request, f"{revoked} link(s) revoked: they now show a 'link does not work' page."
    )
    return redirect("patients:detail", pk=patient.pk)


@staff_required(perms=["aftercare.change_patientlink"])
@require_POST
def patient_link_reissue(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    if reminders.link_reissue(patient=patient, now=timezone.now()) is None:
        messages.error(
            request,
            "No new link was sent: the patient needs a current plan, and an email address "
            "or mobile number they agreed to reminders at.",
        )
    else:
        messages.success(request, "Earlier links revoked; a new link is on its way.")
    return redirect("patients:detail", pk=patient.pk)


@staff_required(perms=["patients.view_patient"])
def today(request: StaffRequest) -> HttpResponse:
    """Staff Today, the page after login: the day's work for the user's clinic."""
    now = timezone.now()
    board = dashboard_for(clinic=request.membership.clinic, now=now)
    return render(
        request,
        "aftercare/today.html",
        {"board": board, "now": now, "early_hours": int(EARLY_RECOVERY.total_seconds() // 3600)},
    )
