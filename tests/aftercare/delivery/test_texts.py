"""Writing reminder texts (aftercare.delivery.texts): what a text says, what it never says,
and that every text of the shipped guidance fits in two GSM-7 segments."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aftercare.delivery.gsm7 import is_gsm7, segments
from aftercare.delivery.reminders import reminder_row
from aftercare.delivery.texts import OPT_OUT, POINT_KINDS, compose, reminder_text
from aftercare.links import link_url
from aftercare.models import AftercarePlan, PatientLink, Reminder
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import ClinicFacts, TreatmentFacts
from aftercare.planner.planning import Plan, build_plan
from aftercare.planner.today import today_items
from aftercare.plans.services import plan_create
from clinic.models import Clinic
from patients.models import Channel, Patient, Treatment
from tests.aftercare.content_cases import CASES
from tests.aftercare.planner.strategies import cases
from tests.factories import TreatmentFactory

LONG_SITE_URL = "https://aftercare.harbourlaneskinclinic.co.uk"
LONG_SLUG = "harbour-lane-skin-and-laser-clinic-of-the-old-town"  # 50 characters
LONG_NAME = "Harbour Lane Skin, Laser and Collagen Induction Clinic, Kent"  # 60 characters
NORMAL_NAME = "Harbour Lane Skin Clinic"
URL = "https://aftercare.example/p/harbour-lane/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/"

assert len(LONG_SLUG) == 50 and len(LONG_NAME) == 60


def _points(plan: Plan, moment: datetime) -> list[str]:
    return [item.title for item in today_items(plan, moment) if item.kind in POINT_KINDS]


def _unsaved_rows(
    plan: Plan, *, sender_name: str, slug: str, timezone_name: str
) -> tuple[list[Reminder], str]:
    """Text rows for every moment of `plan`, as reminder_row makes them (texting hours
    applied), on unsaved models; and the plan's link."""
    clinic = Clinic(name=sender_name, sender_name=sender_name, slug=slug, timezone=timezone_name)
    treatment = Treatment(
        clinic=clinic, patient=Patient(clinic=clinic), performed_at=plan.performed_at
    )
    row_plan = AftercarePlan(treatment=treatment)
    rows = [
        reminder_row(
            plan=row_plan,
            kind=moment.key,
            label=moment.label,
            covers=moment.summary_md,
            day_number=moment.day_number,
            due_at=moment.send_at,
            channel=Channel.TEXT,
        )
        for moment in plan.reminders
    ]
    return rows, link_url(PatientLink(plan=row_plan, salt="0" * 64))


def _check_every_text(plan: Plan, *, timezone_name: str) -> None:
    with_points = 0
    for name in (LONG_NAME, NORMAL_NAME):
        rows, url = _unsaved_rows(
            plan, sender_name=name, slug=LONG_SLUG, timezone_name=timezone_name
        )
        assert rows, "the plan has reminder moments"
        for row in rows:
            text = reminder_text(row, plan=plan, plan_url=url)
            where = f"{row.kind} ({name}): {text!r}"
            assert is_gsm7(text), where
            assert segments(text) <= 2, where
            assert text.endswith(f"\n{url}\n{OPT_OUT}"), where
            points = _points(plan, row.due_at)
            if name == NORMAL_NAME and points:
                assert any(point.rstrip(".") in text for point in points), where
                with_points += 1
    assert with_points, "some day of the plan has something to do or avoid"


# What a text says


@pytest.fixture
def long_site(settings):
    settings.SITE_URL = LONG_SITE_URL


def _day_plan(now: datetime, **patient: object) -> AftercarePlan:
    treatment = TreatmentFactory(
        performed_at=now - timedelta(hours=1),
        depth_mm=Decimal("1.75"),
        device="rf",
        areas=["forehead", "neck"],
        patient__first_name="Zebedee",
        patient__last_name="Quartermain",
        patient__phone="+447700900123",
        patient__text_consent=True,
        patient__text_consent_at=now,
        **patient,
    )
    return plan_create(treatment=treatment, now=now)


@pytest.fixture
def noon() -> datetime:
    return timezone.localtime(timezone.now()).replace(hour=12, minute=0, second=0, microsecond=0)


def _text_of(row: Reminder) -> tuple[str, Plan]:
    plan = row.plan.content_plan
    url = link_url(PatientLink(plan=row.plan, salt="1" * 64))
    return reminder_text(row, plan=plan, plan_url=url), plan


