from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from aftercare.models import AftercarePlan, GuidanceSnapshot, RestrictionRule
from aftercare.planning import plan_from_dict
from aftercare.services import plan_create, treatment_facts
from patients.services import treatment_create
from tests.factories import PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _restriction_end(plan: AftercarePlan, key: str) -> str:
    return next(r for r in plan.content["restrictions"] if r["key"] == key)["ends_at"]


def test_saving_a_treatment_stores_its_plan(patient, practitioner):
    treatment = treatment_create(
        patient=patient,
        practitioner=practitioner,
        treatment=TreatmentFactory.build(patient=None, clinic=None, practitioner=None),
    )
    plan = treatment.plans.get()
    assert plan.is_current
    assert plan.created_by == practitioner
    assert plan_from_dict(plan.content).warnings


def test_a_plan_records_the_guidance_it_came_from():
    plan = plan_create(treatment=TreatmentFactory(), now=NOW)
    assert plan.guidance.data["restrictions"]
    assert GuidanceSnapshot.objects.count() == 1


def test_plans_from_unchanged_guidance_share_one_snapshot():
    plan_create(treatment=TreatmentFactory(), now=NOW)
    plan_create(treatment=TreatmentFactory(), now=NOW)
    assert GuidanceSnapshot.objects.count() == 1


def test_a_newer_treatment_supersedes_the_older_plan(patient):
    older = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=NOW - timedelta(days=30)), now=NOW
    )
    newer = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=NOW - timedelta(hours=1)), now=NOW
    )
    older.refresh_from_db()
    assert older.superseded_at == NOW
    assert older.superseded_by == newer
    assert newer.is_current


def test_a_backdated_treatment_does_not_replace_the_latest_plan(patient):
    latest = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=NOW - timedelta(hours=1)), now=NOW
    )
    backdated = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=NOW - timedelta(days=30)), now=NOW
    )
    latest.refresh_from_db()
    assert latest.is_current
    assert backdated.superseded_by == latest


def test_another_patients_plan_is_left_alone(patient):
    other = plan_create(treatment=TreatmentFactory(), now=NOW)
    plan_create(treatment=TreatmentFactory(patient=patient), now=NOW)
    other.refresh_from_db()
    assert other.is_current


def test_regenerating_makes_a_new_revision_and_keeps_the_old_one():
    treatment = TreatmentFactory()
    first = plan_create(treatment=treatment, now=NOW)
    second = plan_create(treatment=treatment, now=NOW + timedelta(minutes=5))
    first.refresh_from_db()
    assert (first.revision, second.revision) == (1, 2)
    assert first.superseded_by == second
    assert list(treatment.plans.filter(superseded_at__isnull=True)) == [second]


def test_editing_guidance_changes_new_plans_but_not_stored_ones():
    treatment = TreatmentFactory(depth_mm=Decimal("0.5"), passes=1)
    before = plan_create(treatment=treatment, now=NOW)
    RestrictionRule.objects.filter(key="makeup").update(
        hours_light=96, hours_moderate=96, hours_intense=96
    )
    after = plan_create(treatment=treatment, now=NOW)
    before.refresh_from_db()
    assert _restriction_end(after, "makeup") != _restriction_end(before, "makeup")
    assert before.guidance != after.guidance


def test_treatment_facts_use_the_clinic_timezone_and_patient_details(clinic):
    clinic.timezone = "Australia/Sydney"
    clinic.save()
    patient = PatientFactory(clinic=clinic, date_of_birth=date(1980, 1, 16), breakout_prone=True)
    treatment = TreatmentFactory(
        patient=patient, performed_at=datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    )
    facts = treatment_facts(treatment)
    assert facts.performed_at.utcoffset() == timedelta(hours=11)
    assert facts.age_years == 46  # 16 January in Sydney: the birthday has come
    assert facts.history == {"breakout_prone"}
