"""Each clinic's own copy of the guidance, and the shipped default it came from.

A clinic's guidance starts as a copy of the shipped default
(`aftercare.planner.default_guidance.DEFAULT_GUIDANCE`), made the first time the clinic's
guidance is needed (`guidance_for_clinic`: its first plan, preview or visit to the
guidance admin), so every way of creating a clinic gets one. Each copied row records
the default row it came from (`default_key`) and that row's fingerprint when it was
taken (`default_fingerprint`). With those:

- the admin shows, row by row, what differs from the shipped default, and resets a
  row to it (`row_differences`, `row_reset`);
- when a new version of the default ships, `guidance_offer_update` (the
  `guidance_update` command) takes the new default for the rows the clinic never
  changed, adds the rows new to the default, and leaves every row the clinic changed
  as it is, saying so.

Rows taken from the default are switched off rather than deleted (the admin refuses
to delete them), so an update never brings back something a clinic removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

from django.apps import apps
from django.db import models, transaction

from aftercare.guidance.rows import (
    PreviewRow,
    factor_fields,
    factor_from_row,
    item_fields,
    item_from_row,
    json_default,
    level_fields,
    level_from_row,
    load_guidance,
    phase_fields,
    phase_from_row,
    reminder_fields,
    reminder_from_row,
    restriction_fields,
    restriction_from_row,
)
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import Guidance, IntensityFactor, IntensityLevel
from clinic.models import Clinic

if TYPE_CHECKING:
    from aftercare.models import ClinicGuidanceRow


@dataclass(frozen=True)
class RowKind:
    """One guidance table: its model, its field of `Guidance`, and the conversions."""

    model_name: str
    collection: str
    noun: str
    from_row: Callable[[Any], Any]
    fields: Callable[[Any], dict[str, Any]]

    @property
    def model(self) -> type[ClinicGuidanceRow]:
        return cast("type[ClinicGuidanceRow]", apps.get_model("aftercare", self.model_name))


KINDS = (
    RowKind("RecoveryPhase", "phases", "phase", phase_from_row, phase_fields),
    RowKind("GuidanceItem", "items", "item", item_from_row, item_fields),
    RowKind(
        "RestrictionRule", "restrictions", "restriction", restriction_from_row, restriction_fields
    ),
    RowKind("ReminderMoment", "reminders", "reminder", reminder_from_row, reminder_fields),
    RowKind(
        "IntensityFactor", "intensity_factors", "intensity row", factor_from_row, factor_fields
    ),
    RowKind("IntensityLevel", "intensity_levels", "intensity level", level_from_row, level_fields),
)


def kind_of(model: type[models.Model]) -> RowKind:
    return next(kind for kind in KINDS if kind.model_name == model.__name__)


def default_key(value: PreviewRow | IntensityFactor | IntensityLevel) -> str:
    """What names a default row across versions of the shipped default."""
    if isinstance(value, IntensityFactor):
        return f"{value.factor}:{format(value.threshold.normalize(), 'f')}:{value.value}"
    if isinstance(value, IntensityLevel):
        return f"rank-{value.rank}"
    return value.key


# Fields the planner's values gained after clinics had taken copies, with the value that
# means "as before". Left out of a fingerprint while they hold it, so a row fingerprinted
# before the field existed still matches and still takes the next default.
_ADDED_LATER: dict[str, object] = {
    "after_restriction": "",
    "areas": frozenset(),
    "hours_per_point": 0,
}


def value_fingerprint(value: Any, *, active: bool = True) -> str:
    fields = asdict(value)
    for name, unchanged in _ADDED_LATER.items():
        if name in fields and fields[name] == unchanged:
            del fields[name]
    encoded = json.dumps({"value": fields, "active": active}, default=json_default, sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def row_fingerprint(row: ClinicGuidanceRow) -> str:
    value = kind_of(type(row)).from_row(row)
    return value_fingerprint(value, active=getattr(row, "is_active", True))


def default_values(kind: RowKind, guidance: Guidance = DEFAULT_GUIDANCE) -> dict[str, Any]:
    return {default_key(value): value for value in getattr(guidance, kind.collection)}


def _new_row(kind: RowKind, clinic: Clinic, value: Any) -> ClinicGuidanceRow:
    return kind.model(
        clinic=clinic,
        default_key=default_key(value),
        default_fingerprint=value_fingerprint(value),
        **kind.fields(value),
    )


def guidance_install(*, clinic: Clinic, guidance: Guidance = DEFAULT_GUIDANCE) -> bool:
    """Give the clinic its copy of the shipped default, unless it has guidance already."""
    phases = apps.get_model("aftercare", "RecoveryPhase").objects
    if phases.filter(clinic=clinic).exists():
        return False
    with transaction.atomic():
        # Two first uses at once: the second waits here, then finds the copy made.
        Clinic.objects.select_for_update().filter(pk=clinic.pk).first()
        if phases.filter(clinic=clinic).exists():
            return False
        for kind in KINDS:
            kind.model._default_manager.bulk_create(
                [_new_row(kind, clinic, value) for value in getattr(guidance, kind.collection)]
            )
    return True


def guidance_for_clinic(clinic: Clinic) -> Guidance:
    """The clinic's guidance as the planner's input, its copy made first if need be."""
    guidance_install(clinic=clinic)
    return load_guidance(clinic)


@dataclass(frozen=True)
class FieldDifference:
    field: str
    clinic_value: Any
    default_value: Any


def row_default(row: ClinicGuidanceRow, guidance: Guidance = DEFAULT_GUIDANCE) -> Any | None:
    """The shipped default's version of this row, or None (added by the clinic, or gone)."""
    if not row.default_key:
        return None
    return default_values(kind_of(type(row)), guidance).get(row.default_key)


