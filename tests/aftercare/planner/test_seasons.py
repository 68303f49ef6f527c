from __future__ import annotations

from datetime import date

import pytest

from aftercare.planner.seasons import hemisphere_for_timezone, season_for


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


def test_january_in_sydney_is_summer():
    assert season_for(date(2026, 1, 15), "south") == "summer"


def test_january_in_london_is_winter():
    assert season_for(date(2026, 1, 15), "north") == "winter"


@pytest.mark.parametrize(
    ("month", "north", "south"),
    [
        (1, "winter", "summer"),
        (2, "winter", "summer"),
        (3, "spring", "autumn"),
        (4, "spring", "autumn"),
        (5, "spring", "autumn"),
        (6, "summer", "winter"),
        (7, "summer", "winter"),
        (8, "summer", "winter"),
        (9, "autumn", "spring"),
        (10, "autumn", "spring"),
        (11, "autumn", "spring"),
        (12, "winter", "summer"),
    ],
)
def test_seasons_are_meteorological_and_opposite_across_the_equator(month, north, south):
    day = date(2027, month, 1)
    assert (season_for(day, "north"), season_for(day, "south")) == (north, south)


def test_season_changes_on_the_first_of_the_month():
    assert season_for(date(2026, 2, 28), "north") == "winter"
    assert season_for(date(2026, 3, 1), "north") == "spring"


def test_unknown_hemisphere_is_rejected():
    with pytest.raises(ValueError, match="hemisphere"):
        season_for(date(2026, 1, 1), "equator")
