# gunicorn reads this file from its working directory (the image's /app). Each request
# is logged once, through the project's logging (clinic.access_log): tokens masked, no
# query string, no client address, plain or JSON as LOG_FORMAT says.
import logging
import os

from clinic.logging import RedactTokenShapes, handlers_redact

logger_class = "clinic.access_log.AccessLogger"


def post_fork(server, worker):
    # gunicorn's error log keeps its own handlers, and its lines about a request quote the
    # request: the URI of one that failed, or the part of a request line it could not
    # parse (which may hold a token without its /p/). In each worker they are redacted
    # like every other line, and any token-shaped run in their messages is masked.
    error_log = logging.getLogger("gunicorn.error")
    error_log.addFilter(RedactTokenShapes())
    handlers_redact(error_log, os.environ.get("LOG_FORMAT", "plain"))
