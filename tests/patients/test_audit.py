"""The audit trail of clinical records (patients.audit, django-auditlog)."""

import pytest
from auditlog.models import LogEntry
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory
from django.urls import reverse

from clinic.models import StaffRole
from patients.models import Patient
from tests.factories import StaffMembershipFactory, TreatmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def practitioner_and_client(clinic):
    user = StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user
    client = Client()
    client.force_login(user)
    return user, client


def _entries(patient):
    return LogEntry.objects.get_for_object(patient).order_by("timestamp", "id")


def test_creating_and_changing_a_patient_records_who_did_it(practitioner_and_client):
    user, client = practitioner_and_client
    client.post(
        reverse("patients:create"), {"first_name": "Kit", "last_name": "Marsh", "skin_type": "2"}
    )
    patient = Patient.objects.get(last_name="Marsh")
    client.post(
        reverse("patients:edit", args=[patient.pk]),
        {"first_name": "Kit", "last_name": "Marsh", "skin_type": "3", "sensitive_skin": "on"},
    )
    created, changed = [e for e in _entries(patient) if e.action != LogEntry.Action.ACCESS]
    assert (created.action, created.actor) == (LogEntry.Action.CREATE, user)
    assert changed.action == LogEntry.Action.UPDATE
    assert changed.actor == user
    assert set(changed.changes_dict) == {"skin_type", "sensitive_skin"}


def test_viewing_a_patients_record_is_logged_with_the_page(practitioner_and_client, clinic):
    user, client = practitioner_and_client
    treatment = TreatmentFactory(patient__clinic=clinic)
    client.get(reverse("patients:detail", args=[treatment.patient_id]))
    client.get(reverse("patients:treatment_detail", args=[treatment.pk]))
    views = _entries(treatment.patient).filter(action=LogEntry.Action.ACCESS)
    assert [(e.actor, e.additional_data["page"]) for e in views] == [
        (user, "patient"),
        (user, "treatment"),
    ]


def test_treatment_changes_are_logged(clinic):
    treatment = TreatmentFactory(patient__clinic=clinic)
    treatment.passes = 4
    treatment.save()
    actions = list(
        LogEntry.objects.get_for_object(treatment).order_by("id").values_list("action", flat=True)
    )
    assert actions == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]


def test_the_client_address_comes_from_the_connection_not_a_forged_header(
    practitioner_and_client, clinic
):
    _user, client = practitioner_and_client
    treatment = TreatmentFactory(patient__clinic=clinic)
    client.get(
        reverse("patients:detail", args=[treatment.patient_id]),
        REMOTE_ADDR="192.0.2.10",
        HTTP_X_FORWARDED_FOR="6.6.6.6",
    )
    entry = _entries(treatment.patient).get(action=LogEntry.Action.ACCESS)
    assert entry.remote_addr == "192.0.2.10"


def test_the_audit_is_readable_but_not_editable_in_the_admin():
    admin = site._registry[LogEntry]
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    assert admin.has_view_permission(request)
    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)
