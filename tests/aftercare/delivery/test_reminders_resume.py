"""Starting reminders again, and a new link on the patient's request
(aftercare.delivery.reminders: reminders_resume_for_patient, reminders_put_back,
links_send_on_request)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftercare.delivery.reminders import (
    UNDELIVERABLE,
    links_send_on_request,
    reminders_put_back,
    reminders_resume_for_patient,
    reminders_stop_for_patient,
)
from aftercare.links import link_current
from aftercare.models import AftercarePlan, PatientLink, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import ConsentSource, Patient, Treatment
from tests.factories import ClinicFactory, PatientFactory, StaffMembershipFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)  # day-0 and day-1 are past by then


def _plan(**patient: object) -> AftercarePlan:
    treatment = TreatmentFactory(patient=PatientFactory(**patient), performed_at=NOW)
    return plan_create(treatment=treatment, now=NOW)


def _patient(plan: AftercarePlan) -> Patient:
    return Patient.objects.get(pk=plan.treatment.patient_id)


def _pending_kinds(plan: AftercarePlan) -> set[str]:
    current = AftercarePlan.objects.current_for(_patient(plan))
    return set(
        Reminder.objects.filter(plan=current, status=ReminderStatus.PENDING).values_list(
            "kind", flat=True
        )
    )


def _stopped(plan: AftercarePlan) -> Patient:
    reminders_stop_for_patient(patient=_patient(plan), reason="unsubscribed")
    return _patient(plan)


def _resume(patient: Patient, **kwargs: object) -> int:
    options = {"source": ConsentSource.PATIENT_RESUMED, "now": LATER, **kwargs}
    return reminders_resume_for_patient(patient=patient, **options)


# Starting reminders again


def test_resuming_gives_consent_back_from_that_moment():
    plan = _plan()
    _resume(_stopped(plan))
    patient = _patient(plan)
    assert (patient.email_consent, patient.email_consent_at) == (True, LATER)


def test_resuming_records_the_consent_change_with_its_source():
    plan = _plan()
    _resume(_stopped(plan))
    change = _patient(plan).consent_changes.get(given=True)
    assert (change.source, change.at) == (ConsentSource.PATIENT_RESUMED, LATER)


def test_staff_resuming_records_who_and_how_the_patient_agreed():
    plan = _plan()
    user = StaffMembershipFactory(clinic=plan.treatment.clinic).user
    _resume(
        _stopped(plan), source=ConsentSource.STAFF_RENEWED, by=user, note="  Said so on the phone "
    )
    change = _patient(plan).consent_changes.get(given=True)
    assert (change.source, change.recorded_by, change.note) == (
        ConsentSource.STAFF_RENEWED,
        user,
        "Said so on the phone",
    )


def test_resuming_puts_back_the_stopped_reminders_still_to_come():
    plan = _plan()
    patient = _stopped(plan)
    assert _pending_kinds(plan) == set()
    waiting = _resume(patient)
    assert _pending_kinds(plan) == {"day-3", "day-6", "day-14", "rebooking", "long-term"}
    assert waiting == 5


def test_resumed_rows_keep_their_message_ids_and_are_due_at_their_planned_time():
    plan = _plan()
    before = dict(plan.reminders.values_list("kind", "message_id"))
    _resume(_stopped(plan))
    row = plan.reminders.get(kind="day-3")
    assert row.message_id == before["day-3"]
    assert (row.next_attempt_at, row.cancelled_reason) == (row.due_at, "")


def test_resuming_leaves_moments_already_past_cancelled():
    plan = _plan()
    _resume(_stopped(plan))
    past = plan.reminders.filter(kind__in=["day-0", "day-1"])
    assert set(past.values_list("status", flat=True)) == {ReminderStatus.CANCELLED}


def test_resuming_does_not_send_again_what_was_sent():
    plan = _plan()
    plan.reminders.filter(kind="day-3").update(status=ReminderStatus.SENT, sent_at=NOW)
    _resume(_stopped(plan))
    assert "day-3" not in _pending_kinds(plan)
    assert plan.reminders.get(kind="day-3").status == ReminderStatus.SENT


def test_resuming_leaves_a_reminder_the_practitioner_skipped_alone():
    plan = _plan()
    plan.reminders.filter(kind="day-6").update(
        status=ReminderStatus.CANCELLED, cancelled_reason="skipped by the practitioner"
    )
    _resume(_stopped(plan))
    assert "day-6" not in _pending_kinds(plan)


def test_resuming_schedules_a_plan_revised_while_the_patient_was_unsubscribed():
    plan = _plan()
    patient = _stopped(plan)
    # Regenerated while unsubscribed: the new revision was given no reminder rows at all.
    treatment = Treatment.objects.get(pk=plan.treatment_id)
    revised = plan_create(treatment=treatment, now=NOW + timedelta(days=1))
    assert not revised.reminders.exists()
    _resume(patient)
    assert _pending_kinds(plan) == {"day-3", "day-6", "day-14", "rebooking", "long-term"}
    assert set(revised.reminders.values_list("status", flat=True)) == {ReminderStatus.PENDING}


def test_resuming_twice_changes_nothing_the_second_time():
    plan = _plan()
    patient = _stopped(plan)
    _resume(patient)
    _resume(patient)
    assert _patient(plan).consent_changes.filter(given=True).count() == 1
    assert plan.reminders.filter(status=ReminderStatus.PENDING).count() == 5


def test_resuming_leaves_a_bounced_address_stopped():
    plan = _plan()
    patient = _stopped(plan)
    Patient.objects.filter(pk=patient.pk).update(
        email_undeliverable_at=NOW, email_undeliverable_reason="bounced"
    )
    patient.refresh_from_db()
    assert _resume(patient) == 0
    assert _pending_kinds(plan) == set()


def test_resuming_without_an_email_address_changes_nothing():
    plan = _plan()
    patient = _stopped(plan)
    Patient.objects.filter(pk=patient.pk).update(email="")
    patient.refresh_from_db()
    assert _resume(patient) == 0
    assert not _patient(plan).email_consent
    assert not _patient(plan).consent_changes.filter(given=True).exists()


def test_resuming_an_erased_patient_changes_nothing():
    plan = _plan()
    patient = _stopped(plan)
    Patient.objects.filter(pk=patient.pk).update(erased_at=NOW)
    patient.refresh_from_db()
    _resume(patient)
    assert not _patient(plan).email_consent


def test_resuming_leaves_other_patients_alone():
    plan, other = _plan(), _plan()
    _stopped(other)
    _resume(_stopped(plan))
    assert not _patient(other).email_consent
    assert _pending_kinds(other) == set()


def test_putting_back_leaves_undeliverable_rows_to_the_address_correction():
    plan = _plan()
    plan.reminders.filter(kind="day-6").update(
        status=ReminderStatus.CANCELLED, cancelled_reason=UNDELIVERABLE
    )
    reminders_put_back(patient=_patient(plan), now=LATER)
    assert plan.reminders.get(kind="day-6").status == ReminderStatus.CANCELLED


# A new link, asked for on the patient pages


def _asked(plan: AftercarePlan, email: str, now: datetime | None = None) -> int:
    clinic = plan.treatment.clinic
    return links_send_on_request(clinic=clinic, email=email, now=now or NOW + timedelta(hours=2))


def _new_link_rows(plan: AftercarePlan) -> int:
    return Reminder.objects.filter(
        patient_id=plan.treatment.patient_id, kind__startswith="new-link"
    ).count()


def test_a_patients_address_gets_a_new_link_email():
    plan = _plan(email="ana@example.com")
    old = link_current(plan=plan, now=NOW)
    assert _asked(plan, "ana@example.com") == 1
    assert _new_link_rows(plan) == 1
    assert PatientLink.objects.get(pk=old.pk).revoked_at is not None


def test_the_address_is_matched_whatever_its_case_and_spaces():
    plan = _plan(email="ana@example.com")
    assert _asked(plan, "  Ana@Example.COM ") == 1


def test_an_unknown_address_gets_nothing():
    plan = _plan(email="ana@example.com")
    assert _asked(plan, "someone@example.com") == 0
    assert _new_link_rows(plan) == 0


def test_another_clinics_patient_gets_nothing():
    plan = _plan(email="ana@example.com")
    elsewhere = plan_create(
        treatment=TreatmentFactory(
            patient=PatientFactory(clinic=ClinicFactory()), performed_at=NOW
        ),
        now=NOW,
    )
    assert _asked(elsewhere, "ana@example.com") == 0
    assert _new_link_rows(plan) == 0


def test_a_patient_who_stopped_emails_gets_nothing():
    plan = _plan(email="ana@example.com")
    _stopped(plan)
    assert _asked(plan, "ana@example.com") == 0


def test_a_patient_whose_links_have_run_out_gets_nothing(settings):
    settings.PATIENT_LINK_DAYS = 30
    plan = _plan(email="ana@example.com")
    assert _asked(plan, "ana@example.com", now=NOW + timedelta(days=31)) == 0
    assert _new_link_rows(plan) == 0


def test_a_patient_without_a_plan_gets_nothing():
    patient = PatientFactory(email="ana@example.com")
    assert links_send_on_request(clinic=patient.clinic, email="ana@example.com", now=NOW) == 0


def test_patients_sharing_an_address_each_get_their_own_link():
    clinic = ClinicFactory()
    plans = [_plan(clinic=clinic, email="family@example.com") for _ in range(2)]
    assert _asked(plans[0], "family@example.com") == 2
    assert [_new_link_rows(plan) for plan in plans] == [1, 1]
