from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from aftercare.models import PatientLink
from aftercare.plans.adjust_views import treatment_plan_context
from aftercare.plans.visits import active_course
from clinic.access import StaffRequest, staff_required
from patients.access import patient_for, treatment_for
from patients.audit import patient_record_viewed
from patients.forms import ConsentRenewForm, PatientForm, PatientSearchForm, TreatmentForm
from patients.models import Patient
from patients.services import (
    patient_consent_renew,
    patient_create,
    patient_update,
    treatment_create,
)

PATIENTS_PER_PAGE = 25


def _may_edit_clinical(request: HttpRequest) -> bool:
    return request.user.has_perm("patients.change_clinical_details")


@staff_required(perms=["patients.view_patient"])
def patient_list(request: StaffRequest) -> HttpResponse:
    search = PatientSearchForm(request.GET)
    if not search.is_valid():
        # A search no record could match (or PostgreSQL could not run): say why, list nothing.
        context: dict[str, object] = {"search": search, "page": None, "query": ""}
        return render(request, "patients/patient_list.html", context, status=400)
    query = search.cleaned_data["q"]
    patients = Patient.objects.filter(clinic=request.membership.clinic, erased_at__isnull=True)
    if query:
        patients = patients.search(query, region=request.membership.clinic.country_code)
    # get_page() turns a missing, non-numeric or out-of-range page number into a real page.
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"search": search, "page": page, "query": query}
    return render(request, "patients/patient_list.html", context)


@staff_required(perms=["patients.add_patient"])
def patient_create_view(request: StaffRequest) -> HttpResponse:
    form = PatientForm(
        request.POST or None,
        clinic=request.membership.clinic,
        clinical=_may_edit_clinical(request),
    )
    if request.method == "POST" and form.is_valid():
        patient = patient_create(
            clinic=request.membership.clinic, patient=form.instance, by=request.user
        )
        messages.success(request, f"{patient.full_name} was added.")
        return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": None})


@staff_required(perms=["patients.change_patient"])
def patient_edit(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    form = PatientForm(
        request.POST or None,
        instance=patient,
        clinic=request.membership.clinic,
        clinical=_may_edit_clinical(request),
    )
    if request.method == "POST" and form.is_valid():
        patient_update(patient=form.instance, by=request.user)
        messages.success(request, "Patient details saved.")
        return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@staff_required(perms=["patients.view_patient"])
def patient_detail(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    treatments = patient.treatments.select_related("practitioner")
    reminders = patient.reminders.prefetch_related("sent_messages").order_by("due_at", "id")
    links = PatientLink.objects.filter(plan__treatment__patient=patient).order_by("-created_at")
    now = timezone.now()
    patient_record_viewed(patient=patient, page="patient")
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "treatments": treatments,
            "reminders": reminders,
            "links": [(link, link.status_at(now)) for link in links[:5]],
            "course": active_course(patient),
            "now": now,
        },
    )


@staff_required(perms=["patients.add_treatment"])
def treatment_create_view(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    if patient.skin_type is None:
        messages.error(request, "Record the patient's skin type before logging a treatment.")
        return redirect("patients:edit", pk=patient.pk)
    initial: dict[str, object] = {
        "performed_at": timezone.localtime().replace(second=0, microsecond=0)
    }
    if request.membership.can_treat:
        initial["practitioner"] = request.user.pk
    form = TreatmentForm(
        request.POST or None, clinic=request.membership.clinic, patient=patient, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        treatment = treatment_create(
            patient=patient,
            practitioner=form.cleaned_data["practitioner"],
            treatment=form.instance,
        )
        messages.success(request, "Treatment recorded.")
        return redirect("patients:treatment_detail", pk=treatment.pk)
    return render(request, "patients/treatment_form.html", {"form": form, "patient": patient})


@staff_required(perms=["patients.change_patient"])
@require_http_methods(["GET", "POST"])
def patient_consent_renew_view(request: StaffRequest, pk: int) -> HttpResponse:
    """Record that a patient who stopped reminder emails agrees to them again."""
    patient = patient_for(request, pk)
    if not patient.email:
        messages.error(request, "Add the patient's email address first.")
        return redirect("patients:edit", pk=patient.pk)
    if patient.email_consent:
        messages.info(request, "The patient already agrees to reminder emails.")
        return redirect("patients:detail", pk=patient.pk)
    form = ConsentRenewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        waiting = patient_consent_renew(
            patient=patient, note=form.cleaned_data["note"], by=request.user
        )
        messages.success(
            request,
            f"Agreement recorded: {waiting} reminder(s) still to come will be sent. "
            "You can email the patient a new link.",
        )
        return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/consent_form.html", {"patient": patient, "form": form})


@staff_required(perms=["patients.view_treatment"])
def treatment_detail(request: StaffRequest, pk: int) -> HttpResponse:
    treatment = treatment_for(request, pk)
    patient_record_viewed(patient=treatment.patient, page="treatment")
    context = {"treatment": treatment, **treatment_plan_context(request, treatment)}
    return render(request, "patients/treatment_detail.html", context)
