"""Parsed plans and rendered patient pages, kept per process.

A stored plan's content is never edited in place (a change makes a new
revision), so (id, revision, created_at) identifies it for good. A rendered page is keyed
by everything it shows (see aftercare.portal.views.today).
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime

from aftercare.models import AftercarePlan
from aftercare.planner.planning import Plan, plan_from_dict

MAX_PLANS = 2048
_parsed: dict[tuple[int, int, datetime], Plan] = {}


def identity(plan: AftercarePlan) -> tuple[int, int, datetime]:
    # created_at too: a database may hand out an id again (SQLite after a rollback).
    return (plan.pk, plan.revision, plan.created_at)


def stored_plan(plan: AftercarePlan) -> Plan:
    key = identity(plan)
    parsed = _parsed.get(key)
    if parsed is None:
        if len(_parsed) >= MAX_PLANS:
            _parsed.clear()
        parsed = _parsed[key] = plan_from_dict(plan.content)
    return parsed


class BoundedCache:
    """A dict that forgets everything when full: simple, and enough for pages that
    are cheap to render again."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[Hashable, str] = {}

    def get(self, key: Hashable) -> str | None:
        return self._items.get(key)

    def clear(self) -> None:
        self._items.clear()

    def put(self, key: Hashable, value: str) -> str:
        if len(self._items) >= self.size:
            self._items.clear()
        self._items[key] = value
        return value


rendered_pages = BoundedCache(4096)
