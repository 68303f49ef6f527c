"""The one place that decides which clinic a staff request acts for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


def staff_required(
    view: Callable[..., HttpResponse] | None = None, /, *, perms: Iterable[str] = ()
) -> Any:
    """Login required, the user must belong to a clinic and hold `perms`.

    Use bare (`@staff_required`) or with permissions
    (`@staff_required(perms=["patients.add_treatment"])`); clinic.roles says which
    role has which. The view receives the membership as `request.membership`;
    every lookup it makes must be scoped to `request.membership.clinic`.
    """
    required = tuple(perms)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = membership_for(request)
            if membership is None:
                raise PermissionDenied("This account is not linked to a clinic.")
            if required and not request.user.has_perms(required):
                raise PermissionDenied("Your role does not allow this.")
            request.membership = membership
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
