"""The second step of logging in, setting up an authenticator, and recovery codes.

clinic.two_factor.TwoFactorMiddleware sends staff here; `verify` and `setup` are open
to a session that has not passed the second factor, so they check for themselves
what such a session may do.
"""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp.plugins.otp_static.models import StaticDevice

from clinic.access import AuthenticatedRequest
from clinic.two_factor import (
    authenticator_for,
    authenticator_key_new,
    authenticator_save,
    recovery_codes_left,
    recovery_codes_regenerate,
    secret_for_typing,
    session_verified,
    session_verify,
    two_factor_required,
    two_factor_set_up,
)
from clinic.two_factor_forms import AuthenticatorForm, CodeForm

# The secret being set up, kept until it is confirmed so a reload shows the same one.
SETUP_KEY_SESSION_KEY = "two_factor_setup_key"
# New recovery codes, shown on the next page once and then dropped.
NEW_CODES_SESSION_KEY = "two_factor_new_codes"


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(request: HttpRequest, name: str) -> HttpResponse:
    return redirect_to_login(_next_url(request), reverse(name))


@never_cache
@login_required
def verify(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if session_verified(user) or not two_factor_required(user):
        return redirect(_next_url(request))
    if not two_factor_set_up(user):
        return _with_next(request, "two_factor:setup")
    form = CodeForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        device = form.cleaned_data["code"]
        session_verify(request, device)
        if isinstance(device, StaticDevice):
            left = recovery_codes_left(user)
            messages.warning(
                request,
                f"You used a recovery code; {left} left. If your authenticator is lost, "
                "set up a new one from the recovery codes page.",
            )
        return redirect(_next_url(request))
    return render(request, "two_factor/verify.html", {"form": form, "next": _next_url(request)})


@never_cache
@login_required
def setup(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not two_factor_required(user):
        return redirect(_next_url(request))
    if two_factor_set_up(user) and not session_verified(user):
        # Only a session that passed the current factor may replace it: a password
        # alone must not be enough to put someone else's phone on the account.
        return _with_next(request, "two_factor:verify")
    key = request.session.get(SETUP_KEY_SESSION_KEY)
    if key is None:
        key = request.session[SETUP_KEY_SESSION_KEY] = authenticator_key_new()
    form = AuthenticatorForm(request.POST or None, user=user, key=key)
    if request.method == "POST" and form.is_valid():
        device = form.cleaned_data["code"]
        authenticator_save(device=device)
        codes = recovery_codes_regenerate(user=user)
        session_verify(request, device)
        del request.session[SETUP_KEY_SESSION_KEY]
        request.session[NEW_CODES_SESSION_KEY] = codes
        messages.success(request, "Two-factor login is on for your account.")
        return _with_next(request, "two_factor:recovery_codes")
    device = authenticator_for(user=user, key=key)
    context = {
        "form": form,
        "next": _next_url(request),
        "secret": secret_for_typing(device),
        "config_url": device.config_url,
        "qr_code": segno.make(device.config_url, micro=False).svg_data_uri(scale=4),
        "replacing": two_factor_set_up(user),
    }
    return render(request, "two_factor/setup.html", context)


@never_cache
@login_required
def recovery_codes(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not two_factor_required(user):
        return redirect("home")
    if not session_verified(user):
        # TwoFactorMiddleware sends such a session away first; this page shows secrets,
        # so it does not rely on that alone.
        return redirect_to_login(request.get_full_path(), reverse("two_factor:verify"))
    if request.method == "POST":
        request.session[NEW_CODES_SESSION_KEY] = recovery_codes_regenerate(user=user)
        return _with_next(request, "two_factor:recovery_codes")
    context = {
        "codes": request.session.pop(NEW_CODES_SESSION_KEY, None),
        "left": recovery_codes_left(user),
        "next": _next_url(request),
    }
    return render(request, "two_factor/recovery_codes.html", context)
