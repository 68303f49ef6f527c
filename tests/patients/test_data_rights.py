"""Export and erasure of one patient's record (patients.data_rights), on PostgreSQL.

The erasure test plants distinctive strings in every place a patient's data can live,
erases the patient, then reads every table of the database looking for them.
"""

import io
import json
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.admin.models import CHANGE
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from aftercare.links import link_current
from aftercare.models import AftercarePlan, ConcernReport, Reminder, ReminderStatus, SentMessage
from aftercare.planner.adjustments import ADD_REMINDER, NOTE, RESTRICTION, Adjustment
from aftercare.planner.planning import plan_from_dict
from aftercare.plans.services import course_start, plan_adjust, plan_create
from clinic.models import StaffRole
from patients.models import Patient, Treatment
from tests.factories import StaffMembershipFactory, TreatmentFactory
from tests.two_factor import verified_client

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SECRETS = [
    "Zephyrine",
    "Quillborough",
    "zq-unique-mail",
    "07700 123987",
    "SECRET-HISTORY",
    "SECRET-TREATMENT-NOTE",
    "SECRET-PRODUCT",
    "SECRET-CONCERN",
    "SECRET-HANDLING",
    "SECRET-NOTE",
    "SECRET-REASON",
    "SECRET-ADDED-LABEL",
    "SECRET-ADDED-TEXT",
]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def photo_storage(tmp_path, monkeypatch):
    field = ConcernReport._meta.get_field("photo")
    monkeypatch.setattr(field, "storage", FileSystemStorage(location=tmp_path))
    return tmp_path


@pytest.fixture
def admin_client(clinic) -> Client:
    return verified_client(StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user)


@pytest.fixture
def record(clinic, admin_client, photo_storage):
    """A patient with data in every table that can hold some, made through the staff pages."""
    admin_client.post(
        reverse("patients:create"),
        {
            "first_name": "Zephyrine",
            "last_name": "Quillborough",
            "email": "zq-unique-mail@example.com",
            "phone": "07700 123987",
            "skin_type": "4",
            "email_consent": "on",
            "history_notes": "SECRET-HISTORY",
        },
    )
    patient = Patient.objects.get(last_name="Quillborough")
    treatment = TreatmentFactory(
        patient=patient,
        notes="SECRET-TREATMENT-NOTE",
        products_applied="SECRET-PRODUCT",
        performed_at=timezone.now() - timedelta(hours=30),
    )
    plan = _adjusted(plan_create(treatment=treatment), clinic)
    link_current(plan=plan, now=timezone.now())
    first = Reminder.objects.filter(plan=plan).order_by("due_at").first()
    Reminder.objects.filter(pk=first.pk).update(status=ReminderStatus.SENT, sent_at=timezone.now())
    SentMessage.objects.create(
        reminder=first,
        message_id=first.message_id,
        to=patient.email,
        subject="Your aftercare from the clinic",
        text_body="Dear Zephyrine Quillborough, ...",
        html_body="<p>Dear Zephyrine</p>",
        sent_at=timezone.now(),
    )
    report = ConcernReport.objects.create(
        plan=plan,
        patient=patient,
        clinic=clinic,
        symptoms=["heat"],
        details="SECRET-CONCERN",
        is_red_flag=True,
        handling_note="SECRET-HANDLING",
        created_at=timezone.now(),
    )
    report.photo.save("report.jpg", ContentFile(_jpeg()))
    AdminLogEntry.objects.log_actions(
        user_id=StaffMembershipFactory(clinic=clinic).user_id,
        queryset=[patient],
        action_flag=CHANGE,
        change_message="Changed phone.",
    )
    admin_client.get(reverse("patients:timeline", args=[patient.pk]))
    return patient


def _adjusted(plan: AftercarePlan, clinic) -> AftercarePlan:
    """The plan after a practitioner wrote a note, a reason and an extra reminder."""
    practitioner = StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user
    content = plan_from_dict(plan.content)
    restriction = content.restrictions[0]
    free_day = next(
        day for day in range(1, 60) if day not in {r.day_number for r in content.reminders}
    )
    for adjustment, reason in [
        (Adjustment(kind=NOTE, text="SECRET-NOTE"), ""),
        (
            Adjustment(kind=RESTRICTION, key=restriction.key, hours=restriction.hours - 1),
            "SECRET-REASON",
        ),
        (
            Adjustment(
                kind=ADD_REMINDER,
                key="extra-check",
                day_number=free_day,
                label="SECRET-ADDED-LABEL",
                text="SECRET-ADDED-TEXT",
            ),
            "",
        ),
    ]:
        plan = plan_adjust(plan=plan, adjustment=adjustment, reason=reason, user=practitioner).plan
    course_start(
        patient=plan.treatment.patient,
        sessions=4,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=timezone.localdate(),
        created_by=practitioner,
    )
    return AftercarePlan.objects.get(treatment=plan.treatment, superseded_at__isnull=True)


