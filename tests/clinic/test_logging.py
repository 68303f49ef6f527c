"""Patient link tokens never reach a log line (clinic.logging and the LOGGING setting).

The end-to-end tests send every stream handler that a request's log records can reach
(the root `console` handler, Django's own default handlers, and logging.lastResort on
stderr) into one buffer, with the django.request and django.server loggers at DEBUG, and
look for the token in what was written.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import runpy
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote_to_bytes

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http.errors import ParseException
from gunicorn.http.parser import RequestParser

from aftercare import tasks
from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan
from aftercare.plans.services import plan_create
from clinic.access_log import AccessLogger
from clinic.logging import (
    JsonFormatter,
    RedactPatientTokens,
    celery_handlers_redact,
    formatter_for,
    redact,
)
from tests.factories import TreatmentFactory

TOKEN = "Zk3v9QpL2mXr7TnB4wYc8HdJ6sFa1UeGoKiNbVhPq0M"  # 43 URL-safe characters, like token_for
ROOT = Path(__file__).resolve().parents[2]
LOGGERS = ("", "django", "django.request", "django.server")


def _tampered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


# redact()


def test_it_redacts_the_token_of_the_emailed_link():
    assert redact(f"Not Found: /p/glow-clinic/{TOKEN}/") == "Not Found: /p/glow-clinic/[token]/"


def test_it_redacts_the_token_of_the_one_click_unsubscribe_link():
    assert redact(f"/p/glow-clinic/{TOKEN}/unsubscribe/") == "/p/glow-clinic/[token]/unsubscribe/"


def test_it_redacts_the_token_in_an_absolute_url():
    text = f"link https://aftercare.example/p/glow-clinic/{TOKEN}/?utm=mail"
    assert redact(text) == "link https://aftercare.example/p/glow-clinic/[token]/?utm=mail"


def test_it_redacts_the_token_in_a_runserver_access_line():
    line = f'"GET /p/glow-clinic/{TOKEN}/ HTTP/1.1" 302 0'
    assert redact(line) == '"GET /p/glow-clinic/[token]/ HTTP/1.1" 302 0'


def test_it_redacts_every_token_in_a_line():
    other = TOKEN[::-1]
    text = f"/p/a/{TOKEN}/ then /p/b/{other}/unsubscribe/"
    assert redact(text) == "/p/a/[token]/ then /p/b/[token]/unsubscribe/"


@pytest.mark.parametrize(
    "path",
    [
        "/p/glow-clinic/today/",
        "/p/glow-clinic/warning-signs/",
        "/p/glow-clinic/aftercare.ics",
        "/p/glow-clinic/unsubscribe/",
        "/patients/12/",
    ],
)
def test_it_leaves_token_free_paths_alone(path):
    assert redact(f"GET {path}") == f"GET {path}"


# The filter


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("django.request", logging.WARNING, __file__, 1, msg, args, None)


def test_the_filter_redacts_a_token_passed_as_an_argument():
    record = _record("%s: %s", "Not Found", f"/p/glow-clinic/{TOKEN}/")
    assert RedactPatientTokens().filter(record) is True
    assert record.getMessage() == "Not Found: /p/glow-clinic/[token]/"


def test_the_filter_leaves_a_record_without_a_token_untouched():
    record = _record("%s: %s", "Not Found", "/patients/12/")
    assert RedactPatientTokens().filter(record) is True
    assert (record.msg, record.args) == ("%s: %s", ("Not Found", "/patients/12/"))


def test_the_console_handler_carries_the_filter():
    console = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert len(console) == 1
    assert [f for f in console[0].filters if isinstance(f, RedactPatientTokens)]


# End to end


def _is_pytests(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")


@pytest.fixture
def log_output(monkeypatch, caplog) -> Callable[[], io.StringIO]:
    """Call it in the test body: from then on, everything the project's logging writes goes
    into the buffer it returns, as it would outside pytest."""

    def start() -> io.StringIO:
        buffer = io.StringIO()
        monkeypatch.setattr(sys, "stderr", buffer)  # where logging.lastResort writes
        for name in LOGGERS:
            logger = logging.getLogger(name)
            # pytest hangs its capture handlers on every logger for each test phase, even
            # on loggers that do not propagate; outside pytest, a record that finds no
            # handler goes to lastResort.
            kept = [handler for handler in logger.handlers if not _is_pytests(handler)]
            monkeypatch.setattr(logger, "handlers", kept)
            caplog.set_level(logging.DEBUG, logger=name)
            for handler in kept:
                if isinstance(handler, logging.StreamHandler):
                    monkeypatch.setattr(handler, "stream", buffer)
        return buffer

    return start


@pytest.fixture
def empty_cache(db) -> None:
    cache.clear()
    yield
    cache.clear()


def _plan(monkeypatch) -> AftercarePlan:
    # plan_create queues a Celery task on commit: keep it off any real broker.
    monkeypatch.setattr(tasks.send_plan_reminders_now, "delay", lambda plan_id: None)
    return plan_create(treatment=TreatmentFactory(), now=timezone.now())


def _token(plan: AftercarePlan) -> str:
    return token_for(link_current(plan=plan, now=timezone.now()))


@pytest.mark.django_db
def test_a_bad_link_is_logged_without_its_token(client, empty_cache, log_output, monkeypatch):
    plan = _plan(monkeypatch)
    slug = plan.treatment.clinic.slug
    tampered = _tampered(_token(plan))
    output = log_output()
    assert client.get(reverse("patient:open", args=[slug, tampered])).status_code == 404
    written = output.getvalue()
    assert f"Not Found: /p/{slug}/[token]/" in written
    assert tampered not in written


@pytest.mark.django_db
def test_a_refused_bad_link_is_logged_without_its_token(
    client, empty_cache, log_output, monkeypatch, settings
):
    settings.PATIENT_LINK_FAILURE_LIMIT = 1
    plan = _plan(monkeypatch)
    slug = plan.treatment.clinic.slug
    tampered = _tampered(_token(plan))
    output = log_output()
    client.get(reverse("patient:open", args=[slug, "x" * 43]))
    assert client.get(reverse("patient:open", args=[slug, tampered])).status_code == 429
    written = output.getvalue()
    assert f"Too Many Requests: /p/{slug}/[token]/" in written
    assert tampered not in written


@pytest.mark.django_db
def test_with_debug_on_a_bad_link_is_still_logged_without_its_token(
    client, empty_cache, log_output, monkeypatch, settings
):
    settings.DEBUG = True
    plan = _plan(monkeypatch)
    tampered = _tampered(_token(plan))
    output = log_output()
    client.get(reverse("patient:open", args=[plan.treatment.clinic.slug, tampered]))
    assert tampered not in output.getvalue()


@contextmanager
def _runserver() -> Iterator[int]:
    """Django's development server (the Procfile's `web`), with its request logging."""
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(WSGIHandler())

    def serve() -> None:
        try:
            server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_the_development_server_never_logs_a_token(empty_cache, log_output, monkeypatch, settings):
    settings.PATIENT_LINK_FAILURE_LIMIT = 1
    plan = _plan(monkeypatch)
    slug = plan.treatment.clinic.slug
    token = _token(plan)
    output = log_output()
    with _runserver() as port:
        statuses = [
            _status(port, reverse("patient:open", args=[slug, token])),
            _status(port, reverse("patient:open", args=[slug, _tampered(token)])),
            _status(port, reverse("patient:open", args=[slug, _tampered(token[::-1])])),
            _status(port, reverse("patient:open", args=[slug, token])),
        ]
    assert statuses == [302, 404, 429, 302]
    written = output.getvalue()
    assert token not in written
    assert _tampered(token) not in written
    assert f'"GET /p/{slug}/[token]/ HTTP/1.1" 429' in written


# Mangled paths: whatever surrounds the token, however it is written, it is masked

# As a client may send them (percent-encoded); the test client and gunicorn decode them.
MANGLED_PATHS = [
    f"/p/harbour-lane'x/{TOKEN}/unsubscribe/",  # not a slug: the URL resolver's 404
    f"/p/harbour%20lane/{TOKEN}/",
    f"/p/caf%C3%A9/{TOKEN}/",
    f"/p//harbour-lane//{TOKEN}//",
    f"/p/harbour-lane/{TOKEN}/today/and/then/some/junk",
    f"/p/harbour-lane/{TOKEN}",  # no trailing slash: CommonMiddleware's redirect
    f"/p/harbour-lane/xx{TOKEN}yy/",  # the token in the middle of a segment
    f"/p/harbour-lane/{TOKEN[:20]}%{ord(TOKEN[20]):02X}{TOKEN[21:]}/",
    f"/p/harbour-lane/{TOKEN[:21]}%C3%A9{TOKEN[21:]}/",  # non-ASCII inside the token
    f"/p/harbour-lane/{TOKEN[:21]}%0A{TOKEN[21:]}/",  # a line break inside the token
    f"/p/harbour-lane/{TOKEN[:21]}'{TOKEN[21:]}/",
    f"/P/harbour-lane/{TOKEN}/",
    f"/p%2Fharbour-lane%2F{TOKEN}/",
    f"/p/harbour-lane/today/?t={TOKEN}",
    f"/p/harbour-lane/{TOKEN}/unsubscribe/?utm_source=mail&again={TOKEN}",
    f"/p/harbour-lane/{TOKEN}/%22%3E%3Cscript%3E",
]
# Django's test client would read a leading // as the start of a host name.
RAW_MANGLED_PATHS = [*MANGLED_PATHS, f"//p//harbour-lane//{TOKEN}//"]
PIECE = 12  # no run of this many of the token's characters may be written anywhere


def _leaks(written: str) -> list[str]:
    pieces = (TOKEN[i : i + PIECE] for i in range(len(TOKEN) - PIECE + 1))
    return [piece for piece in pieces if piece in written]


@pytest.fixture(params=["plain", "json"])
def log_format(request, monkeypatch) -> str:
    """The console handler's formatter as LOG_FORMAT would make it."""
    (console,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    monkeypatch.setattr(console, "formatter", formatter_for(request.param))
    return request.param


@pytest.mark.django_db
@pytest.mark.parametrize("path", MANGLED_PATHS)
def test_a_mangled_path_is_logged_without_its_token(client, path, log_format, log_output):
    cache.clear()  # the bad-link rate limit
    output = log_output()
    status = client.get(path).status_code
    assert status in (301, 404)
    written = output.getvalue()
    assert not _leaks(written), written
    if status == 404:
        assert "/p" in written or "/P" in written  # the line was written, masked


@pytest.mark.parametrize("path", RAW_MANGLED_PATHS)
def test_a_mangled_path_is_left_out_of_the_gunicorn_access_log(path, log_format, log_output):
    raw_path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        # gunicorn decodes the path into PATH_INFO, bytes as latin-1 (PEP 3333)
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
    }
    output = log_output()
    AccessLogger(Config()).access(
        SimpleNamespace(status="404 Not Found", sent=179, headers=[]),
        SimpleNamespace(headers=[]),
        environ,
        timedelta(milliseconds=3),
    )
    written = output.getvalue()
    assert "GET " in written and " 404 " in written
    assert not _leaks(written), written


