"""Reads shared by services and views: a patient's visits, plan revisions and courses."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aftercare.models import AftercarePlan, TreatmentCourse
from aftercare.planner.courses import CourseFacts, visit_day
from patients.models import Patient, Treatment

MAX_REVISIONS_FOLLOWED = 100


def visit_treatments(treatment: Treatment) -> list[Treatment]:
    """The patient's treatments on the same local day as `treatment`: one visit, one plan."""
    zone = ZoneInfo(treatment.clinic.timezone)
    day = visit_day(treatment.performed_at, treatment.clinic.timezone)
    starts = datetime.combine(day, time(0), tzinfo=zone)
    ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return list(
        Treatment.objects.select_related("patient", "clinic")
        .filter(patient_id=treatment.patient_id, performed_at__gte=starts, performed_at__lt=ends)
        .order_by("performed_at", "id")
    )


def same_visit(one: Treatment, other: Treatment) -> bool:
    timezone = one.clinic.timezone
    return one.patient_id == other.patient_id and visit_day(
        one.performed_at, timezone
    ) == visit_day(other.performed_at, timezone)


def followed_plan(plan: AftercarePlan) -> AftercarePlan:
    """The revision of this visit's plan the patient follows now.

    An adjustment, a regeneration or a second treatment the same day each make a
    new plan that supersedes this one; a link emailed earlier must show the new one
    at once. A plan for a later visit is not followed: that visit has its own emails.
    """
    for _ in range(MAX_REVISIONS_FOLLOWED):
        if plan.superseded_by_id is None:
            break
        successor = (
            AftercarePlan.objects.select_related("treatment__clinic")
            .defer("content")
            .get(pk=plan.superseded_by_id)
        )
        if not same_visit(plan.treatment, successor.treatment):
            break
        plan = successor
    return plan


def visit_plans(treatment: Treatment) -> list[AftercarePlan]:
    """Every plan revision made for the treatment's visit, newest first."""
    ids = [other.pk for other in visit_treatments(treatment)]
    return list(
        AftercarePlan.objects.filter(treatment_id__in=ids)
        .select_related("created_by", "guidance", "treatment")
        .order_by("-created_at", "-revision", "-id")
    )


def visit_days(patient: Patient, timezone: str) -> list[date]:
    moments = Treatment.objects.filter(patient=patient).values_list("performed_at", flat=True)
    return sorted({visit_day(moment, timezone) for moment in moments})


def active_course(patient: Patient) -> TreatmentCourse | None:
    return patient.courses.filter(ended_at__isnull=True).first()


def course_facts(course: TreatmentCourse) -> CourseFacts:
    return CourseFacts(
        starts_on=course.starts_on,
        sessions=course.sessions,
        min_interval_days=7 * course.min_interval_weeks,
        max_interval_days=7 * course.max_interval_weeks,
    )
