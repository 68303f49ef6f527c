from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

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
