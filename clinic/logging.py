"""Keep patient link tokens and email addresses out of every log line.

Every handler the project configures (settings.LOGGING, the Celery worker's own
handlers, gunicorn's access and error logs) runs its lines through `redact`, in the
plain format or, with LOG_FORMAT=json, one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

# A token is 43 URL-safe characters in /p/<clinic>/<token>/, but a logged path may be
# anything a client sent: an odd clinic segment, double slashes, junk around the token,
# the token percent-encoded or split by an escape (Django logs paths through
# unicode_escape, JSON escapes quotes), the token in a query string. So from the first
# /p/ (also written /P/, //p//, %2Fp%2F, or p/ without its slash, as in a Resolver404's
# repr) to the end of the text, every run of 20 or more URL-safe characters, escapes
# included, is masked. A clinic slug that long is masked too: better a log line that
# says less than one that opens a patient's plan.
PATIENT_PATH = re.compile(
    r"(?:/|%2f)+(?:p|%[57]0)(?![a-z0-9_])|(?<![\w.%-])(?:p|%[57]0)(?:/|%2f)", re.IGNORECASE
)
TOKEN_RUN = re.compile(
    r"(?:[A-Za-z0-9_-]|%[0-9A-Fa-f]{2}"
    r"|\\(?:x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[\\nrt'\"]))"
    r"{20,}"
)
REDACTED_TOKEN = "[token]"
# A mail server's refusal usually quotes the recipient ("550 <jane@example.com>: ...").
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
ACCESS_LOGGER = "clinic.access"


def redact(text: str) -> str:
    """`text` with anything token-shaped after /p/, and every email address, masked."""
    patient_path = PATIENT_PATH.search(text)
    if patient_path is not None:
        start = patient_path.end()
        text = text[:start] + TOKEN_RUN.sub(REDACTED_TOKEN, text[start:])
    return EMAIL_ADDRESS.sub("[email]", text)


class RedactPatientTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        return True


class RedactTokenShapes(logging.Filter):
    """Masks every run of 20 or more URL-safe characters in a message, after /p/ or not.

    For gunicorn's error log: refusing a request line it cannot parse, gunicorn quotes
    only the part it choked on ("Invalid HTTP Version: 'b/<token>/ HTTP/1.1'" for a path
    with a space in it), so a token may arrive there without its /p/.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = TOKEN_RUN.sub(REDACTED_TOKEN, message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        return True


class RedactingFormatter(logging.Formatter):
    """The plain format, with tracebacks redacted too (a filter sees only the message).

    The line and the traceback are redacted each on its own, so a patient page's path in
    the message does not mask the names in its traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_text:  # formatted, unredacted, by another handler
            record.exc_text = redact(record.exc_text)
        return super().format(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return redact(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, `extra` fields, exception.

    Each value is redacted before it is escaped: JSON's escapes cannot split a token
    from its /p/, and a path in the message does not mask the names in the traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            # Plain values only: Django passes the request object, whose text carries
            # the query string (a staff search holds a patient's name).
            if key in _STANDARD_ATTRIBUTES or key.startswith("_"):
                continue
            if value is None or isinstance(value, str | int | float | bool):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        redacted = {
            key: redact(value) if isinstance(value, str) else value for key, value in entry.items()
        }
        return json.dumps(redacted, default=str, ensure_ascii=False)


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return RedactingFormatter(PLAIN_FORMAT)


def handlers_redact(logger: logging.Logger, log_format: str) -> None:
    """Give the handlers another program installed (the Celery worker's, gunicorn's error
    log) the project's filter, and its formatter when the format is JSON (the plain format
    keeps the program's own layout, redacted)."""
    for handler in logger.handlers:
        handler.addFilter(RedactPatientTokens())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        elif handler.formatter is not None:
            handler.setFormatter(_RedactingWrapper(handler.formatter))


celery_handlers_redact = handlers_redact  # the name clinic.celery uses


class _RedactingWrapper(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))