# Request lines gunicorn refuses, quoting in its error log the part it choked on
BAD_REQUEST_LINES = [
    f"GET /p/harbour lane/{TOKEN}/ HTTP/1.1",  # "Invalid HTTP Version: 'lane/<token>/ ...'"
    f"GET /p/harbour-lane/{TOKEN[:20]} {TOKEN[20:]}/ HTTP/1.1",
    f"GET /p/harbour-lane/{TOKEN}/ HTTP/1.1\r\nBad Header{TOKEN}: 1",
]


def _refusal(request_line: str) -> str:
    """What a gunicorn worker logs for a request it cannot parse (workers/base.py)."""
    raw = f"{request_line}\r\nHost: aftercare.example\r\n\r\n".encode("latin-1")
    parser = RequestParser(Config(), iter([raw]), ("203.0.113.9", 50000))
    with pytest.raises(ParseException) as refused:
        next(parser)
    return f"Invalid request from ip=203.0.113.9: {refused.value}"


@pytest.fixture(params=["plain", "json"])
def gunicorn_error_log(request, monkeypatch) -> Iterator[tuple[Logger, io.StringIO]]:
    """gunicorn's error log as a worker has it: gunicorn's own stderr handler, then the
    post_fork hook of gunicorn.conf.py."""
    monkeypatch.setenv("LOG_FORMAT", request.param)
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)  # where gunicorn's handler writes
    error_log = logging.getLogger("gunicorn.error")
    monkeypatch.setattr(error_log, "handlers", [])
    monkeypatch.setattr(error_log, "filters", [])
    glogger = AccessLogger(Config())
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))["post_fork"](None, None)
    yield glogger, buffer
    for handler in error_log.handlers:
        handler.close()


