"""Making and storing aftercare plans."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from aftercare.guidance import guidance_fingerprint, guidance_to_dict, load_guidance
from aftercare.inputs import ClinicFacts, Guidance, TreatmentFacts
from aftercare.models import AftercarePlan, GuidanceSnapshot
from aftercare.planning import Plan, build_plan, plan_to_dict
from aftercare.reminders import reminders_cancel_for_plans, reminders_schedule
from aftercare.seasons import hemisphere_for_timezone
from clinic.models import Clinic
from patients.models import Treatment

logger = logging.getLogger(__name__)


def clinic_facts(clinic: Clinic) -> ClinicFacts:
    return ClinicFacts(
        name=clinic.name,
        phone=clinic.phone,
        email=clinic.email,
        timezone=clinic.timezone,
        hemisphere=hemisphere_for_timezone(clinic.timezone),
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


def plan_preview(treatment: TreatmentFacts, clinic: ClinicFacts) -> Plan:
    """The plan the current guidance gives for these facts; nothing is stored."""
    return build_plan(treatment, clinic, load_guidance())


@transaction.atomic
def plan_create(
    *,
    treatment: Treatment,
    created_by: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> AftercarePlan:
    """Make the treatment's plan from the current guidance.

    The patient follows the plan of their latest treatment: this plan supersedes
    the current plans of the same or earlier treatments (so their remaining
    reminders stop), and is itself born superseded if a later treatment exists.
    """
    now = now or timezone.now()
    guidance = load_guidance()
    plan = build_plan(treatment_facts(treatment), clinic_facts(treatment.clinic), guidance)
    current = list(
        AftercarePlan.objects.select_for_update()
        .select_related("treatment")
        .filter(treatment__patient_id=treatment.patient_id, superseded_at__isnull=True)
    )
    later = [
        other
        for other in current
        if other.treatment_id != treatment.pk
        and other.treatment.performed_at > treatment.performed_at
    ]
    replaced = [other.pk for other in current if other not in later]
    last_revision = AftercarePlan.objects.filter(treatment=treatment).order_by("-revision").first()
    AftercarePlan.objects.filter(pk__in=replaced).update(superseded_at=now)
    new_plan = AftercarePlan.objects.create(
        treatment=treatment,
        revision=last_revision.revision + 1 if last_revision else 1,
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


def queue_plan_reminders(plan_id: int) -> None:
    """Ask a worker to send the plan's due reminders now instead of at the next tick."""
    from aftercare.tasks import send_plan_reminders_now

    try:
        send_plan_reminders_now.delay(plan_id)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the request
        # Nothing is lost: the row is due, and the next beat tick sends it.
        logger.warning("could not queue the first reminders of plan %s", plan_id, exc_info=True)


def _snapshot(guidance: Guidance) -> GuidanceSnapshot:
    snapshot, _ = GuidanceSnapshot.objects.get_or_create(
        fingerprint=guidance_fingerprint(guidance),
        defaults={"data": guidance_to_dict(guidance)},
    )
    return snapshot
