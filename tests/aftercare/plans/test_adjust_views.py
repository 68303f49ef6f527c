"""A practitioner's hand on the plan, and courses (aftercare.plans.adjust_views)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, PlanAdjustment, Reminder, ReminderStatus
from aftercare.plans.services import course_start, plan_create
from tests.factories import PatientFactory, StaffMembershipFactory, TreatmentFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
REASON_REQUIRED = "1 day is shorter than the guidance (2 days): write down why."


@pytest.fixture
def plan(clinic, practitioner) -> AftercarePlan:
    """A moderate treatment an hour ago (makeup: 48 hours by the guidance)."""
    treatment = TreatmentFactory(
        patient__clinic=clinic,
        practitioner=practitioner,
        performed_at=timezone.now() - timedelta(hours=1),
    )
    return plan_create(treatment=treatment)


@pytest.fixture
def front_desk_client(front_desk) -> Client:
    client = Client()
    client.force_login(front_desk)
    return client


def _current(plan: AftercarePlan) -> AftercarePlan:
    return AftercarePlan.objects.get(treatment=plan.treatment, superseded_at__isnull=True)


def _restriction_url(plan: AftercarePlan, key: str = "makeup") -> str:
    return reverse("aftercare:adjust_restriction", args=[plan.pk, key])


def _treatment_page(client: Client, plan: AftercarePlan) -> str:
    url = reverse("patients:treatment_detail", args=[plan.treatment_id])
    return client.get(url).content.decode()


def _row_texts(page: str) -> list[str]:
    """Each table row's cells as one line, without the row's dates."""
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    texts = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    return [re.sub(r" ?\b\w{3} \d{1,2} \w{3}, \d\d:\d\d ?", " ", text).strip() for text in texts]


# Restrictions


def test_the_form_shows_the_guidance_value_in_days_beside_the_field(practitioner_client, plan):
    page = practitioner_client.get(_restriction_url(plan)).content.decode()
    assert "The guidance says 2 days for this treatment." in page
    assert 'name="days" value="2"' in page
    assert 'name="extra_hours" value="0"' in page


def test_the_form_shows_when_the_restriction_ends_beside_the_field(practitioner_client, plan):
    ends = timezone.localtime(plan.treatment.performed_at + timedelta(hours=48), LONDON)
    page = practitioner_client.get(_restriction_url(plan)).content.decode()
    beside = page[page.index('id="restriction-ends"') :]
    assert (
        f"2 days after the treatment: OK again from <strong>{ends:%a} {ends.day} {ends:%b, %H:%M}"
        in beside
    )


def test_showing_the_date_for_a_typed_length_saves_nothing(practitioner_client, plan):
    ends = timezone.localtime(plan.treatment.performed_at + timedelta(hours=78), LONDON)
    response = practitioner_client.post(
        _restriction_url(plan), {"days": "3", "extra_hours": "6", "check": "1"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"3 days 6 hours after the treatment: OK again from <strong>{ends:%a} {ends.day}" in page
    assert 'name="days" value="3"' in page
    assert not PlanAdjustment.objects.exists()


def test_shortening_below_the_guidance_without_a_reason_is_refused_next_to_the_field(
    practitioner_client, plan
):
    response = practitioner_client.post(_restriction_url(plan), {"days": "1", "reason": " "})
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": [REASON_REQUIRED]}
    page = response.content.decode()
    reason_field = page.index('name="reason"')
    assert reason_field < page.index(REASON_REQUIRED) < page.rindex("</form>")
    assert not PlanAdjustment.objects.exists()
    assert _current(plan) == plan


def test_shortening_with_a_reason_is_saved(practitioner_client, plan):
    response = practitioner_client.post(
        _restriction_url(plan), {"days": "1", "reason": "Very light pass, skin calm."}
    )
    assert response.status_code == 302
    adjustment = PlanAdjustment.objects.get()
    assert (adjustment.hours, adjustment.reason) == (24, "Very light pass, skin calm.")


def test_lengthening_needs_no_reason(practitioner_client, plan):
    response = practitioner_client.post(_restriction_url(plan), {"days": "3"})
    assert response.status_code == 302
    makeup = next(r for r in _current(plan).content["restrictions"] if r["key"] == "makeup")
    assert (makeup["hours"], makeup["guidance_hours"]) == (72, 48)


def test_days_and_extra_hours_are_stored_as_hours(practitioner_client, plan):
    practitioner_client.post(_restriction_url(plan), {"days": "2", "extra_hours": "6"})
    assert PlanAdjustment.objects.get().hours == 54


def test_the_saved_message_says_the_new_length_and_date(practitioner_client, plan):
    ends = timezone.localtime(plan.treatment.performed_at + timedelta(hours=72), LONDON)
    response = practitioner_client.post(_restriction_url(plan), {"days": "3"}, follow=True)
    assert (
        f"Makeup: now 3 days, OK again from {ends:%a} {ends.day} {ends:%b, %H:%M}."
        in response.content.decode()
    )


def test_the_same_value_is_not_a_change(practitioner_client, plan):
    response = practitioner_client.post(_restriction_url(plan), {"days": "2"})
    assert response.context["form"].errors == {"days": ["That is the time already set."]}


def test_no_time_at_all_is_refused(practitioner_client, plan):
    response = practitioner_client.post(_restriction_url(plan), {"days": "0", "extra_hours": "0"})
    assert response.context["form"].errors == {"days": ["Give a time between 1 hour and 90 days."]}


def test_an_unknown_restriction_is_not_found(practitioner_client, plan):
    assert practitioner_client.get(_restriction_url(plan, "nope")).status_code == 404


def test_a_replaced_revision_cannot_be_adjusted(practitioner_client, plan):
    practitioner_client.post(_restriction_url(plan), {"days": "3"})
    response = practitioner_client.post(_restriction_url(plan), {"days": "4"})
    assert response.status_code == 302
    assert PlanAdjustment.objects.count() == 1


def test_the_plan_history_shows_who_changed_it_when_and_why(practitioner_client, plan):
    practitioner_client.post(
        _restriction_url(plan), {"days": "3", "reason": "Went deeper on the cheeks."}
    )
    adjustment = PlanAdjustment.objects.get()
    page = _treatment_page(practitioner_client, plan)
    user = plan.treatment.practitioner
    assert "Makeup: 2 days → 3 days (guidance: 2 days)" in page
    assert "Went deeper on the cheeks." in page
    assert user.get_full_name() in page
    local = timezone.localtime(adjustment.created_at, LONDON)
    assert local.strftime("%-d %b %Y, %H:%M") in page


def test_earlier_revisions_stay_readable(practitioner_client, plan):
    practitioner_client.post(_restriction_url(plan), {"days": "3"})
    page = practitioner_client.get(reverse("aftercare:plan_revision", args=[plan.pk]))
    assert "Makeup (2 days) 2 days" in _row_texts(page.content.decode())
    assert "Replaced" in page.content.decode()


def test_the_patients_today_page_shows_the_change_at_once(practitioner_client, plan):
    patient = Client()
    slug = plan.treatment.clinic.slug
    link = link_current(plan=plan, now=timezone.now())
    patient.get(reverse("patient:open", args=[slug, token_for(link)]))
    end_before = timezone.localtime(plan.treatment.performed_at + timedelta(hours=48), LONDON)
    assert (
        end_before.strftime("%a %-d %b, %H:%M")
        in patient.get(reverse("patient:today", args=[slug])).content.decode()
    )

    practitioner_client.post(_restriction_url(plan), {"days": "3"})
    practitioner_client.post(
        reverse("aftercare:adjust_note", args=[_current(plan).pk]), {"text": "Rest tonight."}
    )

    today = patient.get(reverse("patient:today", args=[slug])).content.decode()
    end_after = timezone.localtime(plan.treatment.performed_at + timedelta(hours=72), LONDON)
    assert f"Makeup</strong>: OK again from {end_after.strftime('%a %-d %b, %H:%M')}" in today
    assert "A note from your practitioner" in today
    assert today.index("Rest tonight.") < today.index("What has to wait")


# The plan page


def test_the_plan_page_lists_each_restriction_once_with_its_length_in_days(
    practitioner_client, plan
):
    texts = _row_texts(_treatment_page(practitioner_client, plan))
    assert "Makeup (2 days) 2 days Change" in texts
    assert sum(text.startswith("Makeup ") for text in texts) == 1


def test_the_plan_page_marks_a_changed_length_beside_the_guidance(practitioner_client, plan):
    practitioner_client.post(_restriction_url(plan), {"days": "3", "extra_hours": "6"})
    texts = _row_texts(_treatment_page(practitioner_client, plan))
    assert "Makeup changed (3 days 6 hours) 3 days 6 hours (guidance: 2 days) Change" in texts


def test_the_plan_page_lists_each_reminder_once(practitioner_client, plan):
    page = _treatment_page(practitioner_client, plan)
    for reminder in plan.content_plan.reminders:
        assert page.count(f"<td>{reminder.label}</td>") == 1


def test_the_plan_page_shows_no_fact_ids_or_guidance_fingerprint(practitioner_client, plan):
    page = _treatment_page(practitioner_client, plan)
    assert "clinical facts" not in page
    assert "from guidance" not in page
    assert plan.guidance.fingerprint[:12] not in page
    for fact_id in plan.content_plan.fact_ids:
        assert f" {fact_id}," not in page and f" {fact_id}<" not in page


def test_a_sent_reminder_is_marked_sent_and_cannot_be_skipped(practitioner_client, plan):
    first = Reminder.objects.filter(patient=plan.treatment.patient).order_by("due_at").first()
    first.status = ReminderStatus.SENT
    first.sent_at = timezone.now()
    first.save()
    page = _treatment_page(practitioner_client, plan)
    assert f"{first.label} Sent" in _row_texts(page)
    assert f'aria-label="Skip {first.label}"' not in page


def test_front_desk_sees_no_regenerate_button(front_desk_client, practitioner_client, plan):
    assert "Regenerate" not in _treatment_page(front_desk_client, plan)
    assert "Regenerate the plan" in _treatment_page(practitioner_client, plan)


def test_front_desk_sees_no_make_the_plan_button(front_desk_client, practitioner_client, clinic):
    treatment = TreatmentFactory(patient__clinic=clinic)
    url = reverse("patients:treatment_detail", args=[treatment.pk])
    assert "Make the plan" not in front_desk_client.get(url).content.decode()
    assert "Make the plan" in practitioner_client.get(url).content.decode()


# Front desk and other clinics


@pytest.mark.parametrize(
    "name, args",
    [
        ("aftercare:adjust_restriction", ["makeup"]),
        ("aftercare:adjust_note", []),
        ("aftercare:adjust_skip_reminder", ["day-3"]),
        ("aftercare:adjust_add_reminder", []),
    ],
)
def test_front_desk_cannot_adjust_clinical_content(front_desk_client, plan, name, args):
    url = reverse(name, args=[plan.pk, *args])
    assert front_desk_client.get(url).status_code == 403
    data = {"days": "1", "text": "x", "day_number": "5", "label": "x", "reason": "x"}
    assert front_desk_client.post(url, data).status_code == 403
    assert not PlanAdjustment.objects.exists()


def test_front_desk_does_not_see_the_adjust_buttons(front_desk_client, practitioner_client, plan):
    for button in [
        'aria-label="Change Makeup"',
        "Add a reminder",
        "a personal note",
        'aria-label="Skip ',
    ]:
        assert button not in _treatment_page(front_desk_client, plan)
        assert button in _treatment_page(practitioner_client, plan)


def test_front_desk_regenerating_cannot_drop_the_adjustments(
    front_desk_client, practitioner_client, plan
):
    practitioner_client.post(_restriction_url(plan), {"days": "3"})
    url = reverse("aftercare:regenerate", args=[plan.treatment_id])
    front_desk_client.post(url, {"drop_adjustments": "1"})
    assert PlanAdjustment.objects.get().is_active


def test_a_practitioner_regenerating_can_drop_the_adjustments(practitioner_client, plan):
    practitioner_client.post(_restriction_url(plan), {"days": "3"})
    url = reverse("aftercare:regenerate", args=[plan.treatment_id])
    practitioner_client.post(url, {"drop_adjustments": "1"})
    assert not PlanAdjustment.objects.get().is_active
    makeup = next(r for r in _current(plan).content["restrictions"] if r["key"] == "makeup")
    assert makeup["hours"] == 48


def test_another_clinics_plan_is_not_found(practitioner_client):
    other = plan_create(treatment=TreatmentFactory(performed_at=timezone.now()))
    assert practitioner_client.get(_restriction_url(other)).status_code == 404
    assert (
        practitioner_client.get(reverse("aftercare:plan_revision", args=[other.pk])).status_code
        == 404
    )


# Notes and reminders


def test_a_note_goes_on_the_next_reminder(practitioner_client, plan):
    practitioner_client.post(
        reverse("aftercare:adjust_note", args=[plan.pk]), {"text": "Deeper today: 72 h."}
    )
    waiting = Reminder.objects.filter(patient=plan.treatment.patient, status="pending")
    first = waiting.order_by("due_at").first()
    assert first.note == "Deeper today: 72 h."
    assert list(waiting.exclude(pk=first.pk).exclude(note="")) == []


def test_skipping_a_reminder_cancels_it(practitioner_client, plan):
    url = reverse("aftercare:adjust_skip_reminder", args=[plan.pk, "day-3"])
    assert "will not be sent" in practitioner_client.get(url).content.decode()
    practitioner_client.post(url, {"reason": "Seen in clinic that day."})
    row = Reminder.objects.get(kind="day-3")
    assert row.status == ReminderStatus.CANCELLED
    assert PlanAdjustment.objects.get().reason == "Seen in clinic that day."


def test_adding_a_reminder_on_a_day_that_has_one_is_refused(practitioner_client, plan):
    url = reverse("aftercare:adjust_add_reminder", args=[plan.pk])
    response = practitioner_client.post(
        url, {"day_number": "3", "label": "Check-in", "text": "How is it going?"}
    )
    assert response.context["form"].errors == {
        "day_number": ["“Three days in” already goes out on day 3: one email a day at most."]
    }


def test_adding_a_reminder_schedules_it(practitioner_client, plan):
    url = reverse("aftercare:adjust_add_reminder", args=[plan.pk])
    response = practitioner_client.post(
        url, {"day_number": "2", "label": "Check-in", "text": "How is it going?"}
    )
    assert response.status_code == 302
    row = Reminder.objects.get(label="Check-in")
    assert (row.day_number, row.covers, row.status) == (2, "How is it going?", "pending")
    assert row.plan == _current(plan)


# Courses


def test_a_practitioner_starts_a_course_from_the_patient_page(practitioner_client, plan):
    patient = plan.treatment.patient
    url = reverse("aftercare:course_create", args=[patient.pk])
    data = {
        "sessions": "4",
        "min_interval_weeks": "4",
        "max_interval_weeks": "6",
        # The treatment's own day: just after midnight "today" would come after it.
        "starts_on": timezone.localdate(plan.treatment.performed_at, LONDON).isoformat(),
    }
    assert practitioner_client.post(url, data).status_code == 302
    assert _current(plan).content["course"]["session"] == 1
    detail = practitioner_client.get(reverse("patients:detail", args=[patient.pk]))
    assert "4 sessions, 4–6 weeks apart" in detail.content.decode()


def test_the_course_form_fills_in_the_first_session_as_an_iso_date(practitioner_client, plan):
    # en-gb would write 25/11/2026, which a date input throws away.
    day = timezone.localdate(plan.treatment.performed_at, LONDON)
    url = reverse("aftercare:course_create", args=[plan.treatment.patient_id])
    page = practitioner_client.get(url).content.decode()
    assert f'type="date" name="starts_on" value="{day.isoformat()}"' in page


def test_a_course_interval_must_be_in_order(practitioner_client, plan):
    url = reverse("aftercare:course_create", args=[plan.treatment.patient_id])
    data = {"sessions": "4", "min_interval_weeks": "6", "max_interval_weeks": "4"}
    response = practitioner_client.post(url, {**data, "starts_on": "2026-03-01"})
    assert response.context["form"].errors == {
        "max_interval_weeks": ["At most 4 weeks is fewer than at least 6."]
    }


def test_front_desk_cannot_start_a_course(front_desk_client, plan):
    url = reverse("aftercare:course_create", args=[plan.treatment.patient_id])
    assert front_desk_client.get(url).status_code == 403


def _patient_on_course(clinic, performed_at: datetime, name: str):
    patient = PatientFactory(clinic=clinic, last_name=name)
    treatment = TreatmentFactory(patient=patient, performed_at=performed_at)
    plan_create(treatment=treatment, now=performed_at)
    day = timezone.localtime(performed_at, LONDON).date()
    course_start(
        patient=patient,
        sessions=4,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=day,
        created_by=None,
        now=performed_at,
    )
    return patient


def test_the_next_sessions_page_lists_windows_opening_in_the_coming_week_across_the_clocks_change(
    clinic, front_desk_client
):
    # Sessions on 28 February and 3 March (GMT); their windows open on 28 March and
    # 31 March. Clocks go forward at 01:00 on 29 March.
    _patient_on_course(clinic, datetime(2026, 2, 28, 10, 0, tzinfo=UTC), "Early")
    _patient_on_course(clinic, datetime(2026, 3, 3, 10, 0, tzinfo=UTC), "Later")
    _patient_on_course(clinic, datetime(2026, 3, 20, 10, 0, tzinfo=UTC), "Far")
    # 23:30 UTC on 23 March is still 23 March in London: the week runs to 30 March.
    with time_machine.travel(datetime(2026, 3, 23, 23, 30, tzinfo=UTC), tick=False):
        page = front_desk_client.get(reverse("aftercare:courses_due")).content.decode()
    coming = page.split("Window open now")[0]
    assert "Early" in coming
    assert "Later" not in coming
    assert "Far" not in page
    assert "Session 2 of 4" in coming
    assert "Sat 28 Mar – Sat 11 Apr 2026" in coming
    # Half past midnight on 24 March (still GMT): the week now reaches 31 March.
    with time_machine.travel(datetime(2026, 3, 24, 0, 30, tzinfo=UTC), tick=False):
        page = front_desk_client.get(reverse("aftercare:courses_due")).content.decode()
    assert "Later" in page.split("Window open now")[0]


def test_the_next_sessions_page_shows_only_the_clinics_patients(clinic, front_desk_client):
    other = StaffMembershipFactory().clinic
    _patient_on_course(other, datetime(2026, 2, 28, 10, 0, tzinfo=UTC), "Elsewhere")
    with time_machine.travel(datetime(2026, 3, 23, 12, 0, tzinfo=UTC), tick=False):
        page = front_desk_client.get(reverse("aftercare:courses_due")).content.decode()
    assert "Elsewhere" not in page


def test_a_patient_whose_window_is_open_is_listed_until_they_come_back(clinic, practitioner_client):
    patient = _patient_on_course(clinic, datetime(2026, 2, 2, 10, 0, tzinfo=UTC), "Waiting")
    with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False):
        page = practitioner_client.get(reverse("aftercare:courses_due")).content.decode()
        assert "Waiting" in page.split("Window open now")[1]
        TreatmentFactory(
            patient=patient, performed_at=datetime.combine(date(2026, 3, 10), time(9), LONDON)
        )
        page = practitioner_client.get(reverse("aftercare:courses_due")).content.decode()
    assert "Waiting" not in page


def test_the_patients_pages_say_which_session_it_is_and_link_the_booking_page(
    clinic, practitioner_client, plan
):
    clinic.booking_url = "https://book.example.com/harbour"
    clinic.save()
    course_start(
        patient=plan.treatment.patient,
        sessions=4,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=timezone.localtime(plan.treatment.performed_at, LONDON).date(),
        created_by=None,
    )
    patient = Client()
    link = link_current(plan=plan, now=timezone.now())
    patient.get(reverse("patient:open", args=[clinic.slug, token_for(link)]))
    today = patient.get(reverse("patient:today", args=[clinic.slug])).content.decode()
    assert "Session 1 of 4" in today
    assert 'href="https://book.example.com/harbour"' in today
    timeline = patient.get(reverse("patient:timeline", args=[clinic.slug])).content.decode()
    assert "Session 1 of 4 of your course." in timeline
    sheet = practitioner_client.get(reverse("aftercare:sheet", args=[_current(plan).pk]))
    assert "Session 1 of 4" in sheet.content.decode()


def test_the_plan_page_runs_the_same_queries_however_many_revisions(
    practitioner_client, plan, django_assert_max_num_queries
):
    for _ in range(3):
        plan = plan_create(treatment=plan.treatment)
    # Session, user, membership, clinic and permissions take 6; the plan 1.
    with django_assert_max_num_queries(7):
        response = practitioner_client.get(reverse("aftercare:plan_revision", args=[plan.pk]))
    assert response.status_code == 200
