"""The patient pages' own forms that are not about their plan."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from patients.models import Channel


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


# How we remind you: each option the patient may pick, and the channels it means.
EMAIL_ONLY, TEXT_ONLY, EMAIL_AND_TEXT = "email", "text", "both"
CHOICE_CHANNELS: dict[str, tuple[Channel, ...]] = {
    EMAIL_ONLY: (Channel.EMAIL,),
    TEXT_ONLY: (Channel.TEXT,),
    EMAIL_AND_TEXT: (Channel.EMAIL, Channel.TEXT),
}
CHOICE_LABELS = {EMAIL_ONLY: "Email", TEXT_ONLY: "Text message", EMAIL_AND_TEXT: "Email and text"}
# How the page says the channels in a sentence ("we will remind you by text").
CHOICE_WORDS = {EMAIL_ONLY: "email", TEXT_ONLY: "text", EMAIL_AND_TEXT: "email and text"}


def choice_for(channels: tuple[Channel, ...]) -> str:
    """The option that means `channels` ("" for none)."""
    wanted = set(channels)
    return next((key for key, chosen in CHOICE_CHANNELS.items() if set(chosen) == wanted), "")


class ReminderChannelsForm(forms.Form):
    """The patient picks email, text or both, among the channels they can use now
    (aftercare.delivery.channel_choice.channels_choosable). Cleaned: a tuple of Channel."""

    choice = forms.ChoiceField(
        label="How should we remind you?",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Please choose how we should remind you.",
            "invalid_choice": "We cannot remind you that way. Please pick one of the ways shown.",
        },
    )

    def __init__(self, *args: Any, choosable: tuple[Channel, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["choice"])
        field.choices = [
            (key, CHOICE_LABELS[key])
            for key, channels in CHOICE_CHANNELS.items()
            if set(channels) <= set(choosable)
        ]

    def clean_choice(self) -> tuple[Channel, ...]:
        return CHOICE_CHANNELS[self.cleaned_data["choice"]]


def masked_email(address: str) -> str:
    """The address with all but the first letter of its name hidden: "j•••@example.com"."""
    name, _, domain = address.partition("@")
    return f"{name[:1]}•••@{domain}"


def masked_phone(number: object) -> str:
    """The number with all but its last three digits hidden: "•••• ••• 123"."""
    digits = [c for c in str(number) if c.isdigit()]
    return f"•••• ••• {''.join(digits[-3:])}"
