"""Reads shared by services and views: a patient's visits, plan revisions and courses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from aftercare.models import AftercarePlan, TreatmentCourse
from aftercare.planner.courses import CourseFacts, visit_day
from patients.models import Patient, Treatment


def followed_plan(plan: AftercarePlan) -> AftercarePlan:
    """The revision of this visit's plan the patient follows now.

    An adjustment, a regeneration or a second treatment the same day each make a
    new plan that supersedes this one; a link emailed earlier must show the new one
    at once: the newest plan made for the visit. A plan for a later visit is not
    followed: that visit has its own emails.
    """
    if plan.superseded_by_id is None:
        return plan
    newest = (
        AftercarePlan.objects.select_related("treatment__clinic")
        .filter(treatment__in=Treatment.objects.same_visit_as(plan.treatment).values("pk"))
        .order_by("-created_at", "-revision", "-id")
        .first()
    )
    return newest or plan


def visit_plans(treatment: Treatment) -> list[AftercarePlan]:
    """Every plan revision made for the treatment's visit, newest first."""
    ids = Treatment.objects.same_visit_as(treatment).values_list("pk", flat=True)
    return list(
        AftercarePlan.objects.filter(treatment_id__in=ids)
        .select_related("created_by", "guidance", "treatment")
        .order_by("-created_at", "-revision", "-id")
    )


def visit_days(patient: Patient, timezone: str) -> list[date]:
    return visit_days_of([patient.pk], timezone).get(patient.pk, [])


def visit_days_of(patient_ids: Iterable[int], timezone: str) -> dict[int, list[date]]:
    """visit_days for many patients in one query (the *Next sessions* page)."""
    days: dict[int, set[date]] = defaultdict(set)
    moments = Treatment.objects.filter(patient_id__in=list(patient_ids)).values_list(
        "patient_id", "performed_at"
    )
    for patient_id, moment in moments:
        days[patient_id].add(visit_day(moment, timezone))
    return {patient_id: sorted(found) for patient_id, found in days.items()}


def active_course(patient: Patient) -> TreatmentCourse | None:
    return patient.courses.active().first()


def course_facts(course: TreatmentCourse) -> CourseFacts:
    return CourseFacts(
        starts_on=course.starts_on,
        sessions=course.sessions,
        min_interval_days=7 * course.min_interval_weeks,
        max_interval_days=7 * course.max_interval_weeks,
    )
