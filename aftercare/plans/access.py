"""The one way a staff page loads each aftercare object: of the user's clinic, else 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from aftercare.models import AftercarePlan, ConcernReport, Reminder, SentMessage, TreatmentCourse
from clinic.access import StaffRequest


def plan_for(request: StaffRequest, pk: int) -> AftercarePlan:
    return get_object_or_404(
        AftercarePlan.objects.select_related("treatment__patient", "treatment__clinic"),
        pk=pk,
        treatment__clinic=request.membership.clinic,
    )


def reminder_for(request: StaffRequest, pk: int) -> Reminder:
    return get_object_or_404(Reminder, pk=pk, patient__clinic=request.membership.clinic)


def sent_message_for(request: StaffRequest, pk: int) -> SentMessage:
    return get_object_or_404(
        SentMessage.objects.select_related("reminder__patient"),
        pk=pk,
        reminder__patient__clinic=request.membership.clinic,
    )


def concern_for(request: StaffRequest, pk: int) -> ConcernReport:
    return get_object_or_404(
        ConcernReport.objects.select_related("patient", "handled_by"),
        pk=pk,
        clinic=request.membership.clinic,
    )


def course_for(request: StaffRequest, pk: int) -> TreatmentCourse:
    return get_object_or_404(
        TreatmentCourse.objects.select_related("patient"),
        pk=pk,
        patient__clinic=request.membership.clinic,
    )
