"""Plain values the aftercare planner works from.

The planner (`aftercare.planner.planning`) must not touch the ORM: views and services
turn model rows into these frozen dataclasses, and tests build them by hand.
Every duration is in whole hours after the moment of treatment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

AREAS = (
    "forehead",
    "periorbital",
    "cheeks",
    "nose",
    "perioral",
    "chin_jawline",
    "neck",
    "decolletage",
    "hands",
    "scalp",
    "body",
)
DELICATE_AREAS = frozenset({"periorbital", "forehead", "neck"})
# Areas that share their aftercare: each family has its own items (hair washing for the
# scalp, clothing for the body, makeup for the face) and never shows another's.
AREA_FAMILIES: dict[str, frozenset[str]] = {
    "face": frozenset({"forehead", "cheeks", "nose", "perioral", "chin_jawline"}),
    "eyes": frozenset({"periorbital"}),
    "neck": frozenset({"neck", "decolletage"}),
    "scalp": frozenset({"scalp"}),
    "body": frozenset({"hands", "body"}),
}
DEVICES = ("pen", "roller", "stamp", "rf")
HISTORY_FLAGS = ("breakout_prone", "slow_healing", "sensitive_skin")
SEASONS = ("spring", "summer", "autumn", "winter", "tropical")
ITEM_KINDS = ("expect", "do", "avoid", "product", "warning")
# Ranks of treatment intensity: 1 light, 2 moderate, 3 intense.
INTENSITY_RANKS = (1, 2, 3)
INTENSITY_FACTORS = ("depth", "passes", "area_count", "area", "device", "history")


@dataclass(frozen=True)
class TreatmentFacts:
    performed_at: datetime  # timezone-aware
    depth_mm: Decimal
    passes: int
    areas: frozenset[str]
    device: str
    # Fitzpatrick 1..6; None when it was cleared from the patient's record after the visit.
    skin_type: int | None
    age_years: int | None = None
    history: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ClinicFacts:
    name: str
    phone: str
    email: str
    timezone: str  # IANA name, e.g. "Australia/Sydney"
    hemisphere: str = "north"  # "north" or "south"
    climate: str = "temperate"  # "temperate" or "tropical" (no winter or summer)
    reminder_hour: int = 9  # local hour at which later reminders go out


@dataclass(frozen=True)
class IntensityFactor:
    """One row of the intensity table.

    For "depth", "passes" and "area_count", the row applies when the treatment's
    value is at least `threshold`; of the rows of one factor that apply, the
    largest `points` counts (so more depth can never score less). For "area",
    "device" and "history" the row applies when `value` is among the treated areas,
    is the device, or is among the patient's history flags, and the points of all
    matching rows add up.
    """

    factor: str
    points: int
    threshold: Decimal = Decimal(0)
    value: str = ""


@dataclass(frozen=True)
class IntensityLevel:
    rank: int  # 1, 2, 3
    label: str  # "Light", "Moderate", "Intense"
    min_score: int
    downtime_hours: int  # expected visible ("social") downtime


@dataclass(frozen=True)
class Phase:
    key: str
    name: str
    summary_md: str
    starts_after_hours: int
    ends_after_hours: int | None  # None: open-ended
    fact_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conditions:
    """When a guidance item applies. Empty / None means "any"."""

    min_depth_mm: Decimal | None = None
    max_depth_mm: Decimal | None = None
    min_passes: int | None = None
    max_passes: int | None = None
    min_intensity: int | None = None
    areas: frozenset[str] = frozenset()  # applies if ANY of these is treated
    devices: frozenset[str] = frozenset()
    skin_types: frozenset[int] = frozenset()
    min_age: int | None = None
    max_age: int | None = None
    history: frozenset[str] = frozenset()  # applies if the patient has ANY flag
    seasons: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GuidanceItem:
    key: str
    kind: str  # one of ITEM_KINDS
    title: str
    body_md: str
    starts_after_hours: int
    ends_after_hours: int | None
    conditions: Conditions = field(default_factory=Conditions)
    fact_ids: tuple[str, ...] = ()
    order: int = 0
    # A restriction's key: the item's hours then count from the moment that restriction
    # ends ("clean your brushes" once makeup is allowed again), so the two never disagree.
    after_restriction: str = ""


@dataclass(frozen=True)
class Restriction:
    """Something to avoid for a while; the duration grows with intensity.

    The hours of the treatment's level apply, plus `hours_per_point` for every point
    the treatment scored above that level's minimum, so two treatments of one level
    still differ when one scored more.
    """

    key: str
    label: str  # "Makeup"
    body_md: str
    hours_light: int
    hours_moderate: int
    hours_intense: int
    fact_ids: tuple[str, ...] = ()
    order: int = 0
    areas: frozenset[str] = frozenset()  # applies if ANY of these is treated; empty: always
    hours_per_point: int = 0


@dataclass(frozen=True)
class ReminderMoment:
    """A moment that deserves an email. offset_days 0 means right away."""

    key: str
    label: str
    summary_md: str
    offset_days: int
    min_intensity: int = 1
    fact_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guidance:
    phases: tuple[Phase, ...]
    items: tuple[GuidanceItem, ...]
    restrictions: tuple[Restriction, ...]
    reminders: tuple[ReminderMoment, ...]
    intensity_factors: tuple[IntensityFactor, ...]
    intensity_levels: tuple[IntensityLevel, ...]
