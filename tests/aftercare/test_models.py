"""The rules about one row that live on aftercare's querysets and models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from aftercare.links import link_issue
from aftercare.models import (
    SYMPTOM_RULES,
    AftercarePlan,
    ConcernReport,
    GuidanceItem,
    IntensityFactor,
    PatientLink,
    Reminder,
    ReminderStatus,
    Symptom,
    TreatmentCourse,
    emergencies,
    expected_symptoms,
    red_flags,
    symptoms_offered,
)
from aftercare.plans.services import course_end, course_start, plan_create
from tests.factories import ClinicFactory, TreatmentFactory

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


# Report symptoms: when each one is a warning sign (SYMPTOM_RULES)

NORMAL_FIRST_THREE_DAYS = [Symptom.REDNESS, Symptom.REDNESS_PAST_72H, Symptom.HEAT]
WARNINGS_AT_ANY_HOUR = [
    Symptom.BREATHING,
    Symptom.SPREADING_REDNESS,
    Symptom.PUS,
    Symptom.FEVER,
    Symptom.SEVERE_PAIN,
    Symptom.RASH_ITCHING,
    Symptom.COLD_SORES,
]
NEVER_ALONE = [Symptom.BREAKOUTS, Symptom.PEELING, Symptom.OTHER]


def test_every_symptom_has_a_rule():
    assert set(SYMPTOM_RULES) == set(Symptom.values)


@pytest.mark.parametrize("symptom", NORMAL_FIRST_THREE_DAYS)
def test_redness_swelling_and_heat_are_warning_signs_only_from_hour_72(symptom):
    assert red_flags([symptom], hours_since_treatment=2) == frozenset()
    assert red_flags([symptom], hours_since_treatment=71.9) == frozenset()
    assert expected_symptoms([symptom], hours_since_treatment=2) == {symptom}
    assert red_flags([symptom], hours_since_treatment=72) == {symptom}
    assert expected_symptoms([symptom], hours_since_treatment=80) == frozenset()


@pytest.mark.parametrize("symptom", WARNINGS_AT_ANY_HOUR)
@pytest.mark.parametrize("hours", [0, 2, 80, 2000])
def test_signs_of_infection_allergy_and_cold_sores_are_warning_signs_at_any_hour(symptom, hours):
    assert red_flags([symptom], hours_since_treatment=hours) == {symptom}


@pytest.mark.parametrize("symptom", [Symptom.BRUISE, Symptom.UNUSUAL_BRUISING])
def test_a_bruise_is_a_warning_sign_from_day_5(symptom):
    assert red_flags([symptom], hours_since_treatment=119) == frozenset()
    assert red_flags([symptom], hours_since_treatment=120) == {symptom}


@pytest.mark.parametrize("symptom", NEVER_ALONE)
def test_spots_peeling_and_something_else_are_never_a_warning_sign_alone(symptom):
    assert red_flags([symptom], hours_since_treatment=500) == frozenset()
    assert expected_symptoms([symptom], hours_since_treatment=1) == frozenset()


def test_only_trouble_breathing_or_swelling_of_the_throat_is_an_emergency():
    assert emergencies(Symptom.values) == {Symptom.BREATHING}


def test_the_form_offers_no_wording_that_contradicts_the_time():
    early = dict(symptoms_offered(hours_since_treatment=2))
    late = dict(symptoms_offered(hours_since_treatment=130))
    assert Symptom.REDNESS in early and Symptom.REDNESS_PAST_72H not in early
    assert Symptom.REDNESS_PAST_72H in late and Symptom.REDNESS not in late
    assert Symptom.BRUISE in early and Symptom.UNUSUAL_BRUISING not in early
    assert Symptom.UNUSUAL_BRUISING in late and Symptom.BRUISE not in late
    assert list(early)[0] == Symptom.BREATHING


def test_a_report_of_trouble_breathing_is_an_emergency(plan):
    report = ConcernReport(
        plan=plan,
        patient=plan.treatment.patient,
        clinic=plan.treatment.clinic,
        symptoms=["peeling", "breathing"],
        created_at=timezone.now(),
    )
    assert report.is_emergency
    report.symptoms = ["pus"]
    assert not report.is_emergency


@pytest.mark.parametrize(
    ("factor", "value"),
    [("history", "slow-healing"), ("area", "face"), ("device", "laser")],
)
def test_an_intensity_row_that_names_nothing_is_refused(factor, value):
    row = IntensityFactor(clinic=ClinicFactory(), factor=factor, value=value, points=1)
    with pytest.raises(ValidationError) as raised:
        row.full_clean()
    assert raised.value.error_dict["value"][0].code == "unknown_value"


def test_an_intensity_row_for_a_history_flag_is_accepted():
    IntensityFactor(
        clinic=ClinicFactory(), factor="history", value="sensitive_skin", points=1
    ).full_clean()


def test_an_item_after_a_restriction_the_clinic_lacks_is_refused():
    clinic = ClinicFactory()
    item = GuidanceItem(
        clinic=clinic,
        key="brushes",
        kind="do",
        title="Brushes",
        body="Wash them.",
        after_restriction="no-such-thing",
    )
    with pytest.raises(ValidationError) as raised:
        item.full_clean()
    assert raised.value.error_dict["after_restriction"][0].code == "unknown_restriction"
