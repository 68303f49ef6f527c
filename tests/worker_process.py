"""A real Celery worker or beat in its own process, for tests that need one.

Celery's `start_worker` helper runs the worker in a thread of the test process: it
shares the test's clock and connections and cannot be killed. This starts
`celery -A clinic worker --pool=solo` (or `beat`) as a separate process, configured
only through the environment, the way production starts it.

    env = env_for_subprocess(sink.url, SITE_URL=live_server.url)
    with CeleryProcess(kind="worker", env=env, queues=["my-queue"]) as worker:
        ...
        worker.kill()  # SIGKILL, as a crashed machine would

Tests that start one must be transactional (`django_db(transaction=True)`): the
worker connects to the test database itself and only sees committed rows.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
READY_MARKERS = {"worker": " ready.", "beat": "beat: Starting..."}
TASK_EVENT = re.compile(
    r"Task [\w.]+\[(?P<id>[0-9a-f-]{36})\] (?P<event>received|succeeded|raised|failed)"
)


def database_url() -> str:
    """A URL for the database this test process uses (the pytest test database)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError(
            "a worker subprocess needs PostgreSQL: SQLite test databases are private"
        )
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


def env_for_subprocess(sink_url: str, **overrides: str) -> dict[str, str]:
    """The environment for a worker or beat: this run's test database and Redis, mail to the sink.

    `overrides` win, e.g. SITE_URL=live_server.url or REMINDER_LEASE_SECONDS="5".
    """
    broker = settings.REDIS_URL or settings.CELERY_BROKER_URL
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        ENVIRONMENT="test",
        DATABASE_URL=database_url(),
        # A fresh connection per task: the test database is flushed between tests.
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL=broker,
        CELERY_BROKER_URL=broker,
        EMAIL_URL=sink_url,
        SITE_URL=settings.SITE_URL,
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class CeleryProcess:
    """One `celery -A clinic worker|beat` subprocess, its output kept in a log file."""

    def __init__(
        self,
        kind: Literal["worker", "beat"] = "worker",
        *,
        env: dict[str, str],
        queues: list[str] | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        if kind not in READY_MARKERS:
            raise ValueError(f"kind must be worker or beat, not {kind!r}")
        self.kind = kind
        self.env = env
        self.queues = queues or []
        self.extra_args = extra_args or []
        self._folder = Path(tempfile.mkdtemp(prefix=f"celery-{kind}-"))
        self.log_path = self._folder / f"{kind}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "celery", "-A", "clinic", self.kind, "--loglevel=INFO"]
        if self.kind == "worker":
            command += [
                "--pool=solo",
                # A unique name: other workers on the same Redis must not look like this one.
                f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
            if self.queues:
                command.append(f"--queues={','.join(self.queues)}")
        else:
            command.append(f"--schedule={self._folder / 'celerybeat-schedule'}")
        return command + self.extra_args

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> CeleryProcess:
        """Start the process; with `wait`, return once it says it is ready."""
        if self.process is not None:
            raise RuntimeError("already started")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                self.command(),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # Its own session keeps Ctrl-C away from it: make sure it never outlives the test run.
        atexit.register(self.kill)
        if wait and not self.wait_for_log(READY_MARKERS[self.kind], timeout=timeout):
            output = self.log()
            self.kill()
            raise RuntimeError(f"celery {self.kind} did not become ready:\n{output}")
        return self

    def stop(self, timeout: float = 15.0) -> int | None:
        """Warm shutdown (SIGTERM: finish the current task), then SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return self.returncode
        self.resume()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.returncode

    def kill(self) -> None:
        """SIGKILL, as a machine that loses power: nothing is acknowledged or cleaned up."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the process holds its leases and connections but does nothing."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, *, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if not self.is_running():
                return False
            time.sleep(0.1)
        return text in self.log()

    def tasks_in_flight(self) -> int:
        """Tasks the worker has received and not yet finished, according to its log."""
        received: set[str] = set()
        finished: set[str] = set()
        for match in TASK_EVENT.finditer(self.log()):
            (received if match["event"] == "received" else finished).add(match["id"])
        return len(received - finished)

    def wait_until_idle(self, *, timeout: float = 30.0) -> bool:
        """Wait for the tasks it has received to finish, e.g. before a test empties the tables.

        A task still in the broker, not yet received, does not count.
        """
        deadline = time.monotonic() + timeout
        while self.tasks_in_flight() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.tasks_in_flight() == 0

    def __enter__(self) -> CeleryProcess:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
