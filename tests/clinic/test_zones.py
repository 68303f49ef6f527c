from __future__ import annotations

from decimal import Decimal

import pytest

from clinic.zones import (
    climate_for_timezone,
    country_for_timezone,
    hemisphere_for_timezone,
    zone_facts,
)


@pytest.mark.parametrize(
    "zone",
    [
        "Australia/Sydney",
        "Australia/Perth",
        "Pacific/Auckland",
        "America/Sao_Paulo",
        "America/Argentina/Buenos_Aires",
        "Africa/Johannesburg",
    ],
)
def test_southern_zones_are_south(zone):
    assert hemisphere_for_timezone(zone) == "south"


@pytest.mark.parametrize(
    "zone",
    ["Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo"],
)
def test_northern_zones_are_north(zone):
    assert hemisphere_for_timezone(zone) == "north"


def test_zone_only_listed_in_the_per_country_table_is_found():
    # Europe/Oslo has no row of its own in zone1970.tab; zone.tab still places it.
    assert hemisphere_for_timezone("Europe/Oslo") == "north"


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT+3", "Nowhere/Atlantis", ""])
def test_zones_without_a_location_count_as_north(zone):
    assert hemisphere_for_timezone(zone) == "north"


@pytest.mark.parametrize(
    "zone",
    ["Asia/Singapore", "America/Bogota", "Asia/Bangkok", "America/Lima", "Africa/Lagos"],
)
def test_zones_between_the_tropics_are_tropical(zone):
    assert climate_for_timezone(zone) == "tropical"


@pytest.mark.parametrize(
    "zone", ["Europe/London", "Australia/Sydney", "America/New_York", "Asia/Tokyo", "UTC"]
)
def test_zones_outside_the_tropics_are_temperate(zone):
    assert climate_for_timezone(zone) == "temperate"


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("Europe/London", "GB"),
        ("America/New_York", "US"),
        ("Australia/Sydney", "AU"),
        ("Asia/Singapore", "SG"),
        ("Europe/Oslo", "NO"),
        ("UTC", ""),
    ],
)
def test_the_country_is_the_zone_main_city_country(zone, country):
    assert country_for_timezone(zone) == country


def test_latitude_is_read_in_degrees_minutes_and_seconds():
    # zone1970.tab: Australia/Sydney is at -3352+15113, 33 degrees 52 minutes south.
    facts = zone_facts("Australia/Sydney")
    assert facts is not None
    assert facts.latitude == -(33 + Decimal(52) / 60)
