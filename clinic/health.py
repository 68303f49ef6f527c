"""/healthz and /readyz for load balancers, container healthchecks and monitoring.

/healthz: the database and the Celery broker answer. /readyz: this process can serve
pages: the database answers and every migration is applied. Both are cheap (one query,
one broker ping), need no login, answer 200 or 503 with the name of each part and
"ok" or "unreachable", and never say more (no error text, no personal data).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from urllib.parse import urlparse

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

from clinic.middleware import CONTENT_SECURITY_POLICY

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 2

Check = Callable[[], None]


def database_check() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


def broker_check() -> None:
    url = settings.CELERY_BROKER_URL
    scheme = urlparse(url).scheme
    if scheme in {"redis", "rediss"}:
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
    elif scheme == "filesystem":
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        if not os.access(folder, os.W_OK):
            raise OSError("the broker folder is missing or read-only")
    else:
        from kombu import Connection

        with Connection(url, connect_timeout=TIMEOUT_SECONDS) as connection:
            connection.ensure_connection(max_retries=1)


_migrations_applied = False


def migrations_check() -> None:
    """Every migration is applied. Once true it stays true for this process (a new
    release starts new processes), so the migration graph is loaded only until then."""
    global _migrations_applied
    if _migrations_applied:
        return
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise RuntimeError("migrations are not applied")
    _migrations_applied = True


def _report(checks: dict[str, Check]) -> HttpResponse:
    results = {}
    for name, check in checks.items():
        try:
            check()
        except Exception:  # any failure means "not healthy"; the log keeps the detail
            logger.warning("health check %s failed", name, exc_info=True)
            results[name] = "unreachable" if name != "migrations" else "pending"
        else:
            results[name] = "ok"
    healthy = all(result == "ok" for result in results.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "failing", "checks": results},
        status=200 if healthy else 503,
    )
    response["Cache-Control"] = "no-store"
    # Answered ahead of ContentSecurityPolicyMiddleware: every response carries the policy.
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    return _report({"database": database_check, "broker": broker_check})


def readyz(request: HttpRequest) -> HttpResponse:
    return _report({"database": database_check, "migrations": migrations_check})


PATHS: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    """Answer the health paths before any other middleware: probes call by IP address
    over plain HTTP, which the Host check and the HTTPS redirect would refuse."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PATHS.get(request.path_info)
        if view is not None and request.method in {"GET", "HEAD"}:
            return view(request)
        return self.get_response(request)