@pytest.mark.django_db
def test_a_text_is_the_sender_name_the_label_the_points_the_link_and_the_opt_out(noon):
    plan = _day_plan(noon)
    row = plan.reminders.filter(channel=Channel.TEXT).order_by("due_at").first()
    text, content = _text_of(row)
    url = link_url(PatientLink(plan=plan, salt="1" * 64))
    points = _points(content, row.due_at)[:2]
    assert points, "the first day has things to do or avoid"
    sentences = " ".join(p if p.endswith(".") else p + "." for p in [row.label, *points])
    assert text == f"{plan.treatment.clinic.sender_name}: {sentences}\n{url}\n{OPT_OUT}"


@pytest.mark.django_db
def test_a_text_never_says_the_patients_name_areas_note_depth_device_or_symptoms(noon):
    plan = _day_plan(noon)
    content = plan.content_plan
    rows = list(plan.reminders.filter(channel=Channel.TEXT))
    assert rows
    for row in rows:
        row.note = "Private note: mind the scar on the left"
        text, _ = _text_of(row)
        for private in ("Zebedee", "Quartermain", "Private note", "scar", "1.75", "mm", "RF"):
            assert private not in text, (private, text)
        assert "forehead" not in text.lower() and "neck" not in text.lower()
        for item in content.items:
            if item.kind == "expect":
                assert item.title not in text, (item.title, text)


@pytest.mark.django_db
def test_a_new_link_text_says_only_that_earlier_links_no_longer_work(noon):
    plan = _day_plan(noon)
    row = Reminder(plan=plan, kind="new-link-abc", label="Your new aftercare link", due_at=noon)
    text, _ = _text_of(row)
    label = "Your new aftercare link (earlier links no longer work)."
    assert text.startswith(f"{plan.treatment.clinic.sender_name}: {label}")
    assert text.endswith(OPT_OUT)
    assert segments(text) <= 2


def test_typographic_characters_and_emoji_in_the_clinic_name_are_written_plainly():
    text = compose(
        clinic_name="Glow ✨ Skin — “Dr Åsa’s” Clinic 💆‍♀️", label="Today", points=[], url=URL
    )
    assert text.startswith('Glow Skin - "Dr Åsa\'s" Clinic: Today.\n')
    assert is_gsm7(text)


def test_a_name_that_is_only_emoji_leaves_no_stray_spaces():
    text = compose(clinic_name=" ✨ 💆 ", label="Today", points=["Keep it clean"], url=URL)
    assert text == f"Today. Keep it clean.\n{URL}\n{OPT_OUT}"


def test_the_second_point_goes_before_the_first():
    long_point = "Keep the treated skin out of strong sunshine and wear a broad-spectrum factor 50"
    text = compose(
        clinic_name=LONG_NAME, label="Today", points=[long_point, long_point + " x"], url=URL
    )
    assert text.count(long_point) == 1
    assert segments(text) <= 2


def test_a_name_too_long_for_any_point_is_shortened_and_keeps_the_label():
    long_url = "https://aftercare.example/" + "x" * 200
    text = compose(
        clinic_name="A" * 100, label="The morning after", points=["Be gentle"], url=long_url
    )
    assert segments(text) <= 2
    assert text.startswith("A" * 27 + "...: The morning after.")


# The segment test: every text of the shipped guidance


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_text_of_every_content_case_is_gsm7_in_two_segments_with_a_point(case, settings):
    settings.SITE_URL = LONG_SITE_URL
    for treatment in case.treatments:
        facts, clinic = treatment.facts()
        _check_every_text(
            build_plan(facts, clinic, DEFAULT_GUIDANCE), timezone_name=treatment.timezone
        )


@hypothesis_settings(max_examples=40, deadline=None)
@given(case=cases())
def test_every_text_of_generated_treatments_is_gsm7_in_two_segments(
    case: tuple[TreatmentFacts, ClinicFacts],
):
    from django.conf import settings as django_settings
    from django.test import override_settings

    facts, clinic = case
    with override_settings(SITE_URL=LONG_SITE_URL):
        assert django_settings.SITE_URL == LONG_SITE_URL
        _check_every_text(
            build_plan(facts, clinic, DEFAULT_GUIDANCE), timezone_name=clinic.timezone
        )


@given(
    name=st.text(max_size=100),
    label=st.text(max_size=60),
    points=st.lists(st.text(max_size=120), max_size=3),
)
@hypothesis_settings(max_examples=200, deadline=None)
def test_any_clinic_name_label_and_points_make_a_gsm7_text_in_two_segments(name, label, points):
    text = compose(clinic_name=name, label=label, points=points, url=URL)
    assert is_gsm7(text)
    assert segments(text) <= 2
    assert text.endswith(f"\n{URL}\n{OPT_OUT}")
