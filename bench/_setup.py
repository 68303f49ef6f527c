"""Shared set-up for the benchmarks: a throw-away PostgreSQL database, Django, an SMTP sink.

Each benchmark runs against a database of its own (created here, migrated, and
dropped at the end unless --keep-db), so it never touches the development or
test databases, and two benchmarks can run side by side.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The server, not a database on it: the benchmark's own database is created here.
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
# Appended to every benchmark database's name: the smoke runs in the test suite
# (tests/bench/test_benchmarks_run.py) use their own, so they never drop a database
# that a benchmark started by hand is using.
DATABASE_SUFFIX = os.environ.get("BENCH_DATABASE_SUFFIX", "")


def _dsn(database: str) -> str:
    return f"{POSTGRES_URL.rstrip('/')}/{database}".replace("postgres://", "postgresql://", 1)


def _drop(name: str, *, create: bool = False) -> None:
    """Drop database `name` if it exists; with `create`, make it afresh (empty)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(_dsn("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextlib.contextmanager
def bench_database(name: str, *, keep: bool = False) -> Iterator[None]:
    """A fresh, migrated database `name` with Django set up on it; dropped afterwards.

    Must run before anything imports the settings: DATABASE_URL is read once.
    DEBUG is forced off so Django does not keep a log of every query (which
    would slow the code being measured); Celery gets an in-memory broker so
    nothing a benchmark triggers is queued for a real worker.
    """
    name += DATABASE_SUFFIX
    _drop(name, create=True)
    os.environ["DATABASE_URL"] = _dsn(name).replace("postgresql://", "postgres://", 1)
    os.environ["DEBUG"] = "false"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        connections.close_all()
        if keep:
            print(f"kept database {name} ({_dsn(name)})")
        else:
            _drop(name)


@contextlib.contextmanager
def extra_database(name: str, *, keep: bool = False) -> Iterator[object]:
    """One more fresh, migrated database, with a connection of its own (yielded).

    Code under test always uses the "default" connection: `using()` swaps this
    one in for a while, so a benchmark can alternate between two databases,
    each keeping its warm server process, and run both cases under the same load.
    """
    import copy

    from django.core.management import call_command
    from django.db import connections

    name += DATABASE_SUFFIX
    _drop(name, create=True)
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["NAME"] = name
    wrapper = connections["default"].__class__(settings_dict, alias="default")
    try:
        with using(wrapper):
            call_command("migrate", verbosity=0, interactive=False)
        yield wrapper
    finally:
        wrapper.close()
        if keep:
            print(f"kept database {name} ({_dsn(name)})")
        else:
            _drop(name)


@contextlib.contextmanager
def using(wrapper: object) -> Iterator[None]:
    """Make `wrapper` the "default" connection inside the block."""
    from django.db import connections

    previous = connections["default"]
    connections["default"] = wrapper
    try:
        yield
    finally:
        connections["default"] = previous


@contextlib.contextmanager
def smtp_sink(*, parse_on_receipt: bool = False) -> Iterator[object]:
    """An SMTP sink with Django pointed at it.

    By default the sink runs in a process of its own (bench/_sink_process.py),
    as a mail server would, and keeps the raw bytes, parsed only when asked,
    after the clock stopped. parse_on_receipt=True uses the test suite's sink
    (tests/smtp_sink.py) as it is, in this process, parsing every message
    (email.policy.default, about 4 ms here) before it answers DATA.
    """
    from django.conf import settings

    sink = _stock_sink() if parse_on_receipt else _ProcessSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 30
    try:
        yield sink
    finally:
        sink.stop()


def _stock_sink():
    from tests.smtp_sink import SmtpSink

    class StockSink(SmtpSink):
        def message_ids(self) -> list[str]:
            return [str(message["Message-ID"]) for message in self.messages]

    return StockSink()


class _ProcessSink:
    """bench/_sink_process.py in a child process; messages are read back from its spool."""

    def __init__(self) -> None:
        import tempfile

        self.spool = Path(tempfile.mkstemp(prefix="bench-sink-", suffix=".spool")[1])
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_sink_process.py")), str(self.spool)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.process.stdout.readline())

    def stop(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        self.spool.unlink(missing_ok=True)

    def _raw(self) -> list[bytes]:
        data = self.spool.read_bytes()
        raw, offset = [], 0
        while offset < len(data):
            (length,) = struct.unpack_from(">Q", data, offset)
            raw.append(data[offset + 8 : offset + 8 + length])
            offset += 8 + length
        return raw

    @property
    def messages(self) -> list[object]:
        from email import message_from_bytes, policy

        return [message_from_bytes(content, policy=policy.default) for content in self._raw()]

    def message_ids(self) -> list[str]:
        from email.parser import BytesHeaderParser

        parser = BytesHeaderParser()
        return [str(parser.parsebytes(content)["Message-ID"]) for content in self._raw()]

    def clear(self) -> None:
        # Only called between runs, when nothing is being sent.
        with self.spool.open("r+b") as spool:
            spool.truncate(0)


def without_first_reminder_task() -> None:
    """Stop plan_create from queueing its "send the plan's first reminders now" task.

    The benchmark sets plans up; sending is what it measures, later, on its own
    terms. Patched at the Celery edge, so it holds whatever calls the task.
    """
    from aftercare import tasks

    tasks.send_plan_reminders_now.delay = lambda *args, **kwargs: None


def median(values: list[float]) -> float:
    return statistics.median(values)


def summary(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print()
    print(f"== {title} ==")
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gunicorn:
    """The site under gunicorn, as production serves it, on a free local port.

    `start` returns once `ready_path` answers 200; its log is kept for errors.
    """

    def __init__(self, *, env: dict[str, str], workers: int, ready_path: str) -> None:
        self.env = env
        self.workers = workers
        self.ready_path = ready_path
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(Path(sys.prefix) / "bin" / "gunicorn"),
                "clinic.wsgi:application",
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.output()}")
            try:
                status = self._status(self.ready_path)
            except OSError:
                time.sleep(0.2)
                continue
            if status == 200:
                return
            raise RuntimeError(f"{self.ready_path} answered {status}:\n{self.output()}")
        raise RuntimeError(f"gunicorn did not answer within 30 s:\n{self.output()}")

    def _status(self, path: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: graceful shutdown of master and workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
