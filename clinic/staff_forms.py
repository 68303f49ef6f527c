from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import User

from clinic.models import StaffRole


class StaffCreateForm(BaseUserCreationForm[User]):
    """A new login for the clinic; the password must pass AUTH_PASSWORD_VALIDATORS."""

    role = forms.ChoiceField(choices=StaffRole.choices)

    # django-stubs does not declare the forms' Meta classes.
    class Meta(BaseUserCreationForm.Meta):  # type: ignore[name-defined,misc]
        model = get_user_model()
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "email"):
            self.fields[name].required = True
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Add staff member"))


class StaffEditForm(forms.Form):
    role = forms.ChoiceField(choices=StaffRole.choices)
    is_active = forms.BooleanField(
        label="Can log in",
        required=False,
        help_text="Untick when someone leaves: their name stays on the treatments they logged.",
    )

    def __init__(self, *args: Any, editing_self: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing_self = editing_self
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.editing_self and (
            cleaned.get("role") != StaffRole.CLINIC_ADMIN or not cleaned.get("is_active")
        ):
            raise forms.ValidationError(
                "You cannot remove your own admin role or login: ask another clinic admin.",
                code="self_demotion",
            )
        return cleaned
