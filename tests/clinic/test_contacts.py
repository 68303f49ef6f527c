"""clinic.contacts.who_to_call: the answer every warning-signs page, email and sheet gives."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string

from clinic.contacts import who_to_call
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TUESDAY_10 = datetime(2026, 5, 12, 10, 0, tzinfo=LONDON)
TUESDAY_21 = datetime(2026, 5, 12, 21, 0, tzinfo=LONDON)
WEEKDAYS = [(day, "09:00", "18:00") for day in range(5)]
PHONE = "+44 20 7946 0123"
OUT_OF_HOURS = "+44 20 7946 0999"


def _clinic(**kwargs):
    return ClinicFactory(timezone="Europe/London", opening_hours=WEEKDAYS, **kwargs)


def _html(who) -> str:
    return " ".join(render_to_string("aftercare/_who_to_call.html", {"who_to_call": who}).split())


def _text(who) -> str:
    return " ".join(render_to_string("aftercare/_who_to_call.txt", {"who_to_call": who}).split())


def test_open_now_means_the_clinics_own_number():
    who = who_to_call(clinic=_clinic(), at=TUESDAY_10)
    assert (who.open_now, who.call_now, who.call_now_tel) == (True, PHONE, "tel:+442079460123")
    assert "we are open now" in _html(who)
    assert 'href="tel:+442079460123"' in _html(who)


def test_closed_now_means_the_out_of_hours_number():
    who = who_to_call(clinic=_clinic(), at=TUESDAY_21)
    assert (who.open_now, who.call_now) == (False, OUT_OF_HOURS)
    html = _html(who)
    assert "we are closed now, so" in html
    assert 'href="tel:+442079460999"' in html
    assert "Our opening hours: Mon-Fri 9:00-18:00." in html


def test_closed_without_an_out_of_hours_number_says_when_it_opens_and_what_to_do_meanwhile():
    who = who_to_call(clinic=_clinic(out_of_hours_phone=""), at=TUESDAY_21)
    assert (who.call_now, who.opens_again) == ("", "tomorrow at 9:00")
    text = _text(who)
    assert "We open again tomorrow at 9:00. Call us then on +44 20 7946 0123." in text
    assert "If it can't wait, call 999 or go to urgent care." in text


def test_a_friday_evening_opens_again_on_monday():
    friday_evening = datetime(2026, 5, 15, 19, 0, tzinfo=LONDON)
    who = who_to_call(clinic=_clinic(out_of_hours_phone=""), at=friday_evening)
    assert who.opens_again == "on Monday at 9:00"


def test_without_opening_hours_both_numbers_and_no_claim_about_open_or_closed():
    who = who_to_call(clinic=ClinicFactory(timezone="Europe/London"), at=TUESDAY_21)
    assert (who.open_now, who.hours, who.call_now) == (None, "", PHONE)
    text = _text(who)
    assert PHONE in text
    assert OUT_OF_HOURS in text
    assert "open now" not in text
    assert "closed now" not in text


def test_at_an_unknown_moment_both_numbers_with_the_hours():
    who = who_to_call(clinic=_clinic(), at=None)
    assert who.open_now is None
    for rendered in (_html(who), _text(who)):
        assert f"call us on {PHONE} (open Mon-Fri 9:00-18:00)" in rendered.replace(
            '<a href="tel:+442079460123">', ""
        ).replace("</a>", "")
        assert OUT_OF_HOURS in rendered
        assert "Call 999 now" in rendered


def test_a_severe_allergic_reaction_always_means_the_emergency_number():
    clinic = _clinic(country="AU")
    for moment in (TUESDAY_10, TUESDAY_21, None):
        who = who_to_call(clinic=clinic, at=moment)
        assert who.emergency_number == "000"
        assert 'href="tel:000"><strong>Call 000 now</strong></a>' in _html(who)
        assert "Trouble breathing or swallowing?" in _text(who)


def test_it_reads_the_opening_hours_in_one_query(django_assert_num_queries):
    clinic = _clinic()
    with django_assert_num_queries(1):
        who_to_call(clinic=clinic, at=TUESDAY_21)
