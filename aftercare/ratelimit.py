"""Slow down anyone guessing patient links: too many bad tokens from one address."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def _key(request: HttpRequest) -> str:
    return f"bad-patient-link:{request.META.get('REMOTE_ADDR', 'unknown')}"


def is_blocked(request: HttpRequest) -> bool:
    return cache.get(_key(request), 0) >= settings.PATIENT_LINK_FAILURE_LIMIT


def record_failure(request: HttpRequest) -> None:
    key = _key(request)
    # add() starts the window; incr() keeps its expiry.
    if not cache.add(key, 1, timeout=settings.PATIENT_LINK_FAILURE_WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=settings.PATIENT_LINK_FAILURE_WINDOW_SECONDS)
