"""Staff pages for a practitioner's hand on the plan, and for courses of sessions.

Only practitioners and clinic admins change clinical content (their roles hold
the permissions, clinic.roles); front desk gets 403. Every lookup is scoped to
the staff member's clinic.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from aftercare.models import (
    AftercarePlan,
    PlanAdjustment,
    Reminder,
    ReminderStatus,
    TreatmentCourse,
    length_label,
)
from aftercare.planner.adjustments import (
    ADD_REMINDER,
    NOTE,
    RESTRICTION,
    SKIP_REMINDER,
    Adjustment,
)
from aftercare.planner.courses import latest_step, visit_day, window_opens_within
from aftercare.planner.planning import Plan, PlannedReminder, PlannedRestriction, hours_after
from aftercare.plans import services
from aftercare.plans.access import course_for, plan_for
from aftercare.plans.adjust_forms import (
    AddReminderForm,
    CourseForm,
    NoteForm,
    RestrictionAdjustForm,
    SkipReminderForm,
)
from aftercare.plans.display import plan_context
from aftercare.plans.visits import course_facts, visit_days, visit_days_of, visit_plans
from clinic.access import StaffRequest, staff_required
from patients.access import patient_for
from patients.models import Treatment

COMING_DAYS = 7


@dataclass(frozen=True)
class RestrictionRow:
    """A restriction as the plan page lists it: lengths in days, for reading at a glance."""

    restriction: PlannedRestriction
    length: str
    guidance_length: str


@dataclass(frozen=True)
class ReminderRow:
    reminder: PlannedReminder
    sent: bool


def plan_rows(content: Plan, *, sent: frozenset[str] = frozenset()) -> dict[str, object]:
    """The plan page's two tables: restrictions, and reminders (each listed once)."""
    return {
        "restriction_rows": [
            RestrictionRow(
                restriction=restriction,
                length=length_label(restriction.hours),
                guidance_length=length_label(restriction.hours_by_guidance),
            )
            for restriction in content.restrictions
        ],
        "reminder_rows": [
            ReminderRow(reminder=reminder, sent=reminder.key in sent)
            for reminder in content.reminders
        ],
    }


def _adjustable(request: StaffRequest, pk: int) -> tuple[AftercarePlan, Plan]:
    plan = plan_for(request, pk)
    return plan, plan.content_plan


def _save(
    request: StaffRequest, plan: AftercarePlan, adjustment: Adjustment, reason: str, done: str
) -> HttpResponse:
    try:
        services.plan_adjust(plan=plan, adjustment=adjustment, reason=reason, user=request.user)
    except services.PlanNotCurrent:
        messages.error(request, "This plan has been replaced meanwhile: adjust the current one.")
    else:
        messages.success(request, done)
    return redirect("patients:treatment_detail", pk=plan.treatment_id)


def _not_current(request: HttpRequest, plan: AftercarePlan) -> HttpResponse | None:
    if plan.is_current:
        return None
    messages.error(request, "Only the plan the patient follows now can be adjusted.")
    return redirect("patients:treatment_detail", pk=plan.treatment_id)


def _form_page(
    request: HttpRequest, plan: AftercarePlan, form: object, heading: str, **extra: object
) -> HttpResponse:
    context = {"stored_plan": plan, "treatment": plan.treatment, "form": form, "heading": heading}
    context.update(extra)
    return render(request, "aftercare/adjust_form.html", context)


