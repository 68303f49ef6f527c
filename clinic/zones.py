"""What a clinic's time zone says about where it is: country, hemisphere and climate.

The time zone database ships tables (zone1970.tab, zone.tab) that give each zone's
country codes and the coordinates of its main city. That is enough for defaults a clinic
can then change: the country decides the emergency number, the latitude decides the
hemisphere (which way the seasons run) and whether the clinic is in the tropics, where
there is no winter or summer to plan around, only heat and humidity.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path

NORTH = "north"
SOUTH = "south"
TEMPERATE = "temperate"
TROPICAL = "tropical"
CLIMATES = (TEMPERATE, TROPICAL)
# The tropics of Cancer and Capricorn, in degrees of latitude.
TROPICS_LATITUDE = Decimal("23.44")


@dataclass(frozen=True)
class ZoneFacts:
    country: str  # ISO 3166-1 alpha-2, e.g. "GB"; the first listed when a zone spans several
    latitude: Decimal  # of the zone's main city; negative is south


def zone_facts(name: str) -> ZoneFacts | None:
    """The zone's country and latitude, or None for zones with no place (UTC, Etc/...)."""
    return _zones().get(name)


def country_for_timezone(name: str) -> str:
    """ISO country code of the zone's main city; "" when the zone has none."""
    facts = zone_facts(name)
    return facts.country if facts else ""


def hemisphere_for_timezone(name: str) -> str:
    """Return "north" or "south"; zones the tables do not place (UTC, Etc/...) count as north."""
    facts = zone_facts(name)
    return SOUTH if facts is not None and facts.latitude < 0 else NORTH


def climate_for_timezone(name: str) -> str:
    """ "tropical" between the tropics, "temperate" elsewhere and for zones with no place."""
    facts = zone_facts(name)
    if facts is not None and abs(facts.latitude) < TROPICS_LATITUDE:
        return TROPICAL
    return TEMPERATE


@functools.cache
def _zones() -> dict[str, ZoneFacts]:
    # zone1970.tab has the canonical zones; zone.tab still lists the per-country zones that
    # zone1970.tab folded into another row (Europe/Oslo, Europe/Stockholm, ...).
    zones: dict[str, ZoneFacts] = {}
    for filename in ("zone1970.tab", "zone.tab"):
        text = _read_zone_table(filename)
        if text is None:
            continue
        for name, facts in _parse_zone_table(text):
            zones.setdefault(name, facts)
    return zones


def _read_zone_table(filename: str) -> str | None:
    try:
        return resources.files("tzdata.zoneinfo").joinpath(filename).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / filename
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def _parse_zone_table(text: str) -> list[tuple[str, ZoneFacts]]:
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) < 3:
            continue
        countries, coordinates, name = columns[0], columns[1], columns[2].strip()
        rows.append((name, ZoneFacts(countries.split(",")[0], _latitude(coordinates))))
    return rows


def _latitude(coordinates: str) -> Decimal:
    """Degrees from ISO 6709 text: +DDMM or +DDMMSS, then the longitude (-3352+15113)."""
    sign = -1 if coordinates[0] == "-" else 1
    digits = coordinates[1:]
    end = next(i for i, char in enumerate(digits) if char in "+-")
    latitude = digits[:end]
    degrees, minutes, seconds = int(latitude[:2]), int(latitude[2:4]), int(latitude[4:6] or 0)
    return sign * (degrees + Decimal(minutes) / 60 + Decimal(seconds) / 3600)
