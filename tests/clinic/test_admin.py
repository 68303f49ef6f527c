"""clinic.admin.ClinicAdmin: a clinic admin edits their clinic, its opening hours and who
patients call. (Another clinic's row is tried in test_admin_isolation.py.)"""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.models import Clinic, OpeningHours, StaffRole
from tests.factories import ClinicFactory, StaffMembershipFactory, UserFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db

HOURS = "opening_hours"


@pytest.fixture
def own_clinic():
    return ClinicFactory(timezone="Europe/London", out_of_hours_phone="", opening_hours=[])


@pytest.fixture
def clinic_admin(own_clinic):
    return verified_client(
        StaffMembershipFactory(clinic=own_clinic, role=StaffRole.CLINIC_ADMIN).user
    )


def _url(clinic: Clinic) -> str:
    return reverse("admin:clinic_clinic_change", args=[clinic.pk])


def _form_data(client, clinic: Clinic, **changes) -> dict:
    """What the change page posts back unchanged, with `changes` applied."""
    page = client.get(_url(clinic))
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else value
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        prefix = formset.prefix
        data[f"{prefix}-TOTAL_FORMS"] = 0
        data[f"{prefix}-INITIAL_FORMS"] = 0
    data.update(changes)
    return data


def _hours(data: dict, rows: list[tuple[int, str, str]]) -> dict:
    data = {**data, f"{HOURS}-TOTAL_FORMS": len(rows), f"{HOURS}-INITIAL_FORMS": 0}
    for index, (weekday, opens, closes) in enumerate(rows):
        data[f"{HOURS}-{index}-weekday"] = weekday
        data[f"{HOURS}-{index}-opens"] = opens
        data[f"{HOURS}-{index}-closes"] = closes
    return data


def test_a_clinic_admin_sees_who_patients_call_and_the_opening_hours(clinic_admin, own_clinic):
    response = clinic_admin.get(_url(own_clinic))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ["country", "emergency_number", "out_of_hours_phone", "climate"]:
        assert f'name="{name}"' in html
    assert f'name="{HOURS}-TOTAL_FORMS"' in html
    assert "Warning signs: who patients call" in html
    # What applies while the settings are empty: the time zone's country and its number.
    assert "999 (the usual number for GB)" in html
    assert "GB (from the time zone Europe/London)" in html
    assert "Temperate (from the time zone Europe/London)" in html


