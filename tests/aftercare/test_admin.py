from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.guidance.clinic import guidance_install
from aftercare.models import GuidanceItem, IntensityFactor, RestrictionRule
from aftercare.planner.adjustments import Adjustment
from aftercare.plans.services import course_start, plan_adjust, plan_create
from clinic.models import StaffRole
from tests.factories import PatientFactory, StaffMembershipFactory, TreatmentFactory, UserFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db
PAYLOAD = "<script>alert('x')</script> <img src=x onerror=\"alert('y')\">"


@pytest.fixture(autouse=True)
def guidance(clinic) -> None:
    guidance_install(clinic=clinic)


@pytest.fixture
def admin_client(clinic) -> Client:
    """The clinic's admin (not a superuser), past the second factor."""
    return verified_client(StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user)


@pytest.fixture
def platform_client() -> Client:
    return verified_client(UserFactory(is_staff=True, is_superuser=True))


def _restriction_form(rule: RestrictionRule, **changes) -> dict[str, object]:
    data = {
        "key": rule.key,
        "label": rule.label,
        "body": rule.body,
        "hours_light": rule.hours_light,
        "hours_moderate": rule.hours_moderate,
        "hours_intense": rule.hours_intense,
        "hours_per_point": rule.hours_per_point,
        "areas": rule.areas,
        "order": rule.order,
        "is_active": "on",
        "fact_ids": ", ".join(rule.fact_ids),
    }
    data.update(changes)
    return data


def _item_form(item: GuidanceItem, **changes) -> dict[str, object]:
    data = {
        "key": item.key,
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "fact_ids": ", ".join(item.fact_ids),
        "order": item.order,
        "is_active": "on",
        "starts_after_hours": item.starts_after_hours,
        "ends_after_hours": item.ends_after_hours or "",
    }
    data.update(changes)
    return data


def _change_url(obj) -> str:
    return reverse(f"admin:aftercare_{obj._meta.model_name}_change", args=[obj.pk])


def test_editing_a_restriction_in_the_admin_changes_new_plans_only(admin_client, clinic):
    treatment = TreatmentFactory(patient__clinic=clinic, depth_mm=Decimal("0.5"), passes=1)
    old_plan = plan_create(treatment=treatment)
    stored_before = old_plan.content
    rule = RestrictionRule.objects.get(clinic=clinic, key="makeup")

    response = admin_client.post(
        _change_url(rule),
        _restriction_form(rule, hours_light=96, hours_moderate=96, hours_intense=96),
    )
    assert response.status_code == 302

    new_plan = plan_create(
        treatment=TreatmentFactory(patient__clinic=clinic, depth_mm=Decimal("0.5"), passes=1)
    )
    old_plan.refresh_from_db()
    assert old_plan.content == stored_before
    makeup = next(r for r in new_plan.content["restrictions"] if r["key"] == "makeup")
    # 0.5 mm scores 1 point above Light's minimum: 96 h and the row's 6 h a point.
    assert makeup["hours"] == 96 + 6


def test_the_admin_refuses_a_restriction_that_shrinks_with_intensity(admin_client, clinic):
    rule = RestrictionRule.objects.get(clinic=clinic, key="makeup")
    response = admin_client.post(_change_url(rule), _restriction_form(rule, hours_intense=1))
    assert response.status_code == 200
    assert "cannot have a shorter restriction" in response.content.decode()
    rule.refresh_from_db()
    assert rule.hours_intense != 1


def test_the_admin_refuses_a_malformed_fact_id(admin_client, clinic):
    rule = RestrictionRule.objects.get(clinic=clinic, key="makeup")
    response = admin_client.post(_change_url(rule), _restriction_form(rule, fact_ids="R1, makeup"))
    assert "Fact ids look like H1 or R3" in response.content.decode()


def test_fact_ids_are_listed_for_admins(admin_client):
    response = admin_client.get(reverse("admin:aftercare_guidanceitem_changelist"))
    assert "Fact ids" in response.content.decode()
    assert "W1" in response.content.decode()


