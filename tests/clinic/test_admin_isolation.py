"""The Django admin, tried by every role of one clinic against another clinic's rows.

Every registered ModelAdmin is either clinic-scoped (`ClinicScopedAdmin`) or listed in
SUPERUSER_ONLY; a new one that is neither fails `test_every_admin_is_scoped_or_superuser_only`
by name. For each scoped model, OTHER_CLINIC_ROWS says how to find the other clinic's row;
each role of this clinic then tries the admin's changelist, search, change (GET and POST),
history, delete (GET and POST) and every autocomplete that offers that model.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from axes.models import AccessFailureLog
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice

from aftercare.links import link_issue
from aftercare.models import (
    ConcernReport,
    GuidanceItem,
    IntensityFactor,
    IntensityLevel,
    RecoveryPhase,
    Reminder,
    ReminderMoment,
    RestrictionRule,
    SentMessage,
    TreatmentCourse,
)
from aftercare.planner.adjustments import Adjustment
from aftercare.plans.services import plan_adjust, plan_create
from clinic.admin_scoping import ClinicScopedAdmin
from clinic.models import StaffMembership, StaffRole
from patients.models import Patient
from tests.factories import (
    ClinicFactory,
    PatientFactory,
    StaffMembershipFactory,
    TreatmentFactory,
)
from tests.two_factor import authenticator_for, verified_client

pytestmark = pytest.mark.django_db

# The platform's own tables: no role of a clinic holds a permission on them.
SUPERUSER_ONLY = {
    "auth.user",
    "auth.group",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "auditlog.logentry",
    "aftercare.guidancesnapshot",
    "otp_totp.totpdevice",
    "otp_static.staticdevice",
}
MARKER = "Zyxwother"

OTHER_CLINIC_ROWS: dict[str, Callable[[SimpleNamespace], models.Model]] = {
    "clinic.clinic": lambda other: other.clinic,
    "clinic.staffmembership": lambda other: other.membership,
    "patients.patient": lambda other: other.patient,
    "patients.treatment": lambda other: other.treatment,
    "aftercare.aftercareplan": lambda other: other.plan,
    "aftercare.reminder": lambda other: other.reminder,
    "aftercare.sentmessage": lambda other: other.sent,
    "aftercare.patientlink": lambda other: other.link,
    "aftercare.concernreport": lambda other: other.concern,
    "aftercare.planadjustment": lambda other: other.adjustment,
    "aftercare.treatmentcourse": lambda other: other.course,
    "aftercare.recoveryphase": lambda other: RecoveryPhase.objects.get(
        clinic=other.clinic, key="inflammation"
    ),
    "aftercare.guidanceitem": lambda other: GuidanceItem.objects.filter(clinic=other.clinic)[0],
    "aftercare.restrictionrule": lambda other: RestrictionRule.objects.get(
        clinic=other.clinic, key="makeup"
    ),
    "aftercare.remindermoment": lambda other: ReminderMoment.objects.filter(clinic=other.clinic)[0],
    "aftercare.intensityfactor": lambda other: IntensityFactor.objects.filter(clinic=other.clinic)[
        0
    ],
    "aftercare.intensitylevel": lambda other: IntensityLevel.objects.get(
        clinic=other.clinic, rank=1
    ),
}


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


REGISTERED = sorted(admin.site._registry, key=_label)
ROLES = list(StaffRole.values)


def test_every_admin_is_scoped_or_superuser_only():
    unscoped = [
        _label(model)
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, ClinicScopedAdmin) and _label(model) not in SUPERUSER_ONLY
    ]
    assert not unscoped, (
        "Registered in the admin without clinic scoping: "
        f"{', '.join(sorted(unscoped))}. Derive the ModelAdmin from "
        "clinic.admin_scoping.ClinicScopedAdmin, or list it in SUPERUSER_ONLY."
    )


def test_every_scoped_admin_has_a_row_of_another_clinic_to_try():
    scoped = {
        _label(model)
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, ClinicScopedAdmin)
    }
    missing = sorted(scoped - set(OTHER_CLINIC_ROWS))
    assert not missing, f"Add to OTHER_CLINIC_ROWS how to make a row of: {', '.join(missing)}"


@pytest.fixture
def other():
    """One row of every clinic-scoped kind, in a clinic the users below do not work for."""
    clinic = ClinicFactory(name=f"{MARKER} Clinic")
    membership = StaffMembershipFactory(
        clinic=clinic, role=StaffRole.PRACTITIONER, user__last_name=MARKER
    )
    patient = PatientFactory(clinic=clinic, last_name=MARKER, email="zyx@example.com")
    treatment = TreatmentFactory(patient=patient, practitioner=membership.user)
    plan = plan_create(treatment=treatment, created_by=membership.user)
    adjustment = plan_adjust(
        plan=plan, adjustment=Adjustment(kind="note", text="Hello"), reason="", user=membership.user
    )
    plan = adjustment.plan
    reminder = Reminder.objects.filter(plan=plan).first()
    sent = SentMessage.objects.create(
        reminder=reminder,
        message_id=reminder.message_id,
        to=patient.email,
        subject="Your aftercare",
        text_body="Hello",
        html_body="<p>Hello</p>",
        sent_at=timezone.now(),
    )
    concern = ConcernReport.objects.create(
        plan=plan,
        patient=patient,
        clinic=clinic,
        symptoms=["heat"],
        created_at=timezone.now() - timedelta(minutes=5),
    )
    course = TreatmentCourse.objects.create(
        patient=patient,
        sessions=4,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=timezone.localdate(),
        created_at=timezone.now(),
    )
    # Rows for the platform's tables: a failed login (axes), second-factor devices.
    Client().post(reverse("login"), {"username": membership.user.username, "password": "wrong"})
    authenticator_for(membership.user)
    StaticDevice.objects.create(user=membership.user, name="Recovery codes")
    AccessFailureLog.objects.create(
        username=membership.user.username, ip_address="127.0.0.1", user_agent="test", path_info="/"
    )
    return SimpleNamespace(
        clinic=clinic,
        membership=membership,
        patient=patient,
        treatment=treatment,
        plan=plan,
        reminder=reminder,
        sent=sent,
        link=link_issue(plan=plan),
        concern=concern,
        adjustment=adjustment,
        course=course,
    )


def _client_for(clinic, role: str) -> Client:
    """Logged in, past the second factor (which clinic admins must pass for the admin)."""
    return verified_client(StaffMembershipFactory(clinic=clinic, role=role).user)


def _url(model: type[models.Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _row_of_other_clinic(model: type[models.Model], other: SimpleNamespace) -> models.Model:
    label = _label(model)
    if label in OTHER_CLINIC_ROWS:
        return OTHER_CLINIC_ROWS[label](other)
    # Superuser-only tables: any row will do; the point is that nobody else sees one.
    return model._default_manager.first()


def _listed_ids(response) -> set[int]:
    if response.status_code != 200:
        return set()
    return {row.pk for row in response.context["cl"].result_list}


def _refused(response) -> bool:
    """403, or the admin's redirect away: to the login, or "doesn't exist" to the index."""
    return response.status_code in {302, 403, 404}


