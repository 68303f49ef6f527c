from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.two_factor import authenticator_check, code_verify

_CODE_ATTRS = {"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}


class CodeForm(forms.Form):
    """The second step of logging in; `cleaned_data["code"]` is the device that took it."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs=_CODE_ATTRS),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_code(self) -> Device:
        check = code_verify(user=self.user, code=self.cleaned_data["code"])
        if check.device is not None:
            return check.device
        if check.locked_until is not None:
            seconds = max(1, round((check.locked_until - timezone.now()).total_seconds()))
            raise forms.ValidationError(
                "Too many wrong codes. Wait %(wait)s, then try again.",
                code="throttled",
                params={"wait": f"{seconds} second{pluralize(seconds)}"},
            )
        raise forms.ValidationError(
            "That code is not right (or was already used).", code="wrong_code"
        )


class AuthenticatorForm(forms.Form):
    """Confirms a new authenticator; `cleaned_data["code"]` is the (unsaved) device."""

    code = forms.CharField(
        label="Code from the app",
        max_length=16,
        help_text="The 6-digit code your authenticator app shows now.",
        widget=forms.TextInput(attrs={**_CODE_ATTRS, "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, user: User, key: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.key = key

    def clean_code(self) -> TOTPDevice:
        device = authenticator_check(user=self.user, key=self.key, code=self.cleaned_data["code"])
        if device is None:
            raise forms.ValidationError(
                "That code does not match. Check the app shows this account, and that "
                "this device's clock is right.",
                code="wrong_code",
            )
        return device
