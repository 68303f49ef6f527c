from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic.models import Clinic, OpeningHours
from tests.factories import ClinicFactory


@pytest.mark.django_db
def test_clinic_refuses_an_unknown_timezone():
    clinic = ClinicFactory.build(timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as excinfo:
        clinic.full_clean()
    assert "not a known time zone" in str(excinfo.value.message_dict["timezone"])


@pytest.mark.django_db
def test_clinic_accepts_an_iana_timezone():
    ClinicFactory.build(timezone="Australia/Sydney").full_clean()


# Who patients call: the country, its emergency number, the climate


@pytest.mark.parametrize(
    ("zone", "country", "number"),
    [
        ("Europe/London", "GB", "999"),
        ("America/New_York", "US", "911"),
        ("Australia/Sydney", "AU", "000"),
        ("Asia/Singapore", "SG", "995"),
        ("Europe/Berlin", "DE", "112"),
        ("UTC", "", "112"),
    ],
)
def test_the_emergency_number_follows_the_time_zones_country(zone, country, number):
    clinic = ClinicFactory.build(timezone=zone)
    assert (clinic.country_code, clinic.emergency_phone) == (country, number)


def test_the_country_set_wins_over_the_time_zones():
    clinic = ClinicFactory.build(timezone="Europe/London", country="AU")
    assert (clinic.country_code, clinic.emergency_phone) == ("AU", "000")


def test_the_emergency_number_set_wins_over_the_countrys():
    clinic = ClinicFactory.build(timezone="Europe/London", country="GB", emergency_number="112")
    assert clinic.emergency_phone == "112"


@pytest.mark.django_db
def test_clinic_refuses_an_unknown_country():
    clinic = ClinicFactory.build(country="UK")
    with pytest.raises(ValidationError) as excinfo:
        clinic.full_clean()
    assert "not a country code we know" in str(excinfo.value.message_dict["country"])


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["emergency_number", "out_of_hours_phone"])
def test_clinic_refuses_a_phone_number_with_words_in_it(field):
    clinic = ClinicFactory.build(**{field: "ring 999"})
    with pytest.raises(ValidationError) as excinfo:
        clinic.full_clean()
    assert "digits, spaces, brackets and hyphens" in str(excinfo.value.message_dict[field])


@pytest.mark.django_db
def test_the_database_refuses_a_country_that_is_not_two_capitals():
    clinic = ClinicFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Clinic.objects.filter(pk=clinic.pk).update(country="gb")


@pytest.mark.parametrize(
    ("zone", "climate", "expected"),
    [
        ("Asia/Singapore", "", "tropical"),
        ("America/Bogota", "", "tropical"),
        ("Europe/London", "", "temperate"),
        ("Asia/Singapore", "temperate", "temperate"),
        ("Europe/London", "tropical", "tropical"),
    ],
)
def test_the_climate_set_wins_over_the_time_zones(zone, climate, expected):
    assert ClinicFactory.build(timezone=zone, climate=climate).climate_zone == expected


# Opening hours

LONDON = ZoneInfo("Europe/London")
WEEKDAYS_WITH_LUNCH = [
    *[(day, "09:00", "13:00") for day in range(5)],
    *[(day, "14:00", "18:00") for day in range(5)],
    (5, "10:00", "14:00"),
]


@pytest.fixture
def open_weekdays(db):
    return ClinicFactory(timezone="Europe/London", opening_hours=WEEKDAYS_WITH_LUNCH)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2026, 5, 12, 9, 0, tzinfo=LONDON), True),  # Tuesday, opening
        (datetime(2026, 5, 12, 12, 59, tzinfo=LONDON), True),
        (datetime(2026, 5, 12, 13, 30, tzinfo=LONDON), False),  # lunch
        (datetime(2026, 5, 12, 14, 0, tzinfo=LONDON), True),
        (datetime(2026, 5, 12, 18, 0, tzinfo=LONDON), False),  # closing time
        (datetime(2026, 5, 12, 8, 59, tzinfo=LONDON), False),
        (datetime(2026, 5, 16, 11, 0, tzinfo=LONDON), True),  # Saturday morning
        (datetime(2026, 5, 17, 11, 0, tzinfo=LONDON), False),  # Sunday
    ],
)
def test_is_open_at_reads_the_hours_and_the_lunch_break(open_weekdays, moment, is_open):
    assert open_weekdays.is_open_at(moment) is is_open