def _autocomplete_sources(target: type[models.Model]) -> list[tuple[type[models.Model], str]]:
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey | models.OneToOneField)
        and field.related_model is target
    ]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_no_role_reaches_another_clinics_row(model, role, clinic, other):
    client = _client_for(clinic, role)
    row = _row_of_other_clinic(model, other)
    before = model._default_manager.filter(pk=row.pk).values().get()

    assert row.pk not in _listed_ids(client.get(_url(model, "changelist")))
    assert row.pk not in _listed_ids(client.get(_url(model, "changelist"), {SEARCH_VAR: MARKER}))
    assert _refused(client.get(_url(model, "change", row.pk)))
    assert _refused(client.post(_url(model, "change", row.pk), {"last_name": "Changed"}))
    assert _refused(client.get(_url(model, "history", row.pk)))
    assert _refused(client.get(_url(model, "delete", row.pk)))
    assert _refused(client.post(_url(model, "delete", row.pk), {"post": "yes"}))
    assert model._default_manager.filter(pk=row.pk).values().get() == before

    for source, field_name in _autocomplete_sources(model):
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": source._meta.app_label,
                "model_name": source._meta.model_name,
                "field_name": field_name,
                "term": "",
            },
        )
        if response.status_code == 200:
            assert str(row.pk) not in {result["id"] for result in response.json()["results"]}
        else:
            assert response.status_code in {302, 403, 404}


