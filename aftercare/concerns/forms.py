from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.files import File
from PIL import Image

from aftercare.concerns.services import (
    PHOTO_FAR_TOO_MANY_PIXELS,
    PHOTO_UNREADABLE,
    CleanPhoto,
    PhotoRefused,
    clean_photo,
)
from aftercare.models import Symptom, symptoms_offered


class PhotoField(forms.ImageField):
    """Django's ImageField, with errors a patient understands: for a file it cannot read,
    and for an image so large that Pillow refuses even to open it."""

    default_error_messages = {"invalid_image": PHOTO_UNREADABLE}

    def to_python(self, data: File[Any] | None) -> File[Any] | None:
        try:
            return super().to_python(data)
        except forms.ValidationError as error:
            if isinstance(error.__cause__, Image.DecompressionBombError):
                raise forms.ValidationError(
                    PHOTO_FAR_TOO_MANY_PIXELS, code="too_many_pixels"
                ) from error
            raise


class SymptomsField(forms.MultipleChoiceField):
    """Shows the symptoms offered at this hour, and takes any symptom: a form shown just
    before hour 72 may be sent just after it, when its choices have changed."""

    def valid_value(self, value: str) -> bool:
        return value in Symptom.values


class ConcernReportForm(forms.Form):
    symptoms = SymptomsField(
        label="What do you notice?",
        choices=Symptom.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    details = forms.CharField(
        label="Tell us more (optional)",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=2000,
    )
    photo = PhotoField(
        label="Add a photo (optional)",
        required=False,
        help_text="Only the clinic's staff can see it. Location and camera details are removed.",
    )

    def __init__(self, *args: Any, hours_since_treatment: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(SymptomsField, self.fields["symptoms"])
        field.choices = symptoms_offered(hours_since_treatment=hours_since_treatment)

    def clean_photo(self) -> CleanPhoto | None:
        """The photo re-encoded from its pixels alone (aftercare.concerns.services.clean_photo), so
        that a photo too large to decode or unreadable is refused here, with a message."""
        photo = self.cleaned_data.get("photo")
        if not photo:
            return None
        if photo.size > settings.CONCERN_PHOTO_MAX_BYTES:
            limit = settings.CONCERN_PHOTO_MAX_BYTES // (1024 * 1024)
            raise forms.ValidationError(
                "This photo is too large: please choose one under %(limit)s MB.",
                code="too_large",
                params={"limit": limit},
            )
        try:
            return clean_photo(photo)
        except PhotoRefused as error:
            raise forms.ValidationError(
                error.message, code=error.code, params=error.params
            ) from error

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not cleaned.get("symptoms") and not (cleaned.get("details") or "").strip():
            raise forms.ValidationError(
                "Tick what you notice, or describe it in a few words.", code="empty"
            )
        return cleaned


class HandleConcernForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
    )
