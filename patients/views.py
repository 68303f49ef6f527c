from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from aftercare.display import plan_context
from aftercare.models import PatientLink
from aftercare.planning import plan_from_dict
from clinic.access import staff_required
from patients.forms import PatientForm, TreatmentForm
from patients.models import Patient, Treatment
from patients.services import patient_create, patient_update, treatment_create

PATIENTS_PER_PAGE = 25


def _get_patient(request: HttpRequest, pk: int) -> Patient:
    return get_object_or_404(Patient, pk=pk, clinic=request.membership.clinic)


def _get_treatment(request: HttpRequest, pk: int) -> Treatment:
    return get_object_or_404(
        Treatment.objects.select_related("patient", "practitioner"),
        pk=pk,
        clinic=request.membership.clinic,
    )


@staff_required
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    patients = Patient.objects.filter(clinic=request.membership.clinic)
    if query:
        patients = patients.search(query)
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "patients/patient_list.html", {"page": page, "query": query})


@staff_required
def patient_create_view(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = patient_create(clinic=request.membership.clinic, patient=form.instance)
        messages.success(request, f"{patient.full_name} was added.")
        return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": None})


@staff_required
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _get_patient(request, pk)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        patient_update(patient=form.instance)
        messages.success(request, "Patient details saved.")
        return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@staff_required
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _get_patient(request, pk)
    treatments = patient.treatments.select_related("practitioner")
    reminders = patient.reminders.prefetch_related("sent_messages").order_by("due_at", "id")
    links = PatientLink.objects.filter(plan__treatment__patient=patient).order_by("-created_at")
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "treatments": treatments,
            "reminders": reminders,
            "links": links[:5],
            "now": timezone.now(),
        },
    )


@staff_required
def treatment_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _get_patient(request, pk)
    initial = {"performed_at": timezone.localtime().replace(second=0, microsecond=0)}
    if request.membership.can_treat:
        initial["practitioner"] = request.user.pk
    form = TreatmentForm(request.POST or None, clinic=request.membership.clinic, initial=initial)
    if request.method == "POST" and form.is_valid():
        treatment = treatment_create(
            patient=patient,
            practitioner=form.cleaned_data["practitioner"],
            treatment=form.instance,
        )
        messages.success(request, "Treatment recorded.")
        return redirect("patients:treatment_detail", pk=treatment.pk)
    return render(request, "patients/treatment_form.html", {"form": form, "patient": patient})


@staff_required
def treatment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    treatment = _get_treatment(request, pk)
    plans = list(treatment.plans.select_related("created_by").order_by("-revision"))
    context = {"treatment": treatment, "plans": plans, "stored_plan": plans[0] if plans else None}
    if plans:
        context.update(plan_context(plan_from_dict(plans[0].content)))
    return render(request, "patients/treatment_detail.html", context)
