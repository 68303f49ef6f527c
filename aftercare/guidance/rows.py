"""Moving guidance between the database rows and the planner's plain values."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from decimal import Decimal
from typing import Any, cast

from aftercare.planner.inputs import (
    Conditions,
    Guidance,
    GuidanceItem,
    IntensityFactor,
    IntensityLevel,
    Phase,
    ReminderMoment,
    Restriction,
)


def load_guidance(clinic: Any) -> Guidance:
    """The clinic's active guidance in the database, as the planner's input.

    Reads only; `aftercare.guidance.clinic.guidance_for_clinic` also gives a clinic
    its copy of the shipped default the first time it is needed.
    """
    from aftercare import models

    def rows(model: Any, **active: bool) -> Any:
        return model.objects.filter(clinic=clinic, **active)

    return Guidance(
        phases=tuple(phase_from_row(row) for row in rows(models.RecoveryPhase)),
        items=tuple(item_from_row(row) for row in rows(models.GuidanceItem, is_active=True)),
        restrictions=tuple(
            restriction_from_row(row) for row in rows(models.RestrictionRule, is_active=True)
        ),
        reminders=tuple(
            reminder_from_row(row) for row in rows(models.ReminderMoment, is_active=True)
        ),
        intensity_factors=tuple(factor_from_row(row) for row in rows(models.IntensityFactor)),
        intensity_levels=tuple(level_from_row(row) for row in rows(models.IntensityLevel)),
    )


# The planner's values a preview can put in place of a saved row (guidance_with).
PreviewRow = Phase | GuidanceItem | Restriction | ReminderMoment


def guidance_with(
    guidance: Guidance,
    *,
    row: PreviewRow,
    replacing: str | None = None,
    active: bool = True,
) -> Guidance:
    """`guidance` with one row added or replaced (by its original key), for previews."""
    field = {
        Phase: "phases",
        GuidanceItem: "items",
        Restriction: "restrictions",
        ReminderMoment: "reminders",
    }[type(row)]
    others = tuple(
        existing
        for existing in getattr(guidance, field)
        if existing.key not in {replacing, row.key}
    )
    return replace(guidance, **{field: others + ((row,) if active else ())})


def guidance_to_dict(guidance: Guidance) -> dict[str, Any]:
    """A JSON-ready, canonical form (sets sorted), stored in GuidanceSnapshot."""
    encoded = json.dumps(asdict(guidance), default=json_default, sort_keys=True)
    return cast(dict[str, Any], json.loads(encoded))


def guidance_fingerprint(guidance: Guidance) -> str:
    """The same for the same guidance, whatever order its rows come in."""
    data = guidance_to_dict(guidance)
    canonical = {
        name: sorted(json.dumps(row, sort_keys=True) for row in rows) for name, rows in data.items()
    }
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def phase_fields(phase: Phase) -> dict[str, Any]:
    return {
        "key": phase.key,
        "name": phase.name,
        "summary": phase.summary_md,
        "starts_after_hours": phase.starts_after_hours,
        "ends_after_hours": phase.ends_after_hours,
        "fact_ids": list(phase.fact_ids),
    }


def item_fields(item: GuidanceItem) -> dict[str, Any]:
    conditions = item.conditions
    return {
        "key": item.key,
        "kind": item.kind,
        "title": item.title,
        "body": item.body_md,
        "starts_after_hours": item.starts_after_hours,
        "ends_after_hours": item.ends_after_hours,
        "order": item.order,
        "min_depth_mm": conditions.min_depth_mm,
        "max_depth_mm": conditions.max_depth_mm,
        "min_passes": conditions.min_passes,
        "max_passes": conditions.max_passes,
        "min_intensity": conditions.min_intensity,
        "areas": sorted(conditions.areas),
        "devices": sorted(conditions.devices),
        "skin_types": sorted(conditions.skin_types),
        "min_age": conditions.min_age,
        "max_age": conditions.max_age,
        "history": sorted(conditions.history),
        "seasons": sorted(conditions.seasons),
        "fact_ids": list(item.fact_ids),
        "after_restriction": item.after_restriction,
    }


def restriction_fields(restriction: Restriction) -> dict[str, Any]:
    return {
        "key": restriction.key,
        "label": restriction.label,
        "body": restriction.body_md,
        "hours_light": restriction.hours_light,
        "hours_moderate": restriction.hours_moderate,
        "hours_intense": restriction.hours_intense,
        "hours_per_point": restriction.hours_per_point,
        "areas": sorted(restriction.areas),
        "order": restriction.order,
        "fact_ids": list(restriction.fact_ids),
    }


def reminder_fields(moment: ReminderMoment) -> dict[str, Any]:
    return {
        "key": moment.key,
        "label": moment.label,
        "summary": moment.summary_md,
        "offset_days": moment.offset_days,
        "min_intensity": moment.min_intensity,
        "fact_ids": list(moment.fact_ids),
    }


def factor_fields(factor: IntensityFactor) -> dict[str, Any]:
    return {
        "factor": factor.factor,
        "threshold": factor.threshold,
        "value": factor.value,
        "points": factor.points,
    }


def level_fields(level: IntensityLevel) -> dict[str, Any]:
    return {
        "rank": level.rank,
        "label": level.label,
        "min_score": level.min_score,
        "downtime_hours": level.downtime_hours,
    }


def json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def phase_from_row(row: Any) -> Phase:
    return Phase(
        key=row.key,
        name=row.name,
        summary_md=row.summary,
        starts_after_hours=row.starts_after_hours,
        ends_after_hours=row.ends_after_hours,
        fact_ids=tuple(row.fact_ids),
    )


def item_from_row(row: Any) -> GuidanceItem:
    return GuidanceItem(
        key=row.key,
        kind=row.kind,
        title=row.title,
        body_md=row.body,
        starts_after_hours=row.starts_after_hours,
        ends_after_hours=row.ends_after_hours,
        conditions=Conditions(
            min_depth_mm=row.min_depth_mm,
            max_depth_mm=row.max_depth_mm,
            min_passes=row.min_passes,
            max_passes=row.max_passes,
            min_intensity=row.min_intensity,
            areas=frozenset(row.areas),
            devices=frozenset(row.devices),
            skin_types=frozenset(int(value) for value in row.skin_types),
            min_age=row.min_age,
            max_age=row.max_age,
            history=frozenset(row.history),
            seasons=frozenset(row.seasons),
        ),
        fact_ids=tuple(row.fact_ids),
        order=row.order,
        # Migration 0008 reads rows of a model from before this field existed.
        after_restriction=getattr(row, "after_restriction", ""),
    )


def restriction_from_row(row: Any) -> Restriction:
    return Restriction(
        key=row.key,
        label=row.label,
        body_md=row.body,
        hours_light=row.hours_light,
        hours_moderate=row.hours_moderate,
        hours_intense=row.hours_intense,
        fact_ids=tuple(row.fact_ids),
        order=row.order,
        # Migration 0008 reads rows of a model from before these fields existed.
        areas=frozenset(getattr(row, "areas", ())),
        hours_per_point=getattr(row, "hours_per_point", 0),
    )


def reminder_from_row(row: Any) -> ReminderMoment:
    return ReminderMoment(
        key=row.key,
        label=row.label,
        summary_md=row.summary,
        offset_days=row.offset_days,
        min_intensity=row.min_intensity,
        fact_ids=tuple(row.fact_ids),
    )


def factor_from_row(row: Any) -> IntensityFactor:
    return IntensityFactor(
        factor=row.factor, points=row.points, threshold=row.threshold, value=row.value
    )


def level_from_row(row: Any) -> IntensityLevel:
    return IntensityLevel(
        rank=row.rank,
        label=row.label,
        min_score=row.min_score,
        downtime_hours=row.downtime_hours,
    )
