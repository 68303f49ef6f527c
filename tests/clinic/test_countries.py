"""clinic.countries: known countries, their emergency numbers, phone-ish input."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from phonenumbers import shortnumberinfo

from clinic.countries import (
    EMERGENCY_NUMBERS,
    FALLBACK_EMERGENCY_NUMBER,
    emergency_number_for_country,
    is_known_country,
    tel_uri,
    validate_country,
    validate_phone,
)


@pytest.mark.parametrize(
    ("country", "number"),
    [
        ("GB", "999"),
        ("US", "911"),
        ("CA", "911"),
        ("AU", "000"),
        ("NZ", "111"),
        ("SG", "995"),
        ("CO", "123"),
        ("JP", "119"),
        ("IE", "112"),
        ("IN", "112"),
        ("ZA", "112"),
        ("DE", "112"),
        ("FR", "112"),
    ],
)
def test_each_country_gets_the_number_people_there_are_told_to_call(country, number):
    assert emergency_number_for_country(country) == number


def test_a_country_not_in_the_table_gets_112():
    assert FALLBACK_EMERGENCY_NUMBER == "112"
    assert emergency_number_for_country("ES") == "112"
    assert emergency_number_for_country("") == "112"


@pytest.mark.parametrize(("country", "number"), sorted(EMERGENCY_NUMBERS.items()))
def test_every_number_in_the_table_reaches_emergency_services_there(country, number):
    # Checked against libphonenumber's short-number metadata, which Google maintains.
    assert is_known_country(country)
    assert shortnumberinfo.is_emergency_number(number, country)


@pytest.mark.parametrize("country", ["GB", "US", "SG", "XK"])
def test_known_countries_pass(country):
    validate_country(country)


@pytest.mark.parametrize("country", ["UK", "gb", "ZZ", "GBR", "1"])
def test_unknown_countries_are_refused_with_a_clear_message(country):
    with pytest.raises(ValidationError) as excinfo:
        validate_country(country)
    assert excinfo.value.code == "unknown_country"
    assert "not a country code we know" in excinfo.value.messages[0]


@pytest.mark.parametrize(
    "phone", ["999", "000", "+44 20 7946 0999", "(020) 7946-0999", "+1 (212) 555-0100"]
)
def test_phone_numbers_with_digits_spaces_brackets_and_hyphens_pass(phone):
    validate_phone(phone)


@pytest.mark.parametrize("phone", ["12", "call 999", "+44 20 7946 0999 ext 2", "44+20", "---"])
def test_anything_else_is_refused_with_a_clear_message(phone):
    with pytest.raises(ValidationError) as excinfo:
        validate_phone(phone)
    assert excinfo.value.code == "invalid_phone"
    assert "digits, spaces, brackets and hyphens" in excinfo.value.messages[0]


@pytest.mark.parametrize(
    ("phone", "uri"),
    [
        ("999", "tel:999"),
        ("+44 20 7946 0999", "tel:+442079460999"),
        ("(020) 7946-0999", "tel:02079460999"),
    ],
)
def test_tel_links_carry_the_digits_and_a_leading_plus(phone, uri):
    assert tel_uri(phone) == uri
