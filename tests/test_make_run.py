"""`make run` serves where it says: on PORT (8000 by default), with emailed links following.

`make -n run` prints the commands without running them: the address it announces, and
the port and SITE_URL it gives honcho. Then honcho, started as `make run` starts it, runs
the Procfile's web process, which must answer on that port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HONCHO = Path(sys.executable).with_name("honcho")
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make_run_commands(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"PORT", "SITE_URL"}}
    result = subprocess.run(
        ["make", "-n", "run"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def _honcho_line(commands: str) -> str:
    (line,) = [line for line in commands.splitlines() if "honcho start" in line]
    return line


def test_it_serves_on_8000_by_default_and_says_so():
    commands = _make_run_commands()
    assert "Staff login: http://localhost:8000/accounts/login/" in commands
    line = _honcho_line(commands)
    assert "--port '8000'" in line
    assert "SITE_URL='http://localhost:8000'" in line


def test_it_serves_on_port_and_emailed_links_follow():
    commands = _make_run_commands(PORT="8123")
    assert "Staff login: http://localhost:8123/accounts/login/" in commands
    line = _honcho_line(commands)
    assert "--port '8123'" in line
    assert "PORT='8123'" in line
    assert "SITE_URL='http://localhost:8123'" in line


def test_a_site_url_that_is_set_is_kept():
    line = _honcho_line(_make_run_commands(PORT="8123", SITE_URL="https://aftercare.example"))
    assert "SITE_URL='https://aftercare.example'" in line
    assert "--port '8123'" in line


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_procfiles_web_process_listens_on_the_port_honcho_is_given(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{HONCHO.parent}{os.pathsep}{os.environ['PATH']}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path / "var"),
        "ENVIRONMENT": "development",
    }
    env.pop("PORT", None)
    # As `make run` starts it (only the web process: the worker and beat are not needed).
    server = subprocess.Popen(
        [str(HONCHO), "start", "--port", str(port), "web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while status is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    status = r.status
            except urllib.error.HTTPError as error:
                status = error.code  # answering is what counts (503: not migrated)
            except OSError:
                time.sleep(0.3)
        assert status in {200, 503}, f"nothing answered on port {port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