@pytest.mark.parametrize("request_line", BAD_REQUEST_LINES)
def test_a_refused_request_line_is_masked_in_the_gunicorn_error_log(
    request_line, gunicorn_error_log
):
    glogger, buffer = gunicorn_error_log
    glogger.warning(_refusal(request_line))
    written = buffer.getvalue()
    assert "Invalid request from ip" in written
    assert not _leaks(written), written


@pytest.mark.parametrize("path", RAW_MANGLED_PATHS)
def test_a_failed_requests_uri_is_masked_in_the_gunicorn_error_log(path, gunicorn_error_log):
    glogger, buffer = gunicorn_error_log
    try:
        raise ValueError(f"while handling {path}")
    except ValueError:
        glogger.exception("Error handling request %s", path)  # as workers/base.py does
    written = buffer.getvalue()
    assert "Error handling request" in written and "ValueError" in written
    assert not _leaks(written), written


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _send(port: int, request_line: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            f"{request_line}\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        return connection.recv(100).split(b"\r\n", 1)[0]


def test_gunicorn_never_logs_a_token(tmp_path):
    """The real server with its config: access log, error log, Django's request log.

    Only paths Django answers without the database (the URL resolver's 404, the slash
    redirect) and request lines gunicorn refuses itself: the server runs in its own
    process, outside this test's database transaction.
    """
    port = _free_port()
    output = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "clinic.wsgi:application"]
    options = ["--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    with output.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter's gunicorn
            [*command, *options],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings", "LOG_FORMAT": "plain"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, output.read_text()
                time.sleep(0.1)
        statuses = [
            _send(port, f"GET {path} HTTP/1.1")
            for path in (
                f"/p/harbour-lane'x/{TOKEN}/unsubscribe/",
                f"//p//harbour-lane//{TOKEN}//",
                f"/P/harbour-lane/{TOKEN}/",
                f"/p/harbour-lane/{TOKEN}",
            )
        ]
        statuses += [_send(port, line) for line in BAD_REQUEST_LINES]
    finally:
        server.terminate()
        server.wait(timeout=30)
    written = output.read_text()
    assert statuses == [b"HTTP/1.1 404 Not Found"] * 3 + [b"HTTP/1.1 301 Moved Permanently"] + [
        b"HTTP/1.1 400 Bad Request"
    ] * len(BAD_REQUEST_LINES)
    assert "Invalid request from ip" in written and "clinic.access GET" in written
    assert not _leaks(written), written


@pytest.mark.django_db(transaction=True)
def test_the_development_server_never_logs_a_token_from_a_mangled_path(
    empty_cache, log_output, settings
):
    sendable = RAW_MANGLED_PATHS
    output = log_output()
    with _runserver() as port:
        statuses = {_status(port, path) for path in sendable}
    assert statuses <= {301, 404, 429}
    written = output.getvalue()
    assert "HTTP/1.1" in written
    assert not _leaks(written), written


# Email addresses, tracebacks and the JSON format (LOG_FORMAT=json)


def test_it_masks_email_addresses():
    text = "550 5.1.1 <jane.doe+skin@example.co.uk>: Recipient address rejected"
    assert redact(text) == "550 5.1.1 <[email]>: Recipient address rejected"


def _formatted(formatter: logging.Formatter, message: str, *, exc: Exception | None = None) -> str:
    record = _record(message)
    if exc is not None:
        try:
            raise exc
        except type(exc):
            record.exc_info = sys.exc_info()
    RedactPatientTokens().filter(record)
    return formatter.format(record)


def test_a_json_line_is_one_object_with_time_level_logger_and_message():
    line = _formatted(JsonFormatter(), "Not Found: /patients/12/")
    entry = json.loads(line)
    assert "\n" not in line
    assert {k: entry[k] for k in ("level", "logger", "message")} == {
        "level": "WARNING",
        "logger": "django.request",
        "message": "Not Found: /patients/12/",
    }
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None


def test_a_json_line_holds_no_token():
    line = _formatted(JsonFormatter(), f"Not Found: /p/glow-clinic/{TOKEN}/")
    assert TOKEN not in line
    assert json.loads(line)["message"] == "Not Found: /p/glow-clinic/[token]/"


def test_a_json_line_holds_no_token_from_a_traceback():
    line = _formatted(
        JsonFormatter(), "failed", exc=ValueError(f"bad path /p/glow-clinic/{TOKEN}/")
    )
    assert TOKEN not in line
    assert "/p/glow-clinic/[token]/" in json.loads(line)["exception"]


def test_a_json_line_carries_extra_fields_redacted():
    record = _record("request")
    record.path = f"/p/glow-clinic/{TOKEN}/"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["path"] == "/p/glow-clinic/[token]/"


def test_a_json_line_leaves_out_the_request_and_its_query_string():
    from django.test import RequestFactory

    record = _record("Not Found: /patients/")
    record.request = RequestFactory().get("/patients/", {"q": "Jordan Smith"})
    record.status_code = 404
    entry = json.loads(JsonFormatter().format(record))
    assert "request" not in entry and entry["status_code"] == 404
    assert "Jordan" not in json.dumps(entry)


def test_a_plain_line_holds_no_token_from_a_traceback():
    formatter = formatter_for("plain")
    line = _formatted(formatter, "failed", exc=ValueError(f"bad /p/glow-clinic/{TOKEN}/"))
    assert TOKEN not in line and "/p/glow-clinic/[token]/" in line


def test_log_format_json_makes_every_configured_line_json():
    code = (
        "import logging, django; django.setup(); "
        f"logging.getLogger('django.request').warning('Not Found: /p/glow-clinic/{TOKEN}/'); "
        "logging.getLogger('aftercare.delivery.dispatch').warning('refused: jo@example.com')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings", "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert [entry["message"] for entry in entries] == [
        "Not Found: /p/glow-clinic/[token]/",
        "refused: [email]",
    ]
    assert TOKEN not in result.stderr


def test_the_celery_worker_handlers_get_the_filter_and_the_json_format():
    logger = logging.Logger("celery-test")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    celery_handlers_redact(logger, "json")
    logger.warning("link /p/glow-clinic/%s/ for jo@example.com", TOKEN)
    entry = json.loads(handler.stream.getvalue())
    assert entry["message"] == "link /p/glow-clinic/[token]/ for [email]"


def test_the_celery_worker_keeps_its_plain_layout_redacted():
    logger = logging.Logger("celery-test")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    celery_handlers_redact(logger, "plain")
    logger.warning("link /p/glow-clinic/%s/", TOKEN)
    assert handler.stream.getvalue() == "[WARNING] link /p/glow-clinic/[token]/\n"
