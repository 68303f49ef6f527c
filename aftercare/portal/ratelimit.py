"""Slow down anyone guessing patient links: too many bad tokens from one address.

Only bad tokens count, and only a bad token is refused while its address is blocked
(aftercare.portal.views checks the token first): a valid link always opens. The counts
live in the default cache, which is Redis (CACHE_URL, else REDIS_URL) when one is
configured, so the limit holds across processes; without Redis it is per process.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.http import HttpRequest
from redis.exceptions import RedisError

from clinic.client_ip import client_address

logger = logging.getLogger(__name__)
# What Django's Redis cache raises when the server is gone or does not answer in time.
CACHE_DOWN = (RedisError, OSError)


def _key(request: HttpRequest) -> str:
    return f"bad-patient-link:{client_address(request)}"


def is_blocked(request: HttpRequest) -> bool:
    try:
        failures: int = cache.get(_key(request), 0)
        limit: int = settings.PATIENT_LINK_FAILURE_LIMIT
        return failures >= limit
    except CACHE_DOWN:
        # A shared cache (Redis) that is down must not take the patient pages with it:
        # the limit is off until it is back (tokens carry 256 bits; guessing stays hopeless).
        logger.warning("rate limit cache unreachable: not limiting", exc_info=True)
        return False


def record_failure(request: HttpRequest) -> None:
    key = _key(request)
    try:
        # add() starts the window; incr() keeps its expiry.
        if not cache.add(key, 1, timeout=settings.PATIENT_LINK_FAILURE_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=settings.PATIENT_LINK_FAILURE_WINDOW_SECONDS)
    except CACHE_DOWN:
        logger.warning("rate limit cache unreachable: failure not counted", exc_info=True)


class SharedRedisCache(RedisCache):
    """Django's Redis cache, for a Redis database it may share with Celery's broker.

    Its keys all start with KEY_PREFIX, and clear() deletes only those: Django's own
    clear() is FLUSHDB, which would take the broker's queues and queue bindings with it
    (tests clear the cache while a worker listens on the same database).
    """

    # Django's RedisCache has these; django-stubs leaves them out: the client (a cached
    # property), and clear() returning a bool where BaseCache's returns None.
    _cache: RedisCacheClient

    def clear(self) -> bool:  # type: ignore[override]
        client = self._cache.get_client(write=True)
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.key_prefix) + ":*"
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
        return True
