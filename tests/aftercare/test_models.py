"""The rules about one row that live on aftercare's querysets and models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from aftercare.links import link_issue
from aftercare.models import AftercarePlan, PatientLink, Reminder, ReminderStatus, TreatmentCourse
from aftercare.plans.services import course_end, course_start, plan_create
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan() -> AftercarePlan:
    return plan_create(treatment=TreatmentFactory(performed_at=timezone.now()))


def test_a_link_is_usable_until_it_expires_or_is_revoked(plan):
    now = timezone.now()
    fresh, expired, revoked = (link_issue(plan=plan) for _ in range(3))
    PatientLink.objects.filter(pk=expired.pk).update(expires_at=now)
    PatientLink.objects.filter(pk=revoked.pk).update(revoked_at=now)
    assert set(PatientLink.objects.usable(now)) == {fresh}
    assert [link.is_usable(now) for link in PatientLink.objects.order_by("id")] == [
        True,
        False,
        False,
    ]


def test_the_current_plan_for_a_patient_is_that_of_their_latest_treatment(plan):
    patient = plan.treatment.patient
    earlier = TreatmentFactory(patient=patient, performed_at=timezone.now() - timedelta(days=40))
    plan_create(treatment=earlier, now=earlier.performed_at)
    revised = plan_create(treatment=plan.treatment)
    assert AftercarePlan.objects.current_for(patient) == revised
    assert revised in AftercarePlan.objects.current()
    assert plan not in AftercarePlan.objects.current()


def test_a_patient_without_a_plan_has_no_current_plan():
    assert AftercarePlan.objects.current_for(TreatmentFactory().patient) is None


def test_the_stored_content_reads_back_as_the_plan_it_was(plan):
    assert plan.content_plan.intensity.rank == plan.intensity
    assert plan.content_plan is plan.content_plan  # parsed once per instance


def test_a_course_is_active_until_it_ends(plan):
    patient = plan.treatment.patient
    course = course_start(
        patient=patient,
        sessions=3,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=timezone.localdate(),
        created_by=None,
    )
    assert list(TreatmentCourse.objects.active()) == [course]
    course_end(course=course, user=None)
    assert not TreatmentCourse.objects.active().exists()


def test_waiting_reminders_are_pending_or_failed_and_unsent_adds_sending(plan):
    first, second, third, *rest = plan.reminders.order_by("due_at")
    Reminder.objects.filter(pk=second.pk).update(status=ReminderStatus.FAILED)
    Reminder.objects.filter(pk=third.pk).update(
        status=ReminderStatus.SENDING, lease_token="7d0c1b7e-7a54-4a35-93b2-1f0f4f1f2a3b"
    )
    waiting = set(plan.reminders.waiting())
    assert second in waiting and third not in waiting and first in waiting
    assert third in set(plan.reminders.unsent())


def test_cancelling_clears_the_lease_so_a_worker_sending_the_row_cannot_write_to_it(plan):
    reminder = plan.reminders.order_by("due_at").first()
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.SENDING, lease_token="7d0c1b7e-7a54-4a35-93b2-1f0f4f1f2a3b"
    )
    assert plan.reminders.unsent().cancel(reason="test") == plan.reminders.count()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.cancelled_reason, reminder.lease_token) == (
        ReminderStatus.CANCELLED,
        "test",
        None,
    )