def row_differences(row: ClinicGuidanceRow) -> list[FieldDifference] | None:
    """Field by field, where the row differs from the shipped default; None: no default."""
    kind = kind_of(type(row))
    default = row_default(row)
    if default is None:
        return None
    ours = kind.fields(kind.from_row(row))
    theirs = kind.fields(default)
    differences = [
        FieldDifference(name, ours[name], theirs[name])
        for name in theirs
        if ours[name] != theirs[name]
    ]
    if not getattr(row, "is_active", True):
        differences.append(FieldDifference("is_active", False, True))
    return differences


def row_reset(*, row: ClinicGuidanceRow) -> None:
    """Put the shipped default's version back into the row (switched on)."""
    default = row_default(row)
    if default is None:
        raise ValueError(f"{row} has no shipped default to go back to.")
    _take_default(row, default)


def _take_default(row: ClinicGuidanceRow, default: Any) -> None:
    for name, value in kind_of(type(row)).fields(default).items():
        setattr(row, name, value)
    if hasattr(row, "is_active"):
        row.is_active = True
    row.default_fingerprint = value_fingerprint(default)
    row.full_clean()
    row.save()


@dataclass(frozen=True)
class GuidanceChange:
    """One line of what offering a new default did (or would do) to a clinic."""

    action: str  # "added", "updated", "kept", "retired"
    noun: str
    name: str
    why: str

    def __str__(self) -> str:
        return f"{self.action} {self.noun} {self.name!r}: {self.why}"


def guidance_offer_update(
    *, clinic: Clinic, apply: bool, guidance: Guidance = DEFAULT_GUIDANCE
) -> list[GuidanceChange]:
    """Offer `guidance` (the shipped default) to the clinic, never over its own changes.

    For each default row: missing at the clinic, it is added; taken earlier and never
    changed by the clinic, it becomes the new version; changed by the clinic, it is
    kept and reported. Rows the new default dropped are kept and reported. With
    `apply` false nothing is written: the changes that would be made are returned.
    """
    guidance_install(clinic=clinic, guidance=guidance)
    changes: list[GuidanceChange] = []
    with transaction.atomic():
        for kind in KINDS:
            rows = {
                row.default_key: row
                for row in kind.model._default_manager.filter(clinic=clinic).exclude(default_key="")
            }
            for key, value in default_values(kind, guidance).items():
                changes.extend(_offer_row(kind, clinic, rows.get(key), value, apply=apply))
            for key in sorted(set(rows) - set(default_values(kind, guidance))):
                why = "no longer in the shipped default; kept as it is"
                changes.append(GuidanceChange("retired", kind.noun, str(rows[key]), why))
        if not apply:
            transaction.set_rollback(True)
    return changes


def _offer_row(
    kind: RowKind, clinic: Clinic, row: ClinicGuidanceRow | None, value: Any, *, apply: bool
) -> list[GuidanceChange]:
    fingerprint = value_fingerprint(value)
    if row is None:
        new_row = _new_row(kind, clinic, value)
        if kind.model._default_manager.filter(clinic=clinic, **_name_fields(kind, value)).exists():
            why = "new in the shipped default, but the clinic has its own row of that name"
            return [GuidanceChange("kept", kind.noun, str(new_row), why)]
        if apply:
            new_row.full_clean()
            new_row.save()
        return [GuidanceChange("added", kind.noun, str(new_row), "new in the shipped default")]
    if row.default_fingerprint == fingerprint:
        return []
    if row_fingerprint(row) != row.default_fingerprint:
        why = (
            "changed by the clinic, so kept; the shipped default changed too "
            "(compare and reset it in the admin to take the new version)"
        )
        return [GuidanceChange("kept", kind.noun, str(row), why)]
    if apply:
        _take_default(row, value)
    return [GuidanceChange("updated", kind.noun, str(row), "taken from the new shipped default")]


def _name_fields(kind: RowKind, value: Any) -> dict[str, Any]:
    """The fields the database keeps unique within a clinic (see unique_per_clinic)."""
    fields = kind.fields(value)
    if isinstance(value, IntensityFactor):
        return {name: fields[name] for name in ("factor", "threshold", "value")}
    if isinstance(value, IntensityLevel):
        return {"rank": fields["rank"]}
    return {"key": fields["key"]}
