"""The one place that decides which clinic a staff request acts for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar, cast, overload

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from clinic.models import StaffMembership

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


class AuthenticatedRequest(HttpRequest):
    """What a view under `login_required` receives: a logged-in user.

    Only an annotation, as is StaffRequest: the object is Django's request.
    """

    user: User


class StaffRequest(AuthenticatedRequest):
    """What a view under `staff_required` receives: a logged-in user of a clinic, whose
    membership the decorator adds to the request."""

    membership: StaffMembership


def membership_for(request: HttpRequest) -> StaffMembership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    try:
        return user.membership
    except StaffMembership.DoesNotExist:
        return None


@overload
def staff_required(
    view: Callable[Concatenate[StaffRequest, P], R], /
) -> Callable[Concatenate[HttpRequest, P], R]: ...


@overload
def staff_required(
    *, perms: Iterable[str] = ()
) -> Callable[
    [Callable[Concatenate[StaffRequest, P], R]], Callable[Concatenate[HttpRequest, P], R]
]: ...


def staff_required(
    view: Callable[Concatenate[StaffRequest, P], R] | None = None,
    /,
    *,
    perms: Iterable[str] = (),
) -> (
    Callable[Concatenate[HttpRequest, P], R]
    | Callable[
        [Callable[Concatenate[StaffRequest, P], R]], Callable[Concatenate[HttpRequest, P], R]
    ]
):
    """Login required, the user must belong to a clinic and hold `perms`.

    Use bare (`@staff_required`) or with permissions
    (`@staff_required(perms=["patients.add_treatment"])`); clinic.roles says which
    role has which. The view receives the membership as `request.membership`;
    every lookup it makes must be scoped to `request.membership.clinic`.
    """
    required = tuple(perms)

    def decorate(
        view: Callable[Concatenate[StaffRequest, P], R],
    ) -> Callable[Concatenate[HttpRequest, P], R]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
            membership = membership_for(request)
            if membership is None:
                raise PermissionDenied("This account is not linked to a clinic.")
            if required and not request.user.has_perms(required):
                raise PermissionDenied("Your role does not allow this.")
            # Logged in (login_required) with a membership (above): a StaffRequest.
            staff_request = cast(StaffRequest, request)
            staff_request.membership = membership
            return view(staff_request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