@staff_required(perms=["aftercare.add_planadjustment"])
@require_http_methods(["GET", "POST"])
def adjust_restriction(request: StaffRequest, pk: int, key: str) -> HttpResponse:
    plan, content = _adjustable(request, pk)
    restriction = next((r for r in content.restrictions if r.key == key), None)
    if restriction is None:
        raise Http404("No such restriction in this plan")
    if refused := _not_current(request, plan):
        return refused
    form = RestrictionAdjustForm(request.POST or None, restriction=restriction)
    # "Show the new date" posts the form to see when the typed length ends, without saving.
    if request.method == "POST" and form.is_valid() and "check" not in request.POST:
        hours = form.cleaned_data["hours"]
        adjustment = Adjustment(kind=RESTRICTION, key=key, hours=hours)
        ends = timezone.localtime(
            hours_after(content.performed_at, hours), ZoneInfo(content.timezone)
        )
        done = (
            f"{restriction.label}: now {length_label(hours)}, OK again from "
            f"{ends:%a} {ends.day} {ends:%b, %H:%M}. The patient's pages show it already."
        )
        return _save(request, plan, adjustment, form.cleaned_data["reason"], done)
    # The date next to the field: for the length typed (a bound form has been validated
    # above), else for the length set now.
    typed = form.cleaned_data.get("hours") if form.is_bound else restriction.hours
    heading = f"{restriction.label}: how long for this patient"
    return _form_page(
        request,
        plan,
        form,
        heading,
        restriction=restriction,
        length=length_label(restriction.hours),
        guidance_length=length_label(restriction.hours_by_guidance),
        typed_ends_at=hours_after(content.performed_at, typed) if typed else None,
        typed_length=length_label(typed) if typed else "",
    )


@staff_required(perms=["aftercare.add_planadjustment"])
@require_http_methods(["GET", "POST"])
def adjust_note(request: StaffRequest, pk: int) -> HttpResponse:
    plan, content = _adjustable(request, pk)
    if refused := _not_current(request, plan):
        return refused
    form = NoteForm(request.POST or None, initial={"text": content.note})
    if request.method == "POST" and form.is_valid():
        adjustment = Adjustment(kind=NOTE, text=form.cleaned_data["text"])
        return _save(request, plan, adjustment, form.cleaned_data["reason"], "Note saved.")
    return _form_page(request, plan, form, "Personal note for the patient")


@staff_required(perms=["aftercare.add_planadjustment"])
@require_http_methods(["GET", "POST"])
def adjust_skip_reminder(request: StaffRequest, pk: int, key: str) -> HttpResponse:
    plan, content = _adjustable(request, pk)
    reminder = next((r for r in content.reminders if r.key == key), None)
    if reminder is None:
        raise Http404("No such reminder in this plan")
    if refused := _not_current(request, plan):
        return refused
    form = SkipReminderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        adjustment = Adjustment(kind=SKIP_REMINDER, key=key)
        done = f"“{reminder.label}” will not be sent."
        return _save(request, plan, adjustment, form.cleaned_data["reason"], done)
    return _form_page(request, plan, form, f"Skip “{reminder.label}”", reminder=reminder)


