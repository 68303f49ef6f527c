"""In development the terminal shows each email as the patient reads it, its link whole."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator

from celery.utils.log import LoggingProxy
from django.core.mail import EmailMultiAlternatives, get_connection

from clinic.logging import RedactingFormatter, RedactPatientTokens
from clinic.terminal_email import EmailBackend

TOKEN = "k3J9xQ2mVbP7wLz0aR5tYc8NdE1fG4hU6iO9pAsDfGh"
LINK = f"http://localhost:8123/p/harbour-skin/{TOKEN}/"


def _email() -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject="Your aftercare for today",
        body=f"Hello Jordan,\n\nOpen your plan:\n{LINK}\n",
        from_email="aftercare@localhost",
        to=["jordan@example.com"],
    )
    message.attach_alternative(f'<p><a href="{LINK}">Open your plan</a></p>', "text/html")
    return message


def _send(backend_path: str) -> None:
    connection = get_connection(backend_path)
    connection.send_messages([_email()])


def test_it_prints_the_address_the_subject_and_the_text_with_the_link_whole():
    stream = io.StringIO()
    EmailBackend(stream=stream).send_messages([_email()])
    printed = stream.getvalue()
    assert "Email to jordan@example.com" in printed
    assert "Subject: Your aftercare for today" in printed
    assert LINK in printed
    assert "(also sent as text/html, not shown here)" in printed
    assert "Content-Transfer-Encoding" not in printed


@contextlib.contextmanager
def worker_stdout() -> Iterator[io.StringIO]:
    """sys.stdout as the Celery worker redirects it: into logging, through the project's
    masking filter and formatter (clinic.logging), here into a buffer. Patched inside
    the test: pytest's capture sets sys.stdout again between a fixture and the test."""
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.addFilter(RedactPatientTokens())
    handler.setFormatter(RedactingFormatter("%(message)s"))
    logger = logging.getLogger("test.celery.redirected")
    logger.addHandler(handler)
    logger.propagate = False
    stdout = sys.stdout
    sys.stdout = LoggingProxy(logger, loglevel=logging.WARNING)  # type: ignore[assignment]
    try:
        yield logs
    finally:
        sys.stdout = stdout
        logger.removeHandler(handler)


def test_under_the_worker_the_link_reaches_the_terminal(capfd):
    with worker_stdout() as logged:
        _send("clinic.terminal_email.EmailBackend")
    assert LINK in capfd.readouterr().out
    assert TOKEN not in logged.getvalue()


def test_under_the_worker_djangos_console_backend_would_mask_it(capfd):
    # Why development has a backend of its own: the worker's printed email loses its link.
    with worker_stdout() as logged:
        _send("django.core.mail.backends.console.EmailBackend")
    assert TOKEN not in capfd.readouterr().out
    assert "Your aftercare for today" in logged.getvalue()
    assert TOKEN not in logged.getvalue()
