from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from aftercare import reminders
from aftercare.display import plan_context
from aftercare.models import AftercarePlan, Reminder, SentMessage
from aftercare.planning import plan_from_dict
from aftercare.services import plan_create
from clinic.access import staff_required
from patients.models import Patient, Treatment


def _get_treatment(request: HttpRequest, pk: int) -> Treatment:
    return get_object_or_404(
        Treatment.objects.select_related("patient", "clinic"),
        pk=pk,
        clinic=request.membership.clinic,
    )


@staff_required
@require_POST
def plan_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    treatment = _get_treatment(request, pk)
    plan = plan_create(treatment=treatment, created_by=request.user)
    messages.success(
        request, f"Plan regenerated from the current guidance (revision {plan.revision})."
    )
    return redirect("patients:treatment_detail", pk=treatment.pk)


@staff_required
def plan_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The one-page instruction sheet staff print and hand to the patient."""
    plan = get_object_or_404(
        AftercarePlan.objects.select_related("treatment__patient", "treatment__clinic"),
        pk=pk,
        treatment__clinic=request.membership.clinic,
    )
    context = {
        "stored_plan": plan,
        "clinic": plan.treatment.clinic,
        "patient": plan.treatment.patient,
    }
    context.update(plan_context(plan_from_dict(plan.content)))
    return render(request, "aftercare/plan_sheet.html", context)


@staff_required
@require_POST
def reminder_resend(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = get_object_or_404(Reminder, pk=pk, patient__clinic=request.membership.clinic)
    if reminders.reminder_resend(reminder=reminder):
        messages.success(request, f"“{reminder.label}” will be sent again within a minute.")
    else:
        messages.error(request, "Only a failed reminder can be sent again.")
    return redirect("patients:detail", pk=reminder.patient_id)


@staff_required
@require_POST
def patient_reminders_stop(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk, clinic=request.membership.clinic)
    stopped = reminders.reminders_stop_for_patient(patient=patient, reason="stopped by staff")
    messages.success(
        request,
        f"Reminders stopped ({stopped} cancelled). The patient's email consent is withdrawn; "
        "edit their details to turn reminders back on.",
    )
    return redirect("patients:detail", pk=patient.pk)


@staff_required
def sent_message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sent = get_object_or_404(
        SentMessage.objects.select_related("reminder__patient"),
        pk=pk,
        reminder__patient__clinic=request.membership.clinic,
    )
    return render(request, "aftercare/sent_message.html", {"sent": sent})
