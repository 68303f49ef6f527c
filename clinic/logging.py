"""Keep patient link tokens and email addresses out of every log line.

Every handler the project configures (settings.LOGGING, the Celery worker's own
handlers, gunicorn's access log) runs its lines through `redact`, in the plain
format or, with LOG_FORMAT=json, one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

# /p/<clinic>/<token>/...: the token is 43 URL-safe characters.
TOKEN_IN_PATH = re.compile(r"(/p/[\w-]+/)[A-Za-z0-9_-]{30,}")
REDACTED = r"\1[token]"
# A mail server's refusal usually quotes the recipient ("550 <jane@example.com>: ...").
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
ACCESS_LOGGER = "clinic.access"


def redact(text: str) -> str:
    return EMAIL_ADDRESS.sub("[email]", TOKEN_IN_PATH.sub(REDACTED, text))


class RedactPatientTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        return True


class RedactingFormatter(logging.Formatter):
    """The plain format, with tracebacks redacted too (a filter sees only the message)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, `extra` fields, exception."""

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
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return RedactingFormatter(PLAIN_FORMAT)


def celery_handlers_redact(logger: logging.Logger, log_format: str) -> None:
    """Give the handlers the Celery worker installed the project's filter, and its
    formatter when the format is JSON (the plain format keeps Celery's own layout)."""
    for handler in logger.handlers:
        handler.addFilter(RedactPatientTokens())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        elif handler.formatter is not None:
            handler.setFormatter(_RedactingWrapper(handler.formatter))


class _RedactingWrapper(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))