def test_a_clinic_admin_saves_the_settings_and_the_opening_hours(clinic_admin, own_clinic):
    data = _form_data(
        clinic_admin,
        own_clinic,
        country="au",
        emergency_number="",
        out_of_hours_phone="+61 2 5550 0999",
        climate="tropical",
    )
    data = _hours(data, [(0, "09:00", "13:00"), (0, "14:00", "18:00"), (5, "10:00", "14:00")])
    response = clinic_admin.post(_url(own_clinic), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    own_clinic.refresh_from_db()
    assert (own_clinic.country, own_clinic.out_of_hours_phone, own_clinic.climate) == (
        "AU",
        "+61 2 5550 0999",
        "tropical",
    )
    assert own_clinic.emergency_phone == "000"
    assert own_clinic.opening_hours_summary() == "Mon 9:00-13:00 and 14:00-18:00, Sat 10:00-14:00"


def test_an_unknown_country_is_refused_with_a_message(clinic_admin, own_clinic):
    response = clinic_admin.post(
        _url(own_clinic), _form_data(clinic_admin, own_clinic, country="UK")
    )
    assert response.status_code == 200
    assert "UK is not a country code we know" in response.content.decode()
    own_clinic.refresh_from_db()
    assert own_clinic.country == ""


def test_an_out_of_hours_phone_with_words_is_refused_with_a_message(clinic_admin, own_clinic):
    data = _form_data(clinic_admin, own_clinic, out_of_hours_phone="ring the doctor")
    response = clinic_admin.post(_url(own_clinic), data)
    assert response.status_code == 200
    assert "Enter a phone number using digits, spaces, brackets and hyphens" in (
        response.content.decode()
    )


def test_overlapping_opening_hours_are_refused(clinic_admin, own_clinic):
    data = _hours(
        _form_data(clinic_admin, own_clinic), [(1, "09:00", "13:00"), (1, "12:00", "18:00")]
    )
    response = clinic_admin.post(_url(own_clinic), data)
    assert response.status_code == 200
    assert "overlap" in response.content.decode()
    assert not OpeningHours.objects.filter(clinic=own_clinic).exists()


def test_opening_hours_that_close_before_they_open_are_refused(clinic_admin, own_clinic):
    data = _hours(_form_data(clinic_admin, own_clinic), [(1, "18:00", "09:00")])
    response = clinic_admin.post(_url(own_clinic), data)
    assert response.status_code == 200
    assert "The closing time must come after the opening time." in response.content.decode()


def test_a_clinic_admin_cannot_change_the_slug_or_two_factor(clinic_admin, own_clinic):
    slug = own_clinic.slug
    data = _form_data(clinic_admin, own_clinic, slug="moved", require_two_factor="on")
    response = clinic_admin.post(_url(own_clinic), data)
    assert response.status_code == 302
    own_clinic.refresh_from_db()
    assert (own_clinic.slug, own_clinic.require_two_factor) == (slug, False)


def test_a_clinic_admin_gets_no_staff_inline_on_the_clinic_page(clinic_admin, own_clinic):
    html = clinic_admin.get(_url(own_clinic)).content.decode()
    assert 'name="memberships-TOTAL_FORMS"' not in html


def test_front_desk_and_practitioners_cannot_open_the_clinic_page(own_clinic):
    for role in (StaffRole.FRONT_DESK, StaffRole.PRACTITIONER):
        client = verified_client(StaffMembershipFactory(clinic=own_clinic, role=role).user)
        assert client.get(_url(own_clinic)).status_code in {302, 403}


def test_a_superuser_adds_a_clinic_with_its_opening_hours(db):
    client = verified_client(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:clinic_clinic_add"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="{HOURS}-TOTAL_FORMS"' in html
    assert 'name="memberships-TOTAL_FORMS"' in html
    data = {
        "name": "Marina Skin",
        "slug": "marina-skin",
        "timezone": "Asia/Singapore",
        "phone": "+65 6555 0100",
        "email": "hello@marina.example",
        "sender_name": "Marina Skin",
        "reminder_hour": 9,
        "texts_from": "09:00",
        "texts_until": "20:00",
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
    }
    response = client.post(
        reverse("admin:clinic_clinic_add"), _hours(data, [(0, "10:00", "19:00")])
    )
    assert response.status_code == 302
    clinic = Clinic.objects.get(slug="marina-skin")
    assert (clinic.emergency_phone, clinic.climate_zone) == ("995", "tropical")
    assert clinic.opening_hours_summary() == "Mon 10:00-19:00"


def test_a_clinic_admin_sets_the_texting_hours_under_texts(clinic_admin, own_clinic):
    page = clinic_admin.get(_url(own_clinic))
    fieldsets = {fieldset.name: fieldset for fieldset in page.context["adminform"]}
    assert list(fieldsets["Texts"].fields) == ["texts_from", "texts_until"]
    html = page.content.decode()
    assert "Texts go out from this time of day" in html
    data = _form_data(clinic_admin, own_clinic, texts_from="10:00", texts_until="19:30")
    assert clinic_admin.post(_url(own_clinic), data).status_code == 302
    own_clinic.refresh_from_db()
    assert (str(own_clinic.texts_from), str(own_clinic.texts_until)) == ("10:00:00", "19:30:00")


def test_texting_hours_that_end_before_they_start_are_refused(clinic_admin, own_clinic):
    data = _form_data(clinic_admin, own_clinic, texts_from="20:00", texts_until="09:00")
    assert clinic_admin.post(_url(own_clinic), data).status_code == 200
    own_clinic.refresh_from_db()
    assert str(own_clinic.texts_from) == "09:00:00"
