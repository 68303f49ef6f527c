"""Making and storing aftercare plans."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from aftercare.delivery.queue import queue_plan_reminders
from aftercare.delivery.reminders import (
    reminder_channels,
    reminder_row,
    reminders_cancel_for_plans,
    reminders_carry_note,
    reminders_schedule,
)
from aftercare.guidance.clinic import guidance_for_clinic
from aftercare.guidance.rows import guidance_fingerprint, guidance_to_dict
from aftercare.models import (
    AdjustmentKind,
    AftercarePlan,
    GuidanceSnapshot,
    PlanAdjustment,
    Reminder,
    TreatmentCourse,
)
from aftercare.planner.adjustments import Adjustment, apply_adjustments
from aftercare.planner.combining import combine_plans
from aftercare.planner.courses import course_step, visit_day
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import ClinicFacts, Guidance, TreatmentFacts
from aftercare.planner.planning import CourseStep, Plan, build_plan, plan_to_dict
from aftercare.plans.visits import course_facts, visit_days
from clinic.models import Clinic
from clinic.zones import hemisphere_for_timezone
from patients.models import Patient, Treatment

logger = logging.getLogger(__name__)


def clinic_facts(clinic: Clinic) -> ClinicFacts:
    return ClinicFacts(
        name=clinic.name,
        phone=clinic.phone,
        email=clinic.email,
        timezone=clinic.timezone,
        hemisphere=hemisphere_for_timezone(clinic.timezone),
        climate=clinic.climate_zone,
        reminder_hour=clinic.reminder_hour,
    )


def treatment_facts(treatment: Treatment) -> TreatmentFacts:
    patient = treatment.patient
    performed_at = timezone.localtime(treatment.performed_at, ZoneInfo(treatment.clinic.timezone))
    return TreatmentFacts(
        performed_at=performed_at,
        depth_mm=treatment.depth_mm,
        passes=treatment.passes,
        areas=frozenset(treatment.areas),
        device=treatment.device,
        skin_type=patient.skin_type,
        age_years=patient.age_on(performed_at.date()),
        history=patient.history_flags(),
    )


def plan_preview(
    treatment: TreatmentFacts, clinic: ClinicFacts, *, guidance_of: Clinic | None = None
) -> Plan:
    """The plan for these facts from a clinic's guidance (or the shipped default); not stored."""
    guidance = guidance_for_clinic(guidance_of) if guidance_of else DEFAULT_GUIDANCE
    return build_plan(treatment, clinic, guidance)


@transaction.atomic
def plan_create(
    *,
    treatment: Treatment,
    created_by: User | None = None,
    now: datetime | None = None,
    drop_adjustments: bool = False,
) -> AftercarePlan:
    """Make the plan for the treatment's visit from the current guidance.

    Treatments of the patient on the same local day are one visit with one plan
    (aftercare.planner.combining). The practitioner's adjustments are applied again unless
    `drop_adjustments`. The patient follows the plan of their latest visit: this plan
    supersedes the current plans of the same or earlier visits (so their remaining
    reminders stop), and is itself born superseded if a later visit has a plan.
    """
    now = now or timezone.now()
    guidance = guidance_for_clinic(treatment.clinic)
    visit = list(Treatment.objects.same_visit_as(treatment))
    visit_ids = [part.pk for part in visit]
    clinic = clinic_facts(treatment.clinic)
    if drop_adjustments:
        PlanAdjustment.objects.filter(treatment_id__in=visit_ids, dropped_at__isnull=True).update(
            dropped_at=now, dropped_by=created_by
        )
    plan = combine_plans([build_plan(treatment_facts(part), clinic, guidance) for part in visit])
    plan = _personalised(plan, treatment=treatment, visit_ids=visit_ids)
    current = list(
        AftercarePlan.objects.select_for_update()
        .select_related("treatment")
        .current()
        .filter(treatment__patient_id=treatment.patient_id)
    )
    later = [
        other
        for other in current
        if other.treatment_id not in visit_ids
        and other.treatment.performed_at > treatment.performed_at
    ]
    replaced = [other.pk for other in current if other not in later]
    AftercarePlan.objects.filter(pk__in=replaced).update(superseded_at=now)
    new_plan = AftercarePlan.objects.create(
        treatment=treatment,
        revision=_next_revision(treatment),
        content=plan_to_dict(plan),
        guidance=_snapshot(guidance),
        intensity=plan.intensity.rank,
        created_at=now,
        created_by=created_by,
        superseded_at=now if later else None,
        superseded_by=later[0] if later else None,
    )
    AftercarePlan.objects.filter(pk__in=replaced).update(superseded_by=new_plan)
    reminders_cancel_for_plans(replaced, reason="superseded")
    if reminders_schedule(plan=new_plan, now=now):
        transaction.on_commit(lambda: queue_plan_reminders(new_plan.pk))
    return new_plan


