"""Keep patient link tokens out of every log line."""

from __future__ import annotations

import logging
import re

# /p/<clinic>/<token>/...: the token is 43 URL-safe characters.
TOKEN_IN_PATH = re.compile(r"(/p/[\w-]+/)[A-Za-z0-9_-]{30,}")
REDACTED = r"\1[token]"


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class RedactPatientTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        return True
