"""gunicorn's access log, sent through the project's logging (see gunicorn.conf.py).

gunicorn's own access log writes the full request line, the client's address, the
Referer and the user agent. This one writes the method, the path without its query
string (staff searches carry patient names there) with patient tokens masked and
control characters escaped, the
status, the size and the time taken, through the `clinic.access` logger, so it gets
the same redaction and format (plain or JSON) as every other line.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

# gunicorn has no type hints.
from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from clinic.logging import ACCESS_LOGGER, redact

access_logger = logging.getLogger(ACCESS_LOGGER)


class AccessLogger(Logger):  # type: ignore[misc]  # Logger is untyped (Any)
    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        status = str(resp.status).split(None, 1)[0]
        # A decoded %0A would otherwise start a forged second line in a plain-text log.
        path = redact(environ.get("PATH_INFO", "")).encode("unicode_escape").decode("ascii")
        method = environ.get("REQUEST_METHOD", "")
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        access_logger.info(
            "%s %s %s %sms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "method": method,
                "path": path,
                "status": int(status) if status.isdigit() else status,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": duration_ms,
            },
        )