def _tables_containing(needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # table names come from introspection
            text = repr(cursor.fetchall())
            hits = [needle for needle in needles if needle in text]
            if hits:
                found[table] = hits
    return found


def _erase(admin_client, patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return admin_client.post(reverse("patients:erase", args=[patient.pk]), {"confirm": "on"})


def test_the_planted_data_is_really_in_the_database_before_erasure(record):
    assert set(_tables_containing(SECRETS)) >= {
        "aftercare_aftercareplan",
        "aftercare_planadjustment",
        "aftercare_reminder",
        "patients_patient",
        "patients_treatment",
        "aftercare_sentmessage",
        "aftercare_concernreport",
        "auditlog_logentry",
        "django_admin_log",
    }


def test_erasure_leaves_none_of_the_patients_data_in_any_table(
    record, admin_client, django_capture_on_commit_callbacks
):
    _erase(admin_client, record, django_capture_on_commit_callbacks)
    assert _tables_containing(SECRETS) == {}


def test_erasure_deletes_the_photo_files(
    record, admin_client, photo_storage, django_capture_on_commit_callbacks
):
    assert any(photo_storage.rglob("*.jpg"))
    _erase(admin_client, record, django_capture_on_commit_callbacks)
    assert not any(photo_storage.rglob("*.jpg"))


def test_erasure_cancels_future_reminders_and_keeps_the_counts(
    record, admin_client, django_capture_on_commit_callbacks
):
    counts = (Patient.objects.count(), Treatment.objects.count(), Reminder.objects.count())
    _erase(admin_client, record, django_capture_on_commit_callbacks)
    assert (Patient.objects.count(), Treatment.objects.count(), Reminder.objects.count()) == counts
    assert ConcernReport.objects.filter(patient=record, is_red_flag=True).count() == 1
    statuses = set(Reminder.objects.filter(patient=record).values_list("status", flat=True))
    assert statuses == {ReminderStatus.SENT, ReminderStatus.CANCELLED}
    assert not Patient.objects.get(pk=record.pk).can_receive_reminders


def test_the_audit_keeps_only_the_fact_of_the_erasure(
    record, admin_client, django_capture_on_commit_callbacks
):
    _erase(admin_client, record, django_capture_on_commit_callbacks)
    treatment_ids = [
        str(pk) for pk in Treatment.objects.filter(patient=record).values_list("pk", flat=True)
    ]
    assert not LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Treatment), object_pk__in=treatment_ids
    ).exists()
    (entry,) = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Patient), object_pk=str(record.pk)
    )
    assert entry.action == LogEntry.Action.DELETE
    assert entry.object_repr == f"Erased patient #{record.pk}"
    assert entry.actor is not None
    assert entry.changes in (None, {}, "")


def test_the_export_holds_the_whole_record_and_is_logged(record, admin_client):
    response = admin_client.get(reverse("patients:export_json", args=[record.pk]))
    data = json.loads(response.content)
    assert data["patient"]["history_notes"] == "SECRET-HISTORY"
    assert data["treatments"][0]["notes"] == "SECRET-TREATMENT-NOTE"
    assert data["treatments"][0]["plans"][0]["content"]["intensity"]
    assert data["emails"][0]["copies"][0]["to"] == "zq-unique-mail@example.com"
    assert [link["status"] for link in data["links"]] == ["active"]
    assert data["concern_reports"][0]["details"] == "SECRET-CONCERN"
    assert data["concern_reports"][0]["has_photo"]
    assert [change["given"] for change in data["consent_history"]] == [True]
    assert LogEntry.objects.filter(
        object_pk=str(record.pk),
        action=LogEntry.Action.ACCESS,
        additional_data__page="export-json",
    ).exists()


def test_the_export_holds_the_practitioners_adjustments_and_the_course(record, admin_client):
    response = admin_client.get(reverse("patients:export_json", args=[record.pk]))
    data = json.loads(response.content)
    adjustments = data["treatments"][0]["adjustments"]
    assert [adjustment["reason"] for adjustment in adjustments] == ["", "SECRET-REASON", ""]
    assert "SECRET-NOTE" in adjustments[0]["change"]
    assert [course["sessions"] for course in data["courses"]] == [4]


def test_erasure_ends_the_patients_course(record, admin_client, django_capture_on_commit_callbacks):
    _erase(admin_client, record, django_capture_on_commit_callbacks)
    assert not record.courses.filter(ended_at__isnull=True).exists()
