"""Test clients for staff who have passed the second factor (clinic.two_factor).

`client.force_login(user)` skips the password; `login_verified(client, user)` also skips
the code, the way clinic.two_factor_views.verify ends after a right one: django_otp keeps
the verifying device's persistent id in the session, and its OTPMiddleware reads it back
on every request (checking that the device is confirmed and belongs to the user).
The two-factor pages themselves are tested with real codes (`code_now`).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def authenticator_for(user: AbstractBaseUser) -> TOTPDevice:
    """The user's confirmed authenticator, made if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test authenticator")


def login_verified(client: Client, user: AbstractBaseUser) -> TOTPDevice:
    """Log `client` in as `user`, with this session's second factor passed."""
    client.force_login(user)
    device = authenticator_for(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def verified_client(user: AbstractBaseUser, **client_options: object) -> Client:
    """A new Client logged in as `user` past the second factor."""
    client = Client(**client_options)
    login_verified(client, user)
    return client


def code_now(device: TOTPDevice, *, steps: int = 0) -> str:
    """The code the user's authenticator app shows now (or `steps` periods later)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, steps):0{device.digits}d}"
