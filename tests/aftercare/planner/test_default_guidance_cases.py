"""The named content cases (tests/aftercare/content_cases.py) through the planner."""

from __future__ import annotations

import pytest

from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.planning import build_plan, plan_to_dict
from tests.aftercare.content_cases import CASES, Case


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_case(case: Case):
    plans = [plan_to_dict(build_plan(*t.facts(), DEFAULT_GUIDANCE)) for t in case.treatments]
    case.check(*plans)