class PlanNotCurrent(Exception):
    """Only the plan the patient follows now can be adjusted."""


@transaction.atomic
def plan_adjust(
    *,
    plan: AftercarePlan,
    adjustment: Adjustment,
    reason: str,
    user: User,
    now: datetime | None = None,
) -> PlanAdjustment:
    """Apply a practitioner's adjustment: a new plan revision, the reminders updated at once.

    The earlier revision stays as it was (emails already sent keep their copies);
    waiting reminders move to the new revision, so they are sent from it.
    """
    now = now or timezone.now()
    plan = (
        AftercarePlan.objects.select_for_update()
        .select_related("treatment__clinic")
        .get(pk=plan.pk)
    )
    if not plan.is_current:
        raise PlanNotCurrent
    before = plan.content_plan
    after = apply_adjustments(before, [adjustment])
    new_plan = plan_revise(plan=plan, content=after, created_by=user, now=now)
    record = PlanAdjustment(
        treatment=plan.treatment,
        plan=new_plan,
        kind=adjustment.kind,
        key=adjustment.key,
        day_number=adjustment.day_number,
        text=adjustment.text.strip(),
        reason=reason.strip(),
        created_by=user,
        created_at=now,
    )
    if adjustment.kind == AdjustmentKind.RESTRICTION:
        restriction = next(r for r in before.restrictions if r.key == adjustment.key)
        record.label = restriction.label
        record.hours = adjustment.hours
        record.previous_hours = restriction.hours
        record.guidance_hours = restriction.hours_by_guidance
    elif adjustment.kind == AdjustmentKind.SKIP_REMINDER:
        record.label = next(r.label for r in before.reminders if r.key == adjustment.key)
        Reminder.objects.filter(plan=new_plan, kind=adjustment.key).waiting().cancel(
            reason="skipped by the practitioner"
        )
    elif adjustment.kind == AdjustmentKind.ADD_REMINDER:
        record.label = adjustment.label
        _schedule_added(new_plan, after, adjustment.key, now)
    record.save()
    reminders_carry_note(plan=new_plan, note=after.note)
    return record


def plan_revise(
    *, plan: AftercarePlan, content: Plan, created_by: User | None, now: datetime
) -> AftercarePlan:
    """Store changed content as a new revision of a current plan, without the guidance.

    The old revision is kept, superseded; its waiting reminders (and any being sent
    right now) move to the new one, keeping their Message-IDs.
    """
    AftercarePlan.objects.filter(pk=plan.pk).update(superseded_at=now)
    new_plan = AftercarePlan.objects.create(
        treatment=plan.treatment,
        revision=_next_revision(plan.treatment),
        content=plan_to_dict(content),
        guidance=plan.guidance,
        intensity=content.intensity.rank,
        created_at=now,
        created_by=created_by,
    )
    AftercarePlan.objects.filter(pk=plan.pk).update(superseded_by=new_plan)
    Reminder.objects.filter(plan=plan).unsent().update(plan=new_plan)
    return new_plan


