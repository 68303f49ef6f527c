"""Hemisphere and meteorological season, worked out from plain values."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import date
from importlib import resources
from pathlib import Path

HEMISPHERES = ("north", "south")

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


def hemisphere_for_timezone(name: str) -> str:
    """Return "north" or "south"; zones the tables do not place (UTC, Etc/...) count as north."""
    return _hemispheres().get(name, "north")


def season_for(day: date, hemisphere: str) -> str:
    if hemisphere not in HEMISPHERES:
        raise ValueError(f"hemisphere must be 'north' or 'south', not {hemisphere!r}")
    season = _NORTHERN_SEASONS[day.month]
    return season if hemisphere == "north" else _OPPOSITE[season]


@functools.cache
def _hemispheres() -> dict[str, str]:
    # zone1970.tab has the canonical zones; zone.tab still lists the per-country zones that
    # zone1970.tab folded into another row (Europe/Oslo, Europe/Stockholm, ...).
    hemispheres: dict[str, str] = {}
    for filename in ("zone1970.tab", "zone.tab"):
        text = _read_zone_table(filename)
        if text is None:
            continue
        for name, hemisphere in _parse_zone_table(text):
            hemispheres.setdefault(name, hemisphere)
    return hemispheres


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


def _parse_zone_table(text: str) -> list[tuple[str, str]]:
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) < 3:
            continue
        # ISO 6709: the coordinates start with the latitude's sign (-3352+15113 is 33°52'S).
        coordinates, name = columns[1], columns[2].strip()
        rows.append((name, "south" if coordinates.startswith("-") else "north"))
    return rows
