"""One patient's whole record: the timeline, a copy of everything, and erasure."""

from __future__ import annotations

import json

from auditlog.models import LogEntry
from django import forms
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from aftercare.models import PatientLink
from clinic.access import StaffRequest, staff_required
from patients.access import patient_for
from patients.audit import patient_record_viewed
from patients.data_rights import patient_erase, patient_export
from patients.timeline import timeline_events

AUDIT_ENTRIES_SHOWN = 50


@staff_required(perms=["patients.view_patient"])
def patient_timeline(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    now = timezone.now()
    links = PatientLink.objects.filter(plan__treatment__patient=patient).order_by("-created_at")
    context = {
        "patient": patient,
        "events": timeline_events(patient=patient, now=now),
        "links": [(link, link.status_at(now)) for link in links[:10]],
        "open_reports": patient.concerns.filter(handled_at__isnull=True).count(),
    }
    if request.user.has_perm("patients.view_audit_trail"):
        context["audit_entries"] = LogEntry.objects.get_for_object(patient).select_related("actor")[
            :AUDIT_ENTRIES_SHOWN
        ]
    patient_record_viewed(patient=patient, page="timeline")
    return render(request, "patients/patient_timeline.html", context)


@staff_required(perms=["patients.export_patient"])
def patient_export_json(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    data = patient_export(patient=patient, now=timezone.now())
    patient_record_viewed(patient=patient, page="export-json")
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    # The file name carries the record number only: no name in URLs, logs or downloads lists.
    response["Content-Disposition"] = f'attachment; filename="patient-{patient.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


@staff_required(perms=["patients.export_patient"])
def patient_export_html(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    data = patient_export(patient=patient, now=timezone.now())
    patient_record_viewed(patient=patient, page="export-html")
    response = render(request, "patients/patient_export.html", {"patient": patient, "data": data})
    response["Cache-Control"] = "no-store"
    return response


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that this removes the patient's personal data for good",
        error_messages={"required": "Tick the box to confirm the erasure."},
    )


@staff_required(perms=["patients.erase_patient"])
@require_http_methods(["GET", "POST"])
def patient_erase_view(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        erasure = patient_erase(patient=patient, by=request.user, now=timezone.now())
        messages.success(
            request,
            f"Patient #{patient.pk} erased: personal data removed, "
            f"{erasure.reminders_cancelled} reminder(s) cancelled.",
        )
        return redirect("patients:list")
    return render(request, "patients/patient_erase.html", {"patient": patient, "form": form})
