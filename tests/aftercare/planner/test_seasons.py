from __future__ import annotations

from datetime import date

import pytest

from aftercare.planner.seasons import season_for


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


@pytest.mark.parametrize("hemisphere", ["north", "south"])
@pytest.mark.parametrize("month", [1, 4, 7, 10])
def test_the_tropics_have_one_season_all_year(hemisphere, month):
    assert season_for(date(2027, month, 15), hemisphere, "tropical") == "tropical"


def test_unknown_climate_is_rejected():
    with pytest.raises(ValueError, match="climate"):
        season_for(date(2026, 1, 1), "north", "arctic")