def test_an_admin_script_never_reaches_the_treatment_page_or_sheet(
    admin_client, clinic, practitioner_client
):
    item = GuidanceItem.objects.filter(clinic=clinic, kind="warning").first()
    admin_client.post(
        _change_url(item),
        _item_form(item, body=PAYLOAD, title="Watch for <b onmouseover=alert(1)>this</b>"),
    )
    plan = plan_create(treatment=TreatmentFactory(patient__clinic=clinic))
    for url in [
        reverse("patients:treatment_detail", args=[plan.treatment_id]),
        reverse("aftercare:sheet", args=[plan.pk]),
    ]:
        page = practitioner_client.get(url).content.decode()
        assert "<script>alert" not in page
        assert "<img" not in page
        assert "<b onmouseover" not in page


def _preview_page(response) -> str:
    """The plan the preview shows (the form above it carries the edit as hidden fields)."""
    assert response.status_code == 200
    page = response.content.decode()
    return page[page.index('class="module plan-full"') :]


def _marked(page: str) -> str:
    """The row the preview marks as changed, up to the next row."""
    start = page.index("preview-changed")
    ends = [page.find(marker, start + 20) for marker in ("<li", "plan-item")]
    return page[start : min([end for end in ends if end != -1], default=len(page))]


def test_previewing_an_unsaved_change_shows_it_without_saving(admin_client, clinic):
    rule = RestrictionRule.objects.get(clinic=clinic, key="makeup")
    response = admin_client.post(
        _change_url(rule),
        _restriction_form(
            rule,
            label="Cosmetics",
            hours_light=100,
            hours_moderate=100,
            hours_intense=100,
            hours_per_point=0,
            _preview="1",
        ),
    )
    assert "Not saved yet" in response.content.decode()
    page = _preview_page(response)
    assert "<strong>Cosmetics</strong>: allowed again from" in page
    assert "(100 hours)" in page
    rule.refresh_from_db()
    assert rule.label != "Cosmetics"


def test_previewing_an_edited_item_shows_its_new_text_marked(admin_client, clinic):
    item = GuidanceItem.objects.get(clinic=clinic, key="daily-spf")
    new_text = "Wear a wide hat and SPF 50 sunscreen, every single morning."
    response = admin_client.post(_change_url(item), _item_form(item, body=new_text, _preview="1"))
    page = _preview_page(response)
    marked = _marked(page)
    assert "Changed, not saved yet" in marked
    assert new_text in marked
    assert page.count(new_text) == 1
    item.refresh_from_db()
    assert item.body != new_text


def test_the_preview_lists_each_day_with_the_text_of_what_starts_then(admin_client, clinic):
    item = GuidanceItem.objects.get(clinic=clinic, key="daily-spf")
    response = admin_client.post(_change_url(item), _item_form(item, _preview="1"))
    page = _preview_page(response)
    day_1 = page[page.index("Day 1 ·") : page.index("Day 2 ·")]
    assert "Sunscreen every morning" in day_1
    assert "mineral one with SPF 30" in day_1
    assert "Day 14 ·" in page


def test_previewing_a_restrictions_hours_shows_its_new_date(admin_client, clinic):
    rule = RestrictionRule.objects.get(clinic=clinic, key="swimming")
    sample = {
        "sample-depth_mm": "0.5",
        "sample-passes": "1",
        "sample-areas": ["cheeks"],
        "sample-device": "pen",
        "sample-skin_type": "2",
        "sample-performed_on": "2027-03-01",
        "sample-performed_time": "10:00",
        "sample-timezone": "Europe/London",
        "_sample": "1",
    }
    response = admin_client.post(
        _change_url(rule),
        _restriction_form(
            rule,
            hours_light=240,
            hours_moderate=240,
            hours_intense=240,
            hours_per_point=0,
            _preview="1",
            **sample,
        ),
    )
    marked = _marked(_preview_page(response))
    # Ten days after Monday 1 March 2027, 10:00.
    assert "allowed again from <strong>Thu 11 Mar 2027, 10:00</strong>" in marked
    rule.refresh_from_db()
    assert rule.hours_light != 240


def test_previewing_a_row_the_sample_leaves_out_says_so(admin_client, clinic):
    item = GuidanceItem.objects.get(clinic=clinic, key="daily-spf")
    response = admin_client.post(
        _change_url(item), _item_form(item, is_active="", body="Never shown.", _preview="1")
    )
    page = _preview_page(response)
    assert "Your change is not in this plan" in page
    assert "Never shown." not in page


