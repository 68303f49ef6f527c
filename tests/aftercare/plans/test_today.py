"""Staff Today, the page after login (aftercare.plans.today, aftercare.plans.views.today)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from aftercare.models import ConcernReport, DeliveryEventType, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from aftercare.plans.today import TEXT_NOT_REACHING, dashboard_for
from patients.models import Channel, TextProblem
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _report(plan, *, red_flag: bool, minutes_ago: int, handled: bool = False) -> ConcernReport:
    return ConcernReport.objects.create(
        plan=plan,
        patient=plan.treatment.patient,
        clinic=plan.treatment.clinic,
        symptoms=["heat"] if red_flag else ["peeling"],
        is_red_flag=red_flag,
        created_at=NOW - timedelta(minutes=minutes_ago),
        handled_at=NOW if handled else None,
    )


@pytest.fixture
def plan(clinic):
    treatment = TreatmentFactory(patient__clinic=clinic, performed_at=NOW - timedelta(hours=2))
    return plan_create(treatment=treatment, now=NOW - timedelta(hours=2))


def test_open_reports_list_red_flags_first_then_newest(plan):
    older_red = _report(plan, red_flag=True, minutes_ago=90)
    newer_plain = _report(plan, red_flag=False, minutes_ago=5)
    _report(plan, red_flag=True, minutes_ago=1, handled=True)
    board = dashboard_for(clinic=plan.treatment.clinic, now=NOW)
    assert board.open_reports == [older_red, newer_plain]


def test_todays_treatments_follow_the_clinics_local_day(clinic):
    clinic.timezone = "Australia/Sydney"  # 15:00 UTC is 02:00 the next day in Sydney
    clinic.save()
    yesterday_there = TreatmentFactory(
        patient__clinic=clinic, performed_at=NOW - timedelta(hours=4)
    )
    today_there = TreatmentFactory(patient__clinic=clinic, performed_at=NOW - timedelta(hours=1))
    board = dashboard_for(clinic=clinic, now=NOW)
    assert board.todays_treatments == [today_there]
    assert yesterday_there not in board.todays_treatments


def test_patients_inside_72_hours_are_listed_by_their_latest_treatment(clinic):
    recent = TreatmentFactory(patient__clinic=clinic, performed_at=NOW - timedelta(hours=70))
    past = TreatmentFactory(patient__clinic=clinic, performed_at=NOW - timedelta(hours=80))
    board = dashboard_for(clinic=clinic, now=NOW)
    assert board.early_recovery == [recent.patient]
    assert past.patient not in board.early_recovery


def test_failed_emails_and_the_next_24_hours_of_reminders_are_listed(plan):
    reminders = list(Reminder.objects.filter(plan=plan).order_by("due_at"))
    Reminder.objects.filter(pk=reminders[0].pk).update(status=ReminderStatus.FAILED)
    Reminder.objects.filter(pk=reminders[1].pk).update(next_attempt_at=NOW + timedelta(hours=3))
    Reminder.objects.filter(pk__in=[r.pk for r in reminders[2:]]).update(
        next_attempt_at=NOW + timedelta(days=5)
    )
    board = dashboard_for(clinic=plan.treatment.clinic, now=NOW)
    assert [r.pk for r in board.failed_emails] == [reminders[0].pk]
    assert [r.pk for r in board.upcoming_reminders] == [reminders[1].pk]
    assert board.upcoming_count == 1


def test_another_clinics_work_is_not_on_the_board(plan):
    _report(plan, red_flag=True, minutes_ago=1)
    board = dashboard_for(clinic=ClinicFactory(), now=NOW)
    assert board.open_reports == [] and board.todays_treatments == [] and board.failed_emails == []


def test_the_page_links_each_item_to_what_to_do(practitioner_client, clinic):
    treatment = TreatmentFactory(
        # Now, not "a while ago": just after midnight that would be yesterday's treatment.
        patient=PatientFactory(clinic=clinic),
        performed_at=timezone.now(),
    )
    plan = plan_create(treatment=treatment)
    report = ConcernReport.objects.create(
        plan=plan,
        patient=treatment.patient,
        clinic=clinic,
        symptoms=["pus"],
        is_red_flag=True,
        created_at=timezone.now(),
    )
    page = practitioner_client.get(reverse("home")).content.decode()
    assert reverse("aftercare:concern_detail", args=[report.pk]) in page
    assert reverse("patients:timeline", args=[treatment.patient_id]) in page
    assert reverse("patients:treatment_detail", args=[treatment.pk]) in page
    assert page.index("Red flag") < page.index("treatments-heading")


def test_patients_whose_address_bounced_are_listed_newest_first(clinic):
    older = PatientFactory(
        clinic=clinic,
        email_undeliverable_at=NOW - timedelta(days=2),
        email_undeliverable_reason="bounced",
    )
    newer = PatientFactory(
        clinic=clinic,
        email_undeliverable_at=NOW - timedelta(hours=1),
        email_undeliverable_reason="complained",
    )
    PatientFactory(clinic=clinic)
    PatientFactory(email_undeliverable_at=NOW, email_undeliverable_reason="bounced")
    board = dashboard_for(clinic=clinic, now=NOW)
    assert board.undeliverable_addresses == [newer, older]


def test_the_page_tells_staff_to_call_a_patient_whose_email_bounced(practitioner_client, clinic):
    patient = PatientFactory(
        clinic=clinic, email_undeliverable_at=NOW, email_undeliverable_reason="bounced"
    )
    page = practitioner_client.get(reverse("home")).content.decode()
    assert "Email bounced: call the patient" in page
    assert f'href="tel:{patient.phone}"' in page
    assert reverse("patients:edit", args=[patient.pk]) in page


def test_the_page_runs_the_same_queries_however_much_there_is_to_show(
    practitioner_client, clinic, django_assert_max_num_queries
):
    # Session, user, membership, clinic and permissions take 6; the page's lists 9.
    for hours_ago in (2, 30, 60, 100):
        treatment = TreatmentFactory(
            patient__clinic=clinic,
            clinic=clinic,
            patient__text_consent=True,
            patient__text_consent_at=timezone.now(),
            patient__phone_undeliverable_at=timezone.now(),
            patient__phone_undeliverable_reason=TextProblem.UNDELIVERED,
            performed_at=timezone.now() - timedelta(hours=hours_ago),
        )
        plan = plan_create(treatment=treatment, now=treatment.performed_at)
        Reminder.objects.filter(plan=plan).update(
            channel=Channel.TEXT, delivery_status=DeliveryEventType.UNDELIVERED
        )
    with django_assert_max_num_queries(15):
        assert practitioner_client.get(reverse("home")).status_code == 200


def _text(plan, **fields) -> Reminder:
    """The plan's first reminder, made a text with `fields`."""
    reminder = plan.reminders.order_by("due_at").first()
    Reminder.objects.filter(pk=reminder.pk).update(channel=Channel.TEXT, **fields)
    reminder.refresh_from_db()
    return reminder