@transaction.atomic
def course_start(
    *,
    patient: Patient,
    sessions: int,
    min_interval_weeks: int,
    max_interval_weeks: int,
    starts_on: date,
    created_by: User | None,
    now: datetime | None = None,
) -> TreatmentCourse:
    """Put the patient on a course; their current plan says which session it is at once."""
    now = now or timezone.now()
    course = TreatmentCourse(
        patient=patient,
        sessions=sessions,
        min_interval_weeks=min_interval_weeks,
        max_interval_weeks=max_interval_weeks,
        starts_on=starts_on,
        created_by=created_by,
        created_at=now,
    )
    course.full_clean()
    course.save()
    _restep_current_plan(patient=patient, user=created_by, now=now)
    return course


@transaction.atomic
def course_end(*, course: TreatmentCourse, user: User | None, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    ended = TreatmentCourse.objects.filter(pk=course.pk).active().update(ended_at=now)
    if ended:
        _restep_current_plan(patient=course.patient, user=user, now=now)
    return bool(ended)


def course_step_for(*, patient: Patient, day: date, timezone_name: str) -> CourseStep | None:
    course = patient.courses.active().filter(starts_on__lte=day).first()
    if course is None:
        return None
    return course_step(course_facts(course), visit_days(patient, timezone_name), day)


def _restep_current_plan(*, patient: Patient, user: User | None, now: datetime) -> None:
    plan = (
        AftercarePlan.objects.select_for_update()
        .select_related("treatment__clinic")
        .current_for(patient)
    )
    if plan is None:
        return
    content = plan.content_plan
    day = visit_day(plan.treatment.performed_at, content.timezone)
    step = course_step_for(patient=patient, day=day, timezone_name=content.timezone)
    if step != content.course:
        plan_revise(plan=plan, content=replace(content, course=step), created_by=user, now=now)


def _personalised(plan: Plan, *, treatment: Treatment, visit_ids: list[int]) -> Plan:
    """The visit's course step and its practitioner's adjustments, on a plan from the guidance."""
    day = visit_day(plan.performed_at, plan.timezone)
    step = course_step_for(patient=treatment.patient, day=day, timezone_name=plan.timezone)
    adjustments = PlanAdjustment.objects.filter(
        treatment_id__in=visit_ids, dropped_at__isnull=True
    ).order_by("created_at", "id")
    return apply_adjustments(
        replace(plan, course=step), [adjustment_value(record) for record in adjustments]
    )


def adjustment_value(record: PlanAdjustment) -> Adjustment:
    return Adjustment(
        kind=record.kind,
        key=record.key,
        hours=record.hours,
        day_number=record.day_number,
        label=record.label,
        text=record.text,
    )


def _schedule_added(plan: AftercarePlan, content: Plan, key: str, now: datetime) -> None:
    planned = next(reminder for reminder in content.reminders if reminder.key == key)
    due_at = max(planned.send_at, now)
    rows = [
        reminder_row(
            plan=plan,
            kind=key,
            label=planned.label,
            covers=planned.summary_md,
            day_number=planned.day_number,
            due_at=due_at,
            channel=channel,
        )
        for channel in reminder_channels(plan.treatment.patient)
    ]
    for row in rows:
        row.save()
    if any(row.due_at <= now for row in rows):
        transaction.on_commit(lambda: queue_plan_reminders(plan.pk))


def _next_revision(treatment: Treatment) -> int:
    last = AftercarePlan.objects.filter(treatment=treatment).order_by("-revision").first()
    return last.revision + 1 if last else 1


def _snapshot(guidance: Guidance) -> GuidanceSnapshot:
    snapshot, _ = GuidanceSnapshot.objects.get_or_create(
        fingerprint=guidance_fingerprint(guidance),
        defaults={"data": guidance_to_dict(guidance)},
    )
    return snapshot
