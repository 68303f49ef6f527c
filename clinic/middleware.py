from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from clinic.access import membership_for


class ClinicTimezoneMiddleware:
    """Show and parse staff dates in their clinic's time zone, not the server's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = membership_for(request)
        if membership is not None:
            timezone.activate(membership.clinic.timezone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every page Django renders.

    Each one shows a patient's health data or belongs to a login: the staff pages, the
    Django admin, the login page and the patients' pages under /p/. None may be kept by a
    browser (the back button on a shared reception computer) or a proxy. Static files and
    the health checks are answered by middleware listed above this one (WhiteNoise,
    clinic.health) and keep their own caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # no-store alone forbids every cache to keep a copy (RFC 9111, 5.2.2.5); views that
        # already send exactly "no-store" keep that header unchanged.
        patch_cache_control(response, no_store=True)
        return response
