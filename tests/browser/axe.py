"""Run axe-core (from node_modules, installed by `npm ci`) in a Playwright page.

Pages send `script-src 'self'`, which blocks the inline <script> that add_script_tag makes:
open the page in a context made with `bypass_csp=True` before calling `axe_violations`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def axe_source() -> str:
    """axe.min.js, or a skip (a failure under CI=true) when `npm ci` has not been run."""
    if not AXE_JS.exists():
        reason = f"needs axe-core: run `npm ci` in the project folder ({AXE_JS} is missing)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Any, impacts: tuple[str, ...] = BLOCKING_IMPACTS) -> list[dict]:
    """The axe-core violations of the page as it is now, of the given impacts."""
    page.add_script_tag(content=axe_source())
    results = page.evaluate("async () => await axe.run()")
    assert results["passes"], "axe-core ran no check on the page"
    return [violation for violation in results["violations"] if violation["impact"] in impacts]


def describe(violations: list[dict]) -> str:
    """A readable list of violations for an assertion message."""
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:160]}")
    return "\n".join(lines)
