"""A second factor for staff: who needs one, setting it up, checking codes, and the gate.

django-otp does the one-time-password work: its TOTPDevice (an authenticator app) and
StaticDevice (single-use recovery codes) keep their secrets and their throttling in the
database, `django_otp.login` marks a session verified, and its OTPMiddleware gives every
request `request.user.is_verified()`. This module decides who must use it, and
TwoFactorMiddleware keeps everyone who must on the pages of clinic.two_factor_views
until they have entered a code in this session.
"""

from __future__ import annotations

import time
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import django_otp
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from clinic.models import StaffMembership, StaffRole

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10


def two_factor_required(user: User | AnonymousUser) -> bool:
    """Superusers, anyone who may open the Django admin (is_staff: clinic admins get it
    from their role), clinic admins, and all staff of a clinic with `require_two_factor`."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    try:
        membership = user.membership
    except StaffMembership.DoesNotExist:
        return False
    return membership.role == StaffRole.CLINIC_ADMIN or membership.clinic.require_two_factor


def session_verified(user: User) -> bool:
    """True once this session has passed the second factor."""
    # OTPMiddleware gives each request's user `is_verified()`; django-otp has no type hints.
    return bool(user.is_verified())  # type: ignore[attr-defined]


def two_factor_set_up(user: User) -> bool:
    """True once the user has a confirmed authenticator or recovery codes.

    Either one means they are asked for a code: someone who only knows the password
    must not be able to replace a lost authenticator with their own.
    """
    return cast(bool, django_otp.user_has_device(user, confirmed=True))


# Setting up an authenticator


def authenticator_key_new() -> str:
    """A new secret for an authenticator, hex-encoded as TOTPDevice.key keeps it."""
    return cast(str, random_hex(20))


def authenticator_for(*, user: User, key: str) -> TOTPDevice:
    """An unsaved device for `key`: its `config_url` is the otpauth:// URI to scan."""
    return TOTPDevice(user=user, name=AUTHENTICATOR_NAME, key=key, confirmed=True)


def secret_for_typing(device: TOTPDevice) -> str:
    """The key in base32 as authenticator apps take it typed in, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def authenticator_check(
    *, user: User, key: str, code: str, at: float | None = None
) -> TOTPDevice | None:
    """The unsaved authenticator for `key` if `code` is its current code, else None."""
    device = authenticator_for(user=user, key=key)
    code = _normalise(code)
    if not (len(code) == device.digits and code.isdigit()):
        return None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    if not totp.verify(int(code), tolerance=device.tolerance):
        return None
    # The code that confirmed the device is used: it cannot verify a session later.
    device.last_t = totp.t()
    device.drift = totp.drift
    return device


def authenticator_save(*, device: TOTPDevice) -> None:
    """Save a checked authenticator in place of any the user had (the view allows a
    replacement only to a session that is already verified)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user).delete()
        device.save()


# Recovery codes


def recovery_codes_regenerate(*, user: User) -> list[str]:
    """A new set of single-use recovery codes; the old ones stop working."""
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        device = StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).first()
        if device is None:
            device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME)
        device.token_set.all().delete()
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user: User) -> int:
    return cast(int, StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


# Checking a code


@dataclass(frozen=True)
class CodeCheck:
    device: Device | None
    # When every device that could take the code is waiting out earlier wrong codes.
    locked_until: datetime | None = None

    @property
    def used_recovery_code(self) -> bool:
        return isinstance(self.device, StaticDevice)


def code_verify(*, user: User, code: str) -> CodeCheck:
    """The device that accepts `code`: six digits go to the authenticator, anything
    else is tried as a recovery code (which is then used up).

    A wrong code counts against that device's throttle (django-otp's ThrottlingMixin:
    after n wrong codes in a row the next try must wait 2**(n-1) seconds, even with the
    right code), so guessing is slow whichever session or process it comes from.
    """
    code = _normalise(code)
    model = TOTPDevice if len(code) == 6 and code.isdigit() else StaticDevice
    tried = False
    waits: list[datetime] = []
    for device in model.objects.devices_for_user(user, confirmed=True):
        allowed, details = device.verify_is_allowed()
        if not allowed:
            waits.append((details or {}).get("locked_until") or timezone.now())
            continue
        tried = True
        # verify_token locks the device's row, so two tries at once cannot both count.
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            return CodeCheck(device=verified)
    return CodeCheck(device=None, locked_until=None if tried or not waits else min(waits))


def session_verify(request: HttpRequest, device: Device) -> None:
    """Mark this session as having passed the second factor with `device`."""
    django_otp.login(request, device)
    # The session now carries more privilege: give it a new key, as login() does.
    request.session.cycle_key()


def _normalise(code: str) -> str:
    return "".join(code.split()).lower()


# The gate

# Reachable before the second factor: logging in and out, the two-factor pages
# themselves, health checks. Patients' pages need no staff login at all.
OPEN_VIEW_NAMES = frozenset(
    {"login", "logout", "two_factor:verify", "two_factor:setup", "healthz", "readyz"}
)
OPEN_NAMESPACES = frozenset({"patient"})


class TwoFactorMiddleware:
    """Sends staff who need a second factor, and have not entered it in this session,
    to enter it (or to set one up) from every page: staff pages, the dashboard and
    the Django admin alike.

    Goes after django_otp's OTPMiddleware. It works in process_view, where the URL is
    resolved, so its redirect passes through every middleware's response handling
    (the Content-Security-Policy header included) wherever it sits in the list.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated:
            return None
        match = request.resolver_match
        assert match is not None  # process_view runs once the URL is resolved
        if match.view_name in OPEN_VIEW_NAMES or OPEN_NAMESPACES.intersection(match.namespaces):
            return None
        if session_verified(user) or not two_factor_required(user):
            return None
        target = reverse("two_factor:verify" if two_factor_set_up(user) else "two_factor:setup")
        if request.method not in {"GET", "HEAD"}:
            # Nothing to come back to: a form posted before the code is not replayed.
            return HttpResponseRedirect(target)
        return redirect_to_login(request.get_full_path(), target)
