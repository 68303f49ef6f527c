"""/healthz and /readyz for load balancers, container healthchecks and monitoring.

/healthz (liveness): this process answers and reaches the database; restarting the
container is the cure for nothing else. /readyz (readiness): this process can serve
pages: the database answers and every migration is applied. Neither checks the Celery
broker: without it the pages keep working and only reminders wait, so a broker outage
must neither restart nor unroute the web processes. The worker's own healthcheck
(`celery inspect ping` in docker-compose.yml) is the broker check; docs/operations.md
says which probe goes where.

Both are cheap (one query), need no login, answer 200 or 503 with the name of each
part and "ok", "unreachable" or "pending", and never say more (no error text, no
personal data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from csp.utils import build_policy
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

Check = Callable[[], None]


def database_check() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


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
    # Answered ahead of django-csp's middleware: every response carries the policy.
    response["Content-Security-Policy"] = build_policy()
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    return _report({"database": database_check})


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
