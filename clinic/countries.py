"""What a clinic's country says: whether it is a country at all, and whom to call in an
emergency there.

Countries are ISO 3166-1 alpha-2 codes, checked against the regions phonenumbers
(Google's libphonenumber) knows. Its short-number metadata says which numbers reach
emergency services in each country, but not which one people are told to call for an
ambulance: for the UK it lists 112 and 999 and gives 112 as the example, for Singapore
993 (the fire service), for Japan 110 (the police). So the number to call comes from the
small table below, and every entry in it is checked against that metadata by
tests/clinic/test_countries.py.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError

# 112 is the GSM standard emergency number: mobile phones put it through to the local
# emergency services almost everywhere, and it is the number of every EU country.
FALLBACK_EMERGENCY_NUMBER = "112"

# The number for an ambulance that public advice in each country gives, where it is not
# 112. Sources: each government's emergency-services page, as collected in Wikipedia's
# "List of emergency telephone numbers" and the ITU's list of national emergency numbers.
# Countries missing here get FALLBACK_EMERGENCY_NUMBER.
EMERGENCY_NUMBERS: dict[str, str] = {
    "AE": "998",
    "AR": "107",
    "AS": "911",
    "AU": "000",
    "BH": "999",
    "BR": "192",
    "CA": "911",
    "CH": "144",
    "CL": "131",
    "CN": "120",
    "CO": "123",
    "EG": "123",
    "GB": "999",
    "GU": "911",
    "HK": "999",
    "IL": "101",
    "JP": "119",
    "KE": "999",
    "KR": "119",
    "MO": "999",
    "MP": "911",
    "MX": "911",
    "MY": "999",
    "NO": "113",
    "NZ": "111",
    "PH": "911",
    "PR": "911",
    "QA": "999",
    "SA": "997",
    "SG": "995",
    "TH": "1669",
    "TW": "119",
    "US": "911",
    "VI": "911",
    "VN": "115",
}

# Digits, spaces, brackets and hyphens, with an optional + in front; at least 3 digits
# (emergency numbers are short: 000, 112, 10111).
_PHONE = re.compile(r"\+?[0-9 ()\-]+")
_PHONE_MIN_DIGITS = 3


def is_known_country(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS


def emergency_number_for_country(code: str) -> str:
    """The number to call for an ambulance in the country; 112 for a country not listed."""
    return EMERGENCY_NUMBERS.get(code, FALLBACK_EMERGENCY_NUMBER)


def validate_country(value: str) -> None:
    if not is_known_country(value):
        raise ValidationError(
            "%(value)s is not a country code we know. Use the two capital letters of "
            "ISO 3166, e.g. GB, US or AU, or leave it empty to use the time zone's country.",
            code="unknown_country",
            params={"value": value},
        )


def validate_phone(value: str) -> None:
    digits = sum(char.isdigit() for char in value)
    if not _PHONE.fullmatch(value) or digits < _PHONE_MIN_DIGITS:
        raise ValidationError(
            "Enter a phone number using digits, spaces, brackets and hyphens, with a + at "
            "the start if you like, e.g. +44 20 7946 0123 or 999.",
            code="invalid_phone",
        )


def tel_uri(number: str) -> str:
    """A tel: link for the number: its digits, and a leading + if it has one."""
    digits = re.sub(r"[^0-9]", "", number)
    return f"tel:{'+' if number.strip().startswith('+') else ''}{digits}"
