"""The patient pages' own forms that are not about their plan."""

from __future__ import annotations

from django import forms


class NewLinkForm(forms.Form):
    """A patient without their link asks for a new one to the address the clinic has."""

    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "required": "Please type your email address.",
            "invalid": "This does not look like an email address. Please check it.",
        },
    )

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        return email.strip()
