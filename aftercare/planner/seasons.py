"""The season a treatment falls in, from plain values: the date, hemisphere and climate.

Where the clinic is (hemisphere, climate) is worked out from its time zone outside the
planner (`clinic.zones`) and arrives in `ClinicFacts`.
"""

from __future__ import annotations

from datetime import date

HEMISPHERES = ("north", "south")
CLIMATES = ("temperate", "tropical")
# Between the tropics the year has no winter or summer to plan skincare around: one
# "season", heat and humidity, all year.
TROPICAL = "tropical"

_NORTHERN_SEASONS = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}
_OPPOSITE = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}


def season_for(day: date, hemisphere: str, climate: str = "temperate") -> str:
    if hemisphere not in HEMISPHERES:
        raise ValueError(f"hemisphere must be 'north' or 'south', not {hemisphere!r}")
    if climate not in CLIMATES:
        raise ValueError(f"climate must be 'temperate' or 'tropical', not {climate!r}")
    if climate == TROPICAL:
        return TROPICAL
    season = _NORTHERN_SEASONS[day.month]
    return season if hemisphere == "north" else _OPPOSITE[season]
