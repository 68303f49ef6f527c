"""The role and clinic matrix: every staff URL, tried by each role and by another clinic.

The table below names every URL of the project. A staff URL that is missing from it
makes `test_every_url_is_in_the_table` fail with its name: add it with the roles that
may use it. Public URLs (patients' pages, login, health checks) and the Django admin
(which has its own permission checks) are listed as exempt.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from PIL import Image

from aftercare.models import (
    ConcernReport,
    Reminder,
    ReminderStatus,
    SentMessage,
    TreatmentCourse,
)
from aftercare.plans.services import plan_create
from clinic.models import StaffRole
from tests.factories import (
    ClinicFactory,
    PatientFactory,
    StaffMembershipFactory,
    TreatmentFactory,
)
from tests.two_factor import verified_client

FRONT_DESK = StaffRole.FRONT_DESK
PRACTITIONER = StaffRole.PRACTITIONER
CLINIC_ADMIN = StaffRole.CLINIC_ADMIN
EVERYONE = frozenset(StaffRole.values)
TREATERS = frozenset({PRACTITIONER, CLINIC_ADMIN})
ADMINS = frozenset({CLINIC_ADMIN})

# URL name -> (the object in its path, the method tried, the roles allowed).
STAFF_URLS: dict[str, tuple[str | None, str, frozenset[str]]] = {
    "home": (None, "get", EVERYONE),
    "staff:list": (None, "get", ADMINS),
    "staff:create": (None, "get", ADMINS),
    "staff:edit": ("staff", "get", ADMINS),
    "patients:list": (None, "get", EVERYONE),
    "patients:create": (None, "get", EVERYONE),
    "patients:detail": ("patient", "get", EVERYONE),
    "patients:edit": ("patient", "get", EVERYONE),
    "patients:consent_renew": ("patient", "get", EVERYONE),
    "patients:timeline": ("patient", "get", EVERYONE),
    "patients:export_html": ("patient", "get", ADMINS),
    "patients:export_json": ("patient", "get", ADMINS),
    "patients:erase": ("patient", "get", ADMINS),
    "patients:treatment_create": ("patient", "get", TREATERS),
    "patients:treatment_detail": ("treatment", "get", EVERYONE),
    "aftercare:regenerate": ("treatment", "post", TREATERS),
    "aftercare:sheet": ("plan", "get", EVERYONE),
    "aftercare:reminder_resend": ("reminder", "post", EVERYONE),
    "aftercare:stop_reminders": ("patient", "post", EVERYONE),
    "aftercare:revoke_links": ("patient", "post", EVERYONE),
    "aftercare:reissue_link": ("patient", "post", EVERYONE),
    "aftercare:sent_message": ("sent", "get", EVERYONE),
    "aftercare:concern_list": (None, "get", EVERYONE),
    "aftercare:concern_detail": ("concern", "get", EVERYONE),
    "aftercare:concern_photo": ("concern", "get", EVERYONE),
    "aftercare:plan_revision": ("plan", "get", EVERYONE),
    "aftercare:adjust_restriction": ("plan", "get", TREATERS),
    "aftercare:adjust_note": ("plan", "get", TREATERS),
    "aftercare:adjust_skip_reminder": ("plan", "get", TREATERS),
    "aftercare:adjust_add_reminder": ("plan", "get", TREATERS),
    "aftercare:course_create": ("patient", "get", TREATERS),
    "aftercare:course_end": ("course", "post", TREATERS),
    "aftercare:courses_due": (None, "get", EVERYONE),
}
# Path arguments after the object's id.
EXTRA_ARGS = {
    "aftercare:adjust_restriction": ["makeup"],
    "aftercare:adjust_skip_reminder": ["day-3"],
}

# Not staff pages: reached without a clinic login, or guarded by the admin itself.
EXEMPT_URLS = {"login", "logout", "healthz", "readyz", "favicon"}
EXEMPT_NAMESPACES = {
    "patient": "patients' pages behind their emailed link",
    "admin": "Django admin: is_staff and model permissions",
    "two_factor": "the second step of logging in, for any role (tests/clinic/test_two_factor.py)",
    "webhooks": "email providers' delivery reports, signed (aftercare/delivery/test_webhook_urls)",
    "texts": "Twilio's reports and replies, signed (aftercare/delivery/test_text_webhooks)",
}


def _all_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace: str, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                names.add(f"{namespace}{pattern.name or prefix + str(pattern.pattern)}")

    walk(get_resolver().url_patterns, "", "/")
    return names


def test_every_url_is_in_the_table():
    unlisted = sorted(
        name
        for name in _all_url_names()
        if name not in STAFF_URLS
        and name not in EXEMPT_URLS
        and name.split(":")[0] not in EXEMPT_NAMESPACES
    )
    assert not unlisted, (
        "Staff URLs missing from STAFF_URLS in tests/clinic/test_url_access.py "
        f"(say which roles may use them): {', '.join(unlisted)}"
    )


def test_the_table_names_only_urls_that_exist():
    assert set(STAFF_URLS) <= _all_url_names()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def records(clinic, tmp_path, monkeypatch):
    """One of each object a staff URL can point at, in `clinic`."""
    field = ConcernReport._meta.get_field("photo")
    monkeypatch.setattr(field, "storage", FileSystemStorage(location=tmp_path))
    patient = PatientFactory(clinic=clinic, first_name="Matrixa", last_name="Rowe")
    practitioner = StaffMembershipFactory(clinic=clinic, role=PRACTITIONER).user
    treatment = TreatmentFactory(patient=patient, practitioner=practitioner)
    plan = plan_create(treatment=treatment, created_by=practitioner)
    reminder = Reminder.objects.filter(plan=plan).first()
    Reminder.objects.filter(pk=reminder.pk).update(status=ReminderStatus.FAILED)
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
        is_red_flag=True,
        created_at=timezone.now() - timedelta(minutes=5),
    )
    concern.photo.save("photo.jpg", ContentFile(_jpeg()))
    course = TreatmentCourse.objects.create(
        patient=patient,
        sessions=4,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=timezone.localdate(),
        created_at=timezone.now(),
    )
    return {
        "patient": patient,
        "treatment": treatment,
        "plan": plan,
        "course": course,
        "reminder": reminder,
        "sent": sent,
        "concern": concern,
        "staff": practitioner,
    }


def _client_for(clinic, role) -> Client:
    # Past the second factor: this matrix is about roles and clinics.
    return verified_client(StaffMembershipFactory(clinic=clinic, role=role).user)


def _request(client: Client, name: str, records) -> object:
    kind, method, _allowed = STAFF_URLS[name]
    args = [records[kind].pk, *EXTRA_ARGS.get(name, [])] if kind else []
    return getattr(client, method)(reverse(name, args=args))


MATRIX = [(name, role) for name in STAFF_URLS for role in StaffRole.values]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), MATRIX)
def test_each_role_gets_exactly_the_urls_its_permissions_allow(name, role, clinic, records):
    response = _request(_client_for(clinic, role), name, records)
    if role in STAFF_URLS[name][2]:
        assert response.status_code in {200, 302}, response.status_code
        if response.status_code == 302:
            assert not response.url.startswith(reverse("login"))
            assert not response.url.startswith("/accounts/two-factor/")
    else:
        assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(STAFF_URLS))
def test_another_clinics_admin_cannot_reach_this_clinics_records(name, clinic, records):
    response = _request(_client_for(ClinicFactory(), CLINIC_ADMIN), name, records)
    if STAFF_URLS[name][0] is None:
        assert response.status_code in {200, 302}
        assert b"Matrixa" not in response.content
    else:
        assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(STAFF_URLS))
def test_anonymous_visitors_are_sent_to_login(name, records):
    response = _request(Client(), name, records)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
