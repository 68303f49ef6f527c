"""Real `celery -A clinic worker` and `celery -A clinic beat` subprocesses, for fault tests.

A worker started in a thread of the test process (Celery's `start_worker`) cannot be
killed and shares the test's clock; these are separate processes configured only
through the environment, the way production starts them. Each runs in its own
session, so a signal sent to it reaches it and nothing else, and writes its output
to a log file whose tail `CeleryProcesses.report()` shows when a test fails.

    processes = CeleryProcesses(env=celery_env(email_url=sink.url, var_dir=tmp_path),
                                folder=tmp_path)
    try:
        processes.beat("b1")
        worker = processes.worker("w1")
        ...
        worker.kill()  # SIGKILL: nothing is acknowledged or cleaned up
    finally:
        processes.stop_all()

Tests that use them must be transactional (`django_db(transaction=True)`): the
subprocesses connect to the test database themselves and only see committed rows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

if TYPE_CHECKING:
    from tests.aftercare.delivery.twilio_api import TwilioApi

ROOT = Path(__file__).resolve().parents[1]
CELERY = str(Path(sys.executable).parent / "celery")
READY = {"worker": " ready.", "beat": "beat: Starting..."}
# The clinic's sending number in the subprocesses' Twilio settings.
TWILIO_SENDER = "+447700900000"
TASK_EVENT = re.compile(
    r"Task [\w.]+\[(?P<id>[0-9a-f-]{36})\] (?P<event>received|succeeded|raised|failed)"
)


def subprocess_database_url() -> str:
    """A URL for the database this test process uses: pytest's test database."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("celery subprocesses need PostgreSQL: a SQLite test database is private")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


def redis_url_on_db(url: str, db: int) -> str:
    """`url` (redis://host:port/n) pointing at database `db` of the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def celery_env(
    *,
    email_url: str,
    var_dir: Path,
    broker_url: str | None = None,
    twilio: TwilioApi | None = None,
    **overrides: str,
) -> dict[str, str]:
    """The environment of a worker or beat: the test database, Redis, mail to a sink,
    and texts to the local Twilio stand-in `twilio` (texts off without one).

    The broker is `broker_url`, by default this run's REDIS_URL. `overrides` win, e.g.
    REMINDER_LEASE_SECONDS="5".
    """
    broker = broker_url or settings.REDIS_URL
    if not broker:
        raise RuntimeError("celery subprocesses need Redis: set REDIS_URL")
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        ENVIRONMENT="test",
        DEBUG="false",
        DATABASE_URL=subprocess_database_url(),
        # No connection kept between tasks: the test database is flushed after each test.
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL=broker,
        CELERY_BROKER_URL=broker,
        EMAIL_URL=email_url,
        SITE_URL=settings.SITE_URL,
        VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
    )
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_API_URL"):
        env.pop(name, None)
    if twilio is not None:
        env.update(
            TWILIO_ACCOUNT_SID=twilio.account_sid,
            TWILIO_AUTH_TOKEN=twilio.auth_token,
            TWILIO_FROM=TWILIO_SENDER,
            TWILIO_API_URL=twilio.url,
        )
    env.update(overrides)
    return env


class CeleryProcess:
    """One celery subprocess, its output in `log_path`."""

    def __init__(
        self, *, name: str, kind: str, command: list[str], env: dict[str, str], log_path: Path
    ) -> None:
        self.name = name
        self.kind = kind
        self.command = command
        self.env = env
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> CeleryProcess:
        if self.popen is not None:
            raise RuntimeError(f"{self.name} was already started")
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter's celery
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.popen.pid

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once the process says it is ready; raise with its log if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY[self.kind] in self.log():
                return
            if not self.is_running():
                break
            time.sleep(0.1)
        raise RuntimeError(f"celery {self.kind} {self.name} did not become ready:\n{self.tail()}")

    def signal(self, signum: int) -> None:
        # Its own session: the process group is this process (a solo worker or beat) alone.
        if self.is_running():
            os.killpg(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL, as a machine losing power would: no acknowledgement, no clean-up."""
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the process keeps its leases and connections but does nothing."""
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it does not exit in time."""
        if not self.is_running():
            return
        self.resume()
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

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


class CeleryProcesses:
    """Starts workers and beats with one environment, and stops every one of them."""

    def __init__(self, *, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.started: list[CeleryProcess] = []

    def worker(
        self, name: str = "w1", *, wait: bool = True, queues: tuple[str, ...] = ()
    ) -> CeleryProcess:
        command = [
            CELERY,
            "-A",
            "clinic",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            f"--hostname={name}-{os.getpid()}@%h",
        ]
        if queues:
            command.append(f"--queues={','.join(queues)}")
        return self._start(name, "worker", command, wait=wait)

    def beat(self, name: str = "b1", *, wait: bool = True) -> CeleryProcess:
        command = [
            CELERY,
            "-A",
            "clinic",
            "beat",
            "--loglevel=INFO",
            f"--schedule={self.folder / f'{name}-schedule'}",
        ]
        return self._start(name, "beat", command, wait=wait)

    def _start(self, name: str, kind: str, command: list[str], *, wait: bool) -> CeleryProcess:
        process = CeleryProcess(
            name=name,
            kind=kind,
            command=command,
            env=self.env,
            log_path=self.folder / f"{name}.log",
        )
        self.started.append(process)
        process.start()
        if wait:
            process.wait_ready()
        return process

    def wait_ready(self, timeout: float = 30.0) -> None:
        for process in self.started:
            if process.is_running():
                process.wait_ready(timeout)

    def stop_all(self) -> None:
        """Stop every process started here; the ones that hang are killed."""
        for process in self.started:
            process.resume()
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.started:
            if process.popen is None:
                continue
            try:
                process.popen.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()

    def report(self, lines: int = 40) -> str:
        return "\n".join(
            f"----- {process.kind} {process.name} (pid {process.pid}) -----\n{process.tail(lines)}"
            for process in self.started
            if process.popen is not None
        )


# The fault tests' workers (tests/aftercare/delivery/test_dispatch_faults.py and
# test_text_dispatch_faults.py, fixture `celery_processes` in that folder's conftest):
# small batches, short leases and retries, and a broker on a Redis database of their own,
# flushed (FLUSHDB) before each test: workers of other test runs on the same server cannot
# take a test's beat ticks, and nothing left from an earlier test (a dead worker's unacked
# task) is replayed.
FAULT_BATCH_SIZE = 20
FAULT_BROKER_DB = 11
FAULT_REMINDER_SETTINGS = {
    "REMINDER_DISPATCH_INTERVAL": "1",
    "REMINDER_BATCH_SIZE": str(FAULT_BATCH_SIZE),
    "REMINDER_LEASE_SECONDS": "5",
    "REMINDER_RETRY_BASE_SECONDS": "1",
    "REMINDER_RETRY_MAX_SECONDS": "2",
    "TEXT_TIMEOUT_SECONDS": "5",
}