def test_texts_undelivered_or_failed_in_the_last_14_days_are_listed_newest_first(plan):
    first, second, third, fourth = plan.reminders.order_by("due_at")[:4]
    for reminder, due, fields in (
        (first, NOW - timedelta(days=3), {"delivery_status": DeliveryEventType.UNDELIVERED}),
        (second, NOW - timedelta(days=1), {"status": ReminderStatus.FAILED}),
        (third, NOW - timedelta(days=2), {"delivery_status": DeliveryEventType.DELIVERED}),
        (fourth, NOW - timedelta(days=15), {"delivery_status": DeliveryEventType.FAILED}),
    ):
        Reminder.objects.filter(pk=reminder.pk).update(channel=Channel.TEXT, due_at=due, **fields)
    board = dashboard_for(clinic=plan.treatment.clinic, now=NOW)
    assert board.failed_texts == [second, first]


def test_a_failed_text_is_not_listed_with_the_failed_emails(plan):
    text = _text(plan, status=ReminderStatus.FAILED)
    board = dashboard_for(clinic=plan.treatment.clinic, now=NOW)
    assert text not in board.failed_emails
    assert board.failed_texts == [text]


def test_patients_whose_number_cannot_get_texts_are_listed_newest_first(clinic):
    older, newer = (
        PatientFactory(
            clinic=clinic,
            phone_undeliverable_at=NOW - timedelta(days=days),
            phone_undeliverable_reason=TextProblem.INVALID,
        )
        for days in (3, 1)
    )
    PatientFactory(clinic=clinic)
    board = dashboard_for(clinic=clinic, now=NOW)
    assert board.undeliverable_numbers == [newer, older]


def test_another_clinics_texts_and_numbers_are_never_on_the_board(plan):
    _text(plan, delivery_status=DeliveryEventType.UNDELIVERED, due_at=NOW)
    PatientFactory(
        clinic=plan.treatment.clinic,
        phone_undeliverable_at=NOW,
        phone_undeliverable_reason=TextProblem.UNDELIVERED,
    )
    board = dashboard_for(clinic=ClinicFactory(), now=NOW)
    assert (board.failed_texts, board.undeliverable_numbers) == ([], [])


def test_the_page_shows_an_undelivered_text_and_a_marked_number(practitioner_client, clinic):
    treatment = TreatmentFactory(patient__clinic=clinic, clinic=clinic)
    plan = plan_create(treatment=treatment, now=timezone.now())
    text = _text(plan, delivery_status=DeliveryEventType.UNDELIVERED, due_at=timezone.now())
    marked = PatientFactory(
        clinic=clinic,
        first_name="Marked",
        phone="+447400900555",
        phone_undeliverable_at=timezone.now(),
        phone_undeliverable_reason=TextProblem.INVALID,
    )
    elsewhere = PatientFactory(
        first_name="Elsewhere",
        phone_undeliverable_at=timezone.now(),
        phone_undeliverable_reason=TextProblem.INVALID,
    )
    page = practitioner_client.get(reverse("home")).content.decode()
    assert "Texts that cannot reach the patient" in page
    assert f"{text.patient.full_name}</a>: {text.label}" in page
    assert "Not delivered to the phone" in page
    assert "Not a mobile number we can text: check it with the patient" in page
    assert 'href="tel:+447400900555">07400 900555</a>' in page
    assert reverse("patients:edit", args=[marked.pk]) in page
    assert elsewhere.full_name not in page


@pytest.mark.postgres
def test_postgresql_reads_failed_texts_from_their_partial_index(plan):
    _text(plan, status=ReminderStatus.FAILED)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            plan_text = (
                Reminder.objects.filter(TEXT_NOT_REACHING, due_at__gte=NOW - timedelta(days=14))
                .order_by("-due_at")
                .explain()
            )
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "reminder_text_failed_today" in plan_text
