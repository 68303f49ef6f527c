"""A demo-like clinic for the staff pages' browser tests, and browser contexts logged in.

The users are the ones the other browser tests use (factory staff with the test password),
logged in through a Django test client whose session cookie goes into the browser; the
clinic admin's session has passed the second factor (tests.two_factor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from aftercare.delivery.dispatch import dispatch_due
from aftercare.models import (
    AftercarePlan,
    ConcernReport,
    Reminder,
    ReminderStatus,
    SentMessage,
)
from aftercare.planner.adjustments import RESTRICTION, Adjustment
from aftercare.plans.services import course_start, plan_adjust, plan_create
from clinic.models import StaffRole
from patients.models import Patient
from tests.factories import (
    ClinicFactory,
    PatientFactory,
    StaffMembershipFactory,
    TreatmentFactory,
)
from tests.two_factor import login_verified

VIEWPORTS = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 900},
}
OPENING_HOURS = [(day, "09:00", "18:00") for day in range(6)]


@dataclass
class Demo:
    """A clinic on a working day, with something on every page."""

    practitioner: User
    front_desk: User
    admin: User
    patient: Patient
    bare_patient: Patient
    plan: AftercarePlan
    sent: SentMessage
    open_report: ConcernReport
    handled_report: ConcernReport


def staff_demo(settings) -> Demo:
    """The demo-like clinic; call with tasks' delay patched away (no broker in tests)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clinic = ClinicFactory(name="Harbour Lane Skin Clinic", opening_hours=OPENING_HOURS)
    staff = {
        role: StaffMembershipFactory(
            clinic=clinic,
            role=role,
            user__first_name=first,
            user__last_name=last,
        ).user
        for role, first, last in [
            (StaffRole.PRACTITIONER, "Priya", "Shah"),
            (StaffRole.FRONT_DESK, "Jo", "Rivera"),
            (StaffRole.CLINIC_ADMIN, "Alex", "Morgan"),
        ]
    }
    practitioner = staff[StaffRole.PRACTITIONER]
    patient = PatientFactory(
        clinic=clinic, first_name="Maya", last_name="Okafor", email="maya@example.com"
    )
    earlier = TreatmentFactory(
        patient=patient,
        practitioner=practitioner,
        performed_at=timezone.now() - timedelta(days=30),
    )
    plan_create(treatment=earlier, created_by=practitioner)
    treatment = TreatmentFactory(
        patient=patient,
        practitioner=practitioner,
        performed_at=timezone.now() - timedelta(hours=2),
        depth_mm=Decimal("1.5"),
        passes=3,
        areas=["cheeks", "forehead", "periorbital"],
        products_applied="Hyaluronic acid serum",
    )
    plan = plan_create(treatment=treatment, created_by=practitioner)
    course_start(
        patient=patient,
        sessions=4,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=timezone.localdate() - timedelta(days=30),
        created_by=practitioner,
    )
    pending = Reminder.objects.filter(patient=patient, status=ReminderStatus.PENDING)
    dispatch_due(now=max(timezone.now(), pending.order_by("due_at").first().due_at))
    plan = AftercarePlan.objects.get(treatment=treatment, superseded_at__isnull=True)
    makeup = next(r for r in plan.content_plan.restrictions if r.key == "makeup")
    plan_adjust(
        plan=plan,
        adjustment=Adjustment(kind=RESTRICTION, key="makeup", hours=makeup.hours + 24),
        reason="Went deeper on the cheeks.",
        user=practitioner,
    )
    plan = AftercarePlan.objects.get(treatment=treatment, superseded_at__isnull=True)
    failed = pending.order_by("due_at").first()
    failed.status = ReminderStatus.FAILED
    failed.last_error = "550 5.1.1 Mailbox unavailable"
    failed.save()
    now = timezone.now()
    open_report = ConcernReport.objects.create(
        plan=plan,
        patient=patient,
        clinic=clinic,
        symptoms=["pus"],
        details="Yellow crust on the left cheek since this morning.",
        is_red_flag=True,
        created_at=now - timedelta(minutes=20),
    )
    handled_report = ConcernReport.objects.create(
        plan=plan,
        patient=patient,
        clinic=clinic,
        symptoms=["peeling"],
        created_at=now - timedelta(hours=1),
        handled_at=now - timedelta(minutes=50),
        handled_by=practitioner,
        handling_note="Told her this is normal.",
    )
    bare_patient = PatientFactory(
        clinic=clinic,
        first_name="Rosa",
        last_name="Delgado",
        email="rosa@example.com",
        email_undeliverable_at=now - timedelta(hours=3),
        email_undeliverable_reason="bounced",
    )
    PatientFactory(
        clinic=clinic,
        first_name="Sam",
        last_name="Lindqvist",
        email="",
        email_consent=False,
        email_consent_at=None,
    )
    return Demo(
        practitioner=practitioner,
        front_desk=staff[StaffRole.FRONT_DESK],
        admin=staff[StaffRole.CLINIC_ADMIN],
        patient=patient,
        bare_patient=bare_patient,
        plan=plan,
        sent=SentMessage.objects.get(),
        open_report=open_report,
        handled_report=handled_report,
    )


def staff_context(
    browser,
    live_server,
    viewport: str,
    user: User | None,
    *,
    verified: bool = True,
    bypass_csp: bool = False,
):
    """A browser context at `viewport` size, logged in as `user` (past the second factor)."""
    context = browser.new_context(
        viewport=VIEWPORTS[viewport],
        is_mobile=viewport == "phone",
        device_scale_factor=2 if viewport == "phone" else 1,
        bypass_csp=bypass_csp,
    )
    context.set_default_timeout(15_000)
    if user is not None:
        client = Client()
        if verified:
            login_verified(client, user)
        else:
            client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
    return context
