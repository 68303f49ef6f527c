"""A clinic's texting hours (Clinic.texts_from / texts_until / text_time, clinic/models.py):
texts go out only inside them, in the clinic's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic.models import Clinic
from tests.factories import ClinicFactory

LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")


def _clinic(zone: str = "Europe/London", **hours: time) -> Clinic:
    return Clinic(name="North", slug="north", timezone=zone, **hours)


def test_the_default_hours_are_9_to_20():
    clinic = _clinic()
    assert (clinic.texts_from, clinic.texts_until) == (time(9, 0), time(20, 0))


def test_a_moment_inside_the_hours_is_kept():
    moment = datetime(2027, 4, 14, 12, 34, 56, tzinfo=LONDON)
    assert _clinic().text_time(moment) == moment


def test_the_start_of_the_hours_is_inside():
    moment = datetime(2027, 4, 14, 9, 0, tzinfo=LONDON)
    assert _clinic().text_time(moment) == moment


def test_a_moment_before_the_hours_waits_for_their_start_that_day():
    moment = datetime(2027, 4, 14, 6, 15, tzinfo=LONDON)
    assert _clinic().text_time(moment) == datetime(2027, 4, 14, 9, 0, tzinfo=LONDON)


def test_the_end_of_the_hours_is_outside_and_waits_for_the_next_morning():
    moment = datetime(2027, 4, 14, 20, 0, tzinfo=LONDON)
    assert _clinic().text_time(moment) == datetime(2027, 4, 15, 9, 0, tzinfo=LONDON)


def test_a_minute_before_the_end_is_inside():
    moment = datetime(2027, 4, 14, 19, 59, 59, tzinfo=LONDON)
    assert _clinic().text_time(moment) == moment


def test_the_hours_are_the_clinics_own_time_whatever_zone_the_moment_is_in():
    # 23:00 UTC is 10:00 the next day in Sydney (AEDT, +11): inside.
    moment = datetime(2027, 1, 14, 23, 0, tzinfo=UTC)
    assert _clinic("Australia/Sydney").text_time(moment) == moment
    # 12:00 UTC is 23:00 in Sydney: the next start is 09:00 Sydney, 22:00 UTC.
    late = datetime(2027, 1, 14, 12, 0, tzinfo=UTC)
    assert _clinic("Australia/Sydney").text_time(late) == datetime(2027, 1, 15, 9, 0, tzinfo=SYDNEY)


def test_on_the_spring_dst_day_the_start_is_9_by_the_new_clock():
    # 28 March 2027: 01:00 GMT becomes 02:00 BST; 09:00 BST is 08:00 UTC.
    moment = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    start = _clinic().text_time(moment)
    assert start == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)


def test_on_the_autumn_dst_day_the_start_is_9_by_the_new_clock():
    # 31 October 2027: 02:00 BST becomes 01:00 GMT; 09:00 GMT is 09:00 UTC.
    evening = datetime(2027, 10, 30, 21, 0, tzinfo=LONDON)
    assert _clinic().text_time(evening) == datetime(2027, 10, 31, 9, 0, tzinfo=UTC)


def test_a_start_inside_the_spring_gap_is_a_real_moment_after_the_gap():
    clinic = _clinic(texts_from=time(1, 30), texts_until=time(20, 0))
    start = clinic.text_time(datetime(2027, 3, 28, 0, 15, tzinfo=UTC))
    assert start.astimezone(UTC) >= datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 02:00 BST
    assert clinic.text_time(start) == start


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware"):
        _clinic().text_time(datetime(2027, 4, 14, 12, 0))  # noqa: DTZ001 - the point


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "end"), [(time(20, 0), time(9, 0)), (time(9, 0), time(9, 0))])
def test_clean_refuses_hours_that_do_not_start_before_they_end(start, end):
    clinic = ClinicFactory.build(texts_from=start, texts_until=end)
    with pytest.raises(ValidationError) as raised:
        clinic.full_clean()
    assert "texts_until" in raised.value.message_dict


def test_clean_accepts_hours_from_midnight():
    ClinicFactory.build(texts_from=time(0, 0), texts_until=time(8, 0)).clean()


@pytest.mark.django_db
def test_the_database_refuses_hours_that_do_not_start_before_they_end():
    clinic = ClinicFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Clinic.objects.filter(pk=clinic.pk).update(texts_from=time(21, 0), texts_until=time(8, 0))
