"""The login forms (staff login page, Django admin): usernames no account can have are
refused before anything looks them up."""

from __future__ import annotations

import unicodedata
from typing import Any, cast

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.core.validators import MaxLengthValidator


def refuse_control_characters(value: str) -> None:
    # Usernames are letters, digits and @.+-_ (UnicodeUsernameValidator); a control
    # character can only be a typo or a probe, and is better refused than looked up.
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise forms.ValidationError(
            "Usernames do not contain control characters (such as tabs or line breaks).",
            code="control_characters",
        )


class UsernameLimitsMixin:
    """Makes an AuthenticationForm's username field enforce the length it advertises.

    AuthenticationForm sets `max_length` on the username field after the field is built,
    so the length reaches the HTML `maxlength` but never becomes a validator: a longer
    username went on to `authenticate()`, and django-axes then failed to record the
    failed login in its 255-character `AccessAttempt.username` (a 500). With the
    validator a too-long username is a form error, and `clean()` skips `authenticate()`
    as it does for any username that fails validation.
    """

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = cast(UsernameField, self.fields["username"])
        username.validators.append(MaxLengthValidator(username.max_length))
        username.validators.append(refuse_control_characters)


class StaffLoginForm(UsernameLimitsMixin, AuthenticationForm):
    """The staff login page's form."""


class AdminLoginForm(UsernameLimitsMixin, AdminAuthenticationForm):
    """The Django admin's login form (its own page, /admin/login/)."""