def test_the_preview_page_saves_the_change_when_asked(admin_client, clinic):
    rule = RestrictionRule.objects.get(clinic=clinic, key="makeup")
    response = admin_client.post(
        _change_url(rule), _restriction_form(rule, label="Cosmetics", _save="Save", _sample="1")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.label == "Cosmetics"


def test_previewing_an_invalid_change_shows_the_errors_and_saves_nothing(admin_client, clinic):
    rule = RestrictionRule.objects.get(clinic=clinic, key="makeup")
    response = admin_client.post(
        _change_url(rule), _restriction_form(rule, hours_intense=1, _preview="1")
    )
    assert "cannot have a shorter restriction" in response.content.decode()
    rule.refresh_from_db()
    assert rule.hours_intense != 1


def test_the_plan_preview_page_shows_a_plan_for_sample_facts(admin_client):
    response = admin_client.get(
        reverse("admin:aftercare_plan_preview"),
        {
            "depth_mm": "1.5",
            "passes": "3",
            "areas": ["periorbital", "cheeks"],
            "device": "pen",
            "skin_type": "5",
            "performed_on": "2027-01-15",
            "performed_time": "10:00",
            "timezone": "Australia/Sydney",
        },
    )
    page = response.content.decode()
    assert "Summer care" in page
    assert "<strong>Makeup</strong>: allowed again from" in page
    assert "Sunscreen every morning" in page
    assert "Changed, not saved yet" not in page


def test_the_plan_preview_page_explains_a_bad_timezone(admin_client):
    response = admin_client.get(
        reverse("admin:aftercare_plan_preview"),
        {
            "depth_mm": "1.0",
            "passes": "2",
            "areas": ["cheeks"],
            "device": "pen",
            "skin_type": "2",
            "performed_on": "2027-01-15",
            "performed_time": "10:00",
            "timezone": "Moon/Base",
        },
    )
    assert "Moon/Base is not a known time zone." in response.content.decode()


def test_adjustments_and_courses_are_listed_read_only(admin_client, clinic):
    treatment = TreatmentFactory(patient__clinic=clinic)
    plan = plan_create(treatment=treatment)
    plan_adjust(
        plan=plan,
        adjustment=Adjustment(kind="restriction", key="makeup", hours=72),
        reason="Deeper today.",
        user=treatment.practitioner,
    )
    course_start(
        patient=treatment.patient,
        sessions=3,
        min_interval_weeks=4,
        max_interval_weeks=6,
        starts_on=treatment.performed_at.date(),
        created_by=None,
    )
    adjustments = admin_client.get(reverse("admin:aftercare_planadjustment_changelist"))
    assert "Makeup: 2 days → 3 days (guidance: 2 days)" in adjustments.content.decode()
    courses = admin_client.get(reverse("admin:aftercare_treatmentcourse_changelist"))
    assert courses.status_code == 200
    assert admin_client.get(reverse("admin:aftercare_treatmentcourse_add")).status_code == 403


def test_the_clinics_booking_page_is_set_in_the_admin(platform_client, clinic):
    page = platform_client.get(reverse("admin:clinic_clinic_change", args=[clinic.pk]))
    assert 'name="booking_url"' in page.content.decode()


def test_a_guidance_rows_page_offers_the_preview(admin_client, clinic):
    item = GuidanceItem.objects.get(clinic=clinic, key="daily-spf")
    page = admin_client.get(_change_url(item)).content.decode()
    assert 'name="_preview" value="Preview the plan with these changes"' in page


def test_the_intensity_tables_pages_offer_no_preview(admin_client, clinic):
    factor = IntensityFactor.objects.filter(clinic=clinic).first()
    page = admin_client.get(_change_url(factor)).content.decode()
    assert 'name="_preview"' not in page


def test_the_reminder_list_shows_and_filters_by_channel(admin_client, clinic):
    patient = PatientFactory(clinic=clinic, text_consent=True, text_consent_at=timezone.now())
    plan_create(treatment=TreatmentFactory(patient=patient))
    url = reverse("admin:aftercare_reminder_changelist")
    page = admin_client.get(url)
    assert "column-channel" in page.content.decode()
    texts = admin_client.get(url, {"channel__exact": "text"}).context["cl"].result_list
    assert {reminder.channel for reminder in texts} == {"text"}
    assert len(texts) > 0