@pytest.mark.parametrize(
    "model",
    [model for model in REGISTERED if _label(model) in SUPERUSER_ONLY],
    ids=_label,
)
def test_a_clinic_admin_cannot_open_the_platforms_tables(model, clinic):
    client = _client_for(clinic, StaffRole.CLINIC_ADMIN)
    assert client.get(_url(model, "changelist")).status_code == 403
    assert client.get(_url(model, "add")).status_code == 403


def test_a_clinic_admin_sees_their_own_clinics_rows(clinic, other):
    """The scoping above must not pass by hiding everything from everyone."""
    client = _client_for(other.clinic, StaffRole.CLINIC_ADMIN)
    for label in ["patients.patient", "aftercare.reminder", "aftercare.concernreport"]:
        model = apps.get_model(label)
        row = OTHER_CLINIC_ROWS[label](other)
        assert row.pk in _listed_ids(client.get(_url(model, "changelist"))), label
        assert client.get(_url(model, "change", row.pk)).status_code == 200, label


@pytest.mark.parametrize("label", sorted(OTHER_CLINIC_ROWS))
def test_a_clinic_admins_own_rows_open_or_are_refused_never_fail(label, clinic, other):
    client = _client_for(other.clinic, StaffRole.CLINIC_ADMIN)
    model = apps.get_model(label)
    row = OTHER_CLINIC_ROWS[label](other)
    for url in [_url(model, "changelist"), _url(model, "change", row.pk), _url(model, "add")]:
        assert client.get(url).status_code in {200, 403}, url


def test_a_clinic_admin_cannot_move_a_patient_into_another_clinic(clinic, other):
    client = _client_for(clinic, StaffRole.CLINIC_ADMIN)
    patient = PatientFactory(clinic=clinic)
    form = client.get(_url(Patient, "change", patient.pk)).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "clinic": other.clinic.pk,
            "date_of_birth": "",
            "treatments-TOTAL_FORMS": 0,
            "treatments-INITIAL_FORMS": 0,
            "consent_changes-TOTAL_FORMS": 0,
            "consent_changes-INITIAL_FORMS": 0,
        }
    )
    client.post(_url(Patient, "change", patient.pk), data)
    patient.refresh_from_db()
    assert patient.clinic == clinic


def test_a_clinic_admin_cannot_move_their_own_membership(clinic, other):
    membership = StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN)
    client = verified_client(membership.user)
    response = client.post(
        _url(StaffMembership, "change", membership.pk),
        {
            "clinic": other.clinic.pk,
            "role": StaffRole.CLINIC_ADMIN,
            "user": other.membership.user.pk,
        },
    )
    membership.refresh_from_db()
    assert response.status_code in {200, 302}
    assert membership.clinic == clinic
    assert membership.user_id != other.membership.user.pk


def test_the_clinic_choice_offers_only_the_users_own_clinic(clinic, other):
    client = _client_for(clinic, StaffRole.CLINIC_ADMIN)
    patient = PatientFactory(clinic=clinic)
    field = (
        client.get(_url(Patient, "change", patient.pk)).context["adminform"].form.fields["clinic"]
    )
    assert list(field.queryset) == [clinic]
    assert field.disabled


def test_a_clinic_filter_is_not_offered_to_clinic_admins(clinic, other):
    client = _client_for(clinic, StaffRole.CLINIC_ADMIN)
    response = client.get(_url(Patient, "changelist"))
    assert MARKER.encode() not in response.content


def test_a_clinic_admin_cannot_add_staff_through_the_admin(clinic):
    client = _client_for(clinic, StaffRole.CLINIC_ADMIN)
    assert client.get(_url(StaffMembership, "add")).status_code == 403
