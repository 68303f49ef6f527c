"""Find PostgreSQL and Redis for `make test`, and say what the suite will run against.

Prints shell `export` lines for the services it found at their usual local
addresses (unless DATABASE_URL / REDIS_URL are already set). Under CI=true a
missing service is an error: the suite must not quietly skip there.
"""

from __future__ import annotations

import os
import sys

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/aftercare"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _postgres_ok(url: str) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    dsn = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(dsn.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _redis_ok(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=3).ping())
    except (redis.RedisError, OSError):
        return False


def main() -> int:
    in_ci = os.environ.get("CI", "").lower() == "true"
    exports: list[str] = []
    problems: list[str] = []

    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if _postgres_ok(database_url):
        exports.append(f"export DATABASE_URL={database_url}")
        print(f"make test: PostgreSQL at {database_url.split('@')[-1]}", file=sys.stderr)
    elif os.environ.get("DATABASE_URL", "").startswith("sqlite") and not in_ci:
        print("make test: SQLite (DATABASE_URL)", file=sys.stderr)
    else:
        problems.append(f"PostgreSQL not reachable at {database_url.split('@')[-1]}")
        exports.append("export DATABASE_URL=sqlite:///:memory:")

    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if _redis_ok(redis_url):
        exports.append(f"export REDIS_URL={redis_url}")
        print(f"make test: Redis at {redis_url.split('@')[-1]}", file=sys.stderr)
    else:
        problems.append(f"Redis not reachable at {redis_url.split('@')[-1]}")
        exports.append("export REDIS_URL=")

    for problem in problems:
        verdict = "ERROR (CI=true)" if in_ci else "falling back; tests that need it will skip"
        print(f"make test: {problem}: {verdict}", file=sys.stderr)
    print("\n".join(exports))
    return 1 if problems and in_ci else 0


if __name__ == "__main__":
    sys.exit(main())
