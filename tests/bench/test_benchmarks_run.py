"""Every benchmark in bench/ still runs: each once, at a tiny size, as a subprocess.

The figures of a tiny run mean nothing; what is checked is that the benchmark gets
through its set-up (migrations, factories, raw inserts), its measurements and its
correctness checks against today's schema, exits 0 and prints its `ratio` line. A
schema change that breaks a benchmark fails here, not months later by hand.

Each run uses databases of its own (BENCH_DATABASE_SUFFIX), on the server the test
suite uses, so it never touches a benchmark someone started by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

# Each benchmark's arguments for a run of a few seconds.
TINY = {
    "due_scan.py": ["--tiny"],
    "patient_page.py": ["--tiny"],
    "staff_pages.py": ["--tiny"],
    # Owned by the dispatch work; its own size arguments, at their smallest useful values.
    "dispatch.py": ["--count", "20", "--plans", "2", "--rounds", "1"],
    # The Today page once; needs `npm ci` and chromium as well (see _missing_tools).
    "lighthouse.py": ["--tiny"],
}
TIMEOUT_SECONDS = 120
RATIO_LINE = re.compile(r"^\s+ratio\s+\d+\.\d+", re.MULTILINE)


def _benchmarks() -> set[str]:
    """The scripts in bench/ that run on their own (helpers start with `_` or have no main)."""
    return {
        path.name
        for path in BENCH.glob("*.py")
        if not path.name.startswith("_") and 'if __name__ == "__main__":' in path.read_text()
    }


def _server_url() -> str:
    database = settings.DATABASES["default"]
    user = database.get("USER") or "postgres"
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}"


def _missing_tools(script: str) -> str:
    """Why `script` cannot run here, or "": Lighthouse needs npm's package and chromium.
    Skipped like the browser tests when they are missing, except under CI=true."""
    if script != "lighthouse.py":
        return ""
    if not (ROOT / "node_modules" / ".bin" / "lighthouse").exists():
        return "needs node_modules/.bin/lighthouse: run `npm ci`"
    if not Path(os.environ.get("CHROME_PATH", "/usr/bin/chromium")).exists():
        return "needs Debian's chromium (apt-get install chromium)"
    return ""


def test_every_benchmark_has_a_tiny_run():
    assert _benchmarks() == set(TINY)


@pytest.mark.postgres
@pytest.mark.parametrize("script", sorted(TINY))
def test_the_benchmark_runs_at_a_tiny_size(script):
    missing = _missing_tools(script)
    if missing and os.environ.get("CI", "").lower() != "true":
        pytest.skip(missing)
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # each benchmark sets its own
    env.update(
        BENCH_POSTGRES_URL=_server_url(),
        BENCH_DATABASE_SUFFIX=f"_smoke_{os.getpid()}",
        PYTHONUNBUFFERED="1",
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *TINY[script]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    output = f"{result.stdout}\n{result.stderr}"[-6000:]
    assert result.returncode == 0, f"{script} exited {result.returncode}:\n{output}"
    assert RATIO_LINE.search(result.stdout), f"{script} printed no ratio line:\n{output}"
    print(f"{script}: {time.monotonic() - started:.1f}s")
