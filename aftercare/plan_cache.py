"""Parsed plans, kept per process.

A stored plan's content is never edited in place (a change makes a new
revision), so (id, revision) identifies it for good.
"""

from __future__ import annotations

from aftercare.models import AftercarePlan
from aftercare.planning import Plan, plan_from_dict

MAX_PLANS = 2048
_parsed: dict[tuple[int, int], Plan] = {}


def stored_plan(plan: AftercarePlan) -> Plan:
    key = (plan.pk, plan.revision)
    parsed = _parsed.get(key)
    if parsed is None:
        if len(_parsed) >= MAX_PLANS:
            _parsed.clear()
        parsed = _parsed[key] = plan_from_dict(plan.content)
    return parsed
