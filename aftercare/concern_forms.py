from __future__ import annotations

from django import forms
from django.conf import settings

from aftercare.models import Symptom


class ConcernReportForm(forms.Form):
    symptoms = forms.MultipleChoiceField(
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
    photo = forms.ImageField(
        label="Add a photo (optional)",
        required=False,
        help_text="Only the clinic's staff can see it. Location and camera details are removed.",
    )

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > settings.CONCERN_PHOTO_MAX_BYTES:
            limit = settings.CONCERN_PHOTO_MAX_BYTES // (1024 * 1024)
            raise forms.ValidationError(
                "This photo is too large: please choose one under %(limit)s MB.",
                code="too_large",
                params={"limit": limit},
            )
        return photo

    def clean(self) -> dict:
        cleaned = super().clean()
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
