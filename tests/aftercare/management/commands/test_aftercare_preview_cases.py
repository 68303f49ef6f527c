"""The named content cases (tests/aftercare/content_cases.py) through `aftercare_preview`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.aftercare.content_cases import CASES, Case


def preview_json(options: list[str]) -> dict:
    out = io.StringIO()
    call_command("aftercare_preview", *options, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_case(case: Case):
    case.check(*(preview_json(t.options()) for t in case.treatments))
