"""The one place that decides which clinic a staff request acts for."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from clinic.models import StaffMembership


def membership_for(request: HttpRequest) -> StaffMembership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    try:
        return user.membership
    except StaffMembership.DoesNotExist:
        return None


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required, and the user must belong to a clinic.

    The view receives the membership as `request.membership`; every lookup it
    makes must be scoped to `request.membership.clinic`.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = membership_for(request)
        if membership is None:
            raise PermissionDenied("This account is not linked to a clinic.")
        request.membership = membership
        return view(request, *args, **kwargs)

    return wrapper