def test_is_open_at_works_in_the_clinics_time_zone_across_a_daylight_saving_change(
    open_weekdays,
):
    # The UK's clocks went forward on Sunday 29 March 2026. 08:30 UTC is 08:30 in London
    # the Monday before (closed) and 09:30 the Monday after (open).
    assert open_weekdays.is_open_at(datetime(2026, 3, 23, 8, 30, tzinfo=UTC)) is False
    assert open_weekdays.is_open_at(datetime(2026, 3, 30, 8, 30, tzinfo=UTC)) is True
    # And 17:30 UTC: 17:30 (open) before, 18:30 (closed) after.
    assert open_weekdays.is_open_at(datetime(2026, 3, 23, 17, 30, tzinfo=UTC)) is True
    assert open_weekdays.is_open_at(datetime(2026, 3, 30, 17, 30, tzinfo=UTC)) is False


def test_is_open_at_says_nothing_for_a_clinic_without_hours(db):
    assert ClinicFactory().is_open_at(datetime(2026, 5, 12, 10, 0, tzinfo=LONDON)) is None


def test_is_open_at_refuses_a_naive_moment(open_weekdays):
    with pytest.raises(ValueError, match="aware"):
        open_weekdays.is_open_at(datetime(2026, 5, 12, 10, 0))  # noqa: DTZ001


def test_the_summary_puts_days_with_the_same_hours_together(open_weekdays):
    assert open_weekdays.opening_hours_summary() == (
        "Mon-Fri 9:00-13:00 and 14:00-18:00, Sat 10:00-14:00"
    )


def test_the_summary_of_days_apart_lists_each(db):
    clinic = ClinicFactory(
        opening_hours=[(0, "09:00", "17:30"), (2, "09:00", "17:30"), (3, "12:00", "20:00")]
    )
    assert clinic.opening_hours_summary() == "Mon 9:00-17:30, Wed 9:00-17:30, Thu 12:00-20:00"


def test_the_summary_of_a_clinic_without_hours_is_empty(db):
    assert ClinicFactory().opening_hours_summary() == ""


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        (datetime(2026, 5, 12, 7, 0, tzinfo=LONDON), datetime(2026, 5, 12, 9, 0, tzinfo=LONDON)),
        (datetime(2026, 5, 12, 13, 15, tzinfo=LONDON), datetime(2026, 5, 12, 14, tzinfo=LONDON)),
        (datetime(2026, 5, 15, 19, 0, tzinfo=LONDON), datetime(2026, 5, 16, 10, tzinfo=LONDON)),
        (datetime(2026, 5, 16, 15, 0, tzinfo=LONDON), datetime(2026, 5, 18, 9, tzinfo=LONDON)),
    ],
)
def test_next_opening_after_finds_the_next_stretch(open_weekdays, moment, opens):
    assert open_weekdays.next_opening_after(moment) == opens


def test_opening_hours_must_close_after_they_open(db):
    row = OpeningHours(clinic=ClinicFactory(), weekday=0, opens=time(18), closes=time(9))
    with pytest.raises(ValidationError) as excinfo:
        row.full_clean()
    assert "after the opening time" in str(excinfo.value.message_dict["closes"])
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


def test_the_database_refuses_a_weekday_past_sunday(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningHours.objects.create(
            clinic=ClinicFactory(), weekday=7, opens=time(9), closes=time(17)
        )
