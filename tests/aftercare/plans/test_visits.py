"""A patient's visits and the plan revision an emailed link opens (aftercare.plans.visits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftercare.planner.adjustments import NOTE, Adjustment
from aftercare.plans.services import plan_adjust, plan_create
from aftercare.plans.visits import followed_plan, visit_plans
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_a_link_follows_the_revisions_and_the_combined_plan_of_its_visit(patient):
    face = TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=2))
    first = plan_create(treatment=face, now=T0)
    adjusted = plan_adjust(
        plan=first,
        adjustment=Adjustment(kind=NOTE, text="Hello"),
        reason="",
        user=face.practitioner,
        now=T0,
    ).plan
    neck = TreatmentFactory(patient=patient, performed_at=T0 - timedelta(hours=1), areas=["neck"])
    combined = plan_create(treatment=neck, now=T0 + timedelta(minutes=1))
    first.refresh_from_db()
    assert followed_plan(first) == combined
    assert combined.content["note"] == "Hello"
    assert [plan.pk for plan in visit_plans(face)] == [combined.pk, adjusted.pk, first.pk]


def test_a_link_does_not_follow_to_a_later_visit(patient):
    earlier = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=T0 - timedelta(days=30)), now=T0
    )
    plan_create(treatment=TreatmentFactory(patient=patient, performed_at=T0), now=T0)
    earlier.refresh_from_db()
    assert earlier.superseded_by is not None
    assert followed_plan(earlier) == earlier
