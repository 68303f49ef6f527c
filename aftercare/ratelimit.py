"""Slow down anyone guessing patient links: too many bad tokens from one address."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
# What Django's Redis cache raises when the server is gone or does not answer in time.
CACHE_DOWN = (RedisError, OSError)


def client_address(request: HttpRequest) -> str:
    """The client's address; behind TRUSTED_PROXY_COUNT proxies, from X-Forwarded-For."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "unknown")


def _key(request: HttpRequest) -> str:
    return f"bad-patient-link:{client_address(request)}"


def is_blocked(request: HttpRequest) -> bool:
    try:
        return cache.get(_key(request), 0) >= settings.PATIENT_LINK_FAILURE_LIMIT
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
