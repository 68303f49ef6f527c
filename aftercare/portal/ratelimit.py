"""Slow down anyone guessing patient links, or asking for new ones over and over.

Bad links: only bad tokens count, and only a bad token is refused while its address is
blocked (aftercare.portal.views checks the token first): a valid link always opens.

New links ("email me a new link"): every request counts, per client address and per email
address asked about, whether or not the email address is a patient's, so the limit says
nothing about who is a patient. Each new link revokes the earlier ones: the per-address
limit also keeps a stranger from killing a patient's link again and again.

The counts live in the default cache, which is Redis (CACHE_URL, else REDIS_URL) when one
is configured, so the limits hold across processes; without Redis they are per process.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from redis.exceptions import RedisError

from clinic.client_ip import client_address

logger = logging.getLogger(__name__)
# What Django's Redis cache raises when the server is gone or does not answer in time.
CACHE_DOWN = (RedisError, OSError)
# New-link requests allowed within NEW_LINK_WINDOW_SECONDS of the first: from one client
# address (patients share addresses behind clinic Wi-Fi and carriers' NAT, hence more), and
# about one email address (a patient who asks three times has three emails waiting).
NEW_LINK_WINDOW_SECONDS = 3600
NEW_LINK_LIMIT_PER_CLIENT = 10
NEW_LINK_LIMIT_PER_EMAIL = 3


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
    try:
        _count(_key(request), window=settings.PATIENT_LINK_FAILURE_WINDOW_SECONDS)
    except CACHE_DOWN:
        logger.warning("rate limit cache unreachable: failure not counted", exc_info=True)


def _count(key: str, *, window: int) -> int:
    """One more under `key`; the count so far, in a window that runs from the first."""
    # add() starts the window; incr() keeps its expiry.
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:
        # Expired between add() and incr(): this one starts a new window.
        cache.set(key, 1, timeout=window)
        return 1


def new_link_client_allowed(request: HttpRequest) -> bool:
    """Count a new-link request from the client's address; False once over its limit."""
    return _allowed(f"new-link-client:{client_address(request)}", limit=NEW_LINK_LIMIT_PER_CLIENT)


def new_link_email_allowed(email: str) -> bool:
    """Count a new-link request about `email`; False once over its limit.

    The cache key holds a keyed hash of the address, never the address itself.
    """
    digest = salted_hmac("new-link-email", email.strip().lower()).hexdigest()
    return _allowed(f"new-link-email:{digest}", limit=NEW_LINK_LIMIT_PER_EMAIL)


def _allowed(key: str, *, limit: int) -> bool:
    try:
        return _count(key, window=NEW_LINK_WINDOW_SECONDS) <= limit
    except CACHE_DOWN:
        # As for bad links: a Redis outage turns the limit off rather than the page.
        logger.warning("rate limit cache unreachable: not limiting", exc_info=True)
        return True


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