@staff_required(perms=["aftercare.add_planadjustment"])
@require_http_methods(["GET", "POST"])
def adjust_add_reminder(request: StaffRequest, pk: int) -> HttpResponse:
    plan, content = _adjustable(request, pk)
    if refused := _not_current(request, plan):
        return refused
    today = max(content.day_number_at(timezone.now()), 0)
    form = AddReminderForm(
        request.POST or None, plan=content, today=today, initial={"day_number": today + 1}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        adjustment = Adjustment(
            kind=ADD_REMINDER,
            key=f"extra-{uuid.uuid4().hex[:12]}",
            day_number=data["day_number"],
            label=data["label"].strip(),
            text=data["text"].strip(),
        )
        done = f"“{adjustment.label}” will be sent on day {adjustment.day_number}."
        return _save(request, plan, adjustment, data["reason"], done)
    return _form_page(request, plan, form, "Add a reminder email")


@staff_required(perms=["aftercare.view_aftercareplan"])
def plan_revision(request: StaffRequest, pk: int) -> HttpResponse:
    """Any revision of a plan, as it was: earlier versions stay readable."""
    plan = plan_for(request, pk)
    content = plan.content_plan
    context: dict[str, object] = {"stored_plan": plan, "treatment": plan.treatment}
    context.update(plan_context(content))
    context.update(plan_rows(content))
    return render(request, "aftercare/plan_revision.html", context)


@staff_required(perms=["aftercare.add_treatmentcourse"])
@require_http_methods(["GET", "POST"])
def course_create(request: StaffRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    if patient.courses.active().exists():
        messages.error(request, "The patient is already on a course: end it first.")
        return redirect("patients:detail", pk=patient.pk)
    days = visit_days(patient, request.membership.clinic.timezone)
    form = CourseForm(
        request.POST or None, initial={"starts_on": days[-1] if days else timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        services.course_start(patient=patient, created_by=request.user, **form.cleaned_data)
        messages.success(request, "Course saved: the patient's plan shows the session number.")
        return redirect("patients:detail", pk=patient.pk)
    return render(request, "aftercare/course_form.html", {"patient": patient, "form": form})


@staff_required(perms=["aftercare.change_treatmentcourse"])
@require_POST
def course_end(request: StaffRequest, pk: int) -> HttpResponse:
    course = course_for(request, pk)
    if services.course_end(course=course, user=request.user):
        messages.success(request, "Course ended.")
    return redirect("patients:detail", pk=course.patient_id)


@staff_required(perms=["aftercare.view_treatmentcourse"])
def courses_due(request: StaffRequest) -> HttpResponse:
    """Patients whose next session's window opens in the coming week, or is open now."""
    clinic = request.membership.clinic
    today = visit_day(timezone.now(), clinic.timezone)
    opening, open_now = [], []
    courses = list(
        TreatmentCourse.objects.active()
        .filter(patient__clinic=clinic, patient__erased_at__isnull=True)
        .select_related("patient")
    )
    days = visit_days_of([course.patient_id for course in courses], clinic.timezone)
    for course in courses:
        step = latest_step(course_facts(course), days.get(course.patient_id, []))
        if step is None or step.next_window_opens is None or step.next_window_closes is None:
            continue
        row = (course.patient, step)
        if window_opens_within(step, today=today, days=COMING_DAYS):
            opening.append(row)
        elif step.next_window_opens < today <= step.next_window_closes:
            open_now.append(row)
    # Every step kept has its next window (the loop skips the others).
    opening.sort(key=lambda row: cast(date, row[1].next_window_opens))
    open_now.sort(key=lambda row: cast(date, row[1].next_window_closes))
    context = {
        "opening": opening,
        "open_now": open_now,
        "today": today,
        "until": today + timedelta(days=COMING_DAYS),
    }
    return render(request, "aftercare/courses_due.html", context)


def treatment_plan_context(request: HttpRequest, treatment: Treatment) -> dict[str, object]:
    """What the treatment page shows of its visit's plan: current revision, history, adjustments."""
    plans = visit_plans(treatment)
    current = next((plan for plan in plans if plan.is_current), None)
    shown = current or next((plan for plan in plans if plan.treatment_id == treatment.pk), None)
    context: dict[str, object] = {"plans": plans, "stored_plan": shown}
    if shown is None:
        return context
    content = shown.content_plan
    visit = [plan.treatment for plan in plans if plan.treatment_id != treatment.pk]
    sent = frozenset(
        Reminder.objects.filter(
            plan__treatment_id__in=[plan.treatment_id for plan in plans],
            status=ReminderStatus.SENT,
        ).values_list("kind", flat=True)
    )
    context.update(plan_context(content))
    context.update(plan_rows(content, sent=sent))
    context.update(
        {
            "can_adjust": request.user.has_perm("aftercare.add_planadjustment")
            and shown.is_current,
            "visit_others": sorted(set(visit), key=lambda other: other.performed_at),
            "adjustments": PlanAdjustment.objects.filter(
                treatment_id__in={plan.treatment_id for plan in plans}
            ).select_related("created_by", "dropped_by", "plan"),
        }
    )
    return context
