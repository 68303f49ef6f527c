"""The link behind a patient page request, in one hand-written query.

Every patient page checks the session's link again (not revoked, not expired,
the clinic in the URL) and needs its plan, treatment and clinic. Written with
the ORM (select_related over four tables, the plan's JSON deferred), building
and compiling that query took about three quarters of a Today request, several
times what PostgreSQL spends running it; bench/patient_page.py measures it. So
the SQL is built once per process from the models' own metadata, and the rows
are turned into model instances with the backend's own converters, as the ORM
would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

from aftercare.models import AftercarePlan, PatientLink
from clinic.models import Clinic
from patients.models import Treatment

# The plan's content is parsed once per process (plan_cache): never fetched here.
_JOINED: tuple[tuple[type[Model], str, tuple[str, ...]], ...] = (
    (PatientLink, "l", ()),
    (AftercarePlan, "p", ("content",)),
    (Treatment, "t", ()),
    (Clinic, "c", ()),
)


@dataclass(frozen=True)
class _Part:
    model: type[Model]
    attnames: list[str]
    converters: list[tuple[Any, list[Callable[..., Any]]]]


def link_for_page(*, link_id: int, clinic_slug: str, now: datetime) -> PatientLink | None:
    """The link if it is still good for this clinic's pages, with plan, treatment and clinic."""
    sql, parts = _query(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [link_id, now, clinic_slug])
        row = cursor.fetchone()
    if row is None:
        return None
    instances = []
    start = 0
    for part in parts:
        end = start + len(part.attnames)
        instances.append(_instance(part, row[start:end]))
        start = end
    link, plan, treatment, clinic = instances
    treatment.clinic = clinic
    plan.treatment = treatment
    link.plan = plan
    return link


@cache
def _query(vendor: str) -> tuple[str, list[_Part]]:
    quote = connection.ops.quote_name
    columns: list[str] = []
    parts: list[_Part] = []
    for model, alias, skipped in _JOINED:
        fields: list[Field] = [
            field for field in model._meta.concrete_fields if field.attname not in skipped
        ]
        columns += [f"{alias}.{quote(field.column)}" for field in fields]
        parts.append(
            _Part(
                model=model,
                attnames=[field.attname for field in fields],
                converters=[_converters(model, field) for field in fields],
            )
        )
    table = {model: quote(model._meta.db_table) for model, _, _ in _JOINED}
    # Only names from the models' metadata go into the text; values are parameters.
    sql = (
        f"SELECT {', '.join(columns)} FROM {table[PatientLink]} l"  # noqa: S608  # nosec B608
        f" JOIN {table[AftercarePlan]} p ON p.id = l.plan_id"
        f" JOIN {table[Treatment]} t ON t.id = p.treatment_id"
        f" JOIN {table[Clinic]} c ON c.id = t.clinic_id"
        " WHERE l.id = %s AND l.revoked_at IS NULL AND l.expires_at > %s AND c.slug = %s"
    )
    return sql, parts


def _converters(model: type[Model], field: Field) -> tuple[Any, list[Callable[..., Any]]]:
    column = field.get_col(model._meta.db_table)
    return column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)


def _instance(part: _Part, values: tuple[Any, ...]) -> Model:
    converted = []
    for (column, converters), value in zip(part.converters, values, strict=True):
        for convert in converters:
            value = convert(value, column, connection)
        converted.append(value)
    return part.model.from_db(connection.alias, part.attnames, converted)
