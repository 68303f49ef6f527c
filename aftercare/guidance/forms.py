from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Sequence
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from django import forms

from aftercare.models import GuidanceItem, RestrictionRule
from aftercare.planner.inputs import HISTORY_FLAGS, SEASONS, ClinicFacts, TreatmentFacts
from clinic.zones import climate_for_timezone, hemisphere_for_timezone
from patients.models import MAX_DEPTH_MM, MIN_DEPTH_MM, Device, SkinType, TreatmentArea

FACT_ID = re.compile(r"^[A-Z]\d{1,2}$")
HISTORY_CHOICES = [(flag, flag.replace("_", " ").capitalize()) for flag in HISTORY_FLAGS]
SEASON_CHOICES = [(season, season.capitalize()) for season in SEASONS]


class FactIdsFormField(forms.CharField):
    """Fact ids typed as "H1, R3", stored as ["H1", "R3"]."""

    def __init__(self, *, encoder: object = None, decoder: object = None, **kwargs: Any) -> None:
        # Stands in for the JSONField form field, which would pass these.
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: object) -> object:
        if isinstance(value, list):
            return ", ".join(value)
        return value

    # The cleaned value is the list the model's JSONField stores, not CharField's text
    # (as with Django's own forms.JSONField, a CharField too).
    def to_python(self, value: object) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        ids = [part.strip().upper() for part in re.split(r"[,\s]+", text) if part.strip()]
        wrong = [fact_id for fact_id in ids if not FACT_ID.match(fact_id)]
        if wrong:
            raise forms.ValidationError(
                "Fact ids look like H1 or R3 (see CLINICAL_FACTS.md); not: %(wrong)s",
                code="bad_fact_id",
                params={"wrong": ", ".join(wrong)},
            )
        return list(dict.fromkeys(ids))


def choice_list_field(
    choices: Sequence[tuple[object, str]], coerce: Callable[[str], object] = str
) -> forms.Field:
    return forms.TypedMultipleChoiceField(
        choices=choices, coerce=coerce, required=False, widget=forms.CheckboxSelectMultiple
    )


class GuidanceItemAdminForm(forms.ModelForm[GuidanceItem]):
    areas = choice_list_field(TreatmentArea.choices)
    devices = choice_list_field(Device.choices)
    skin_types = choice_list_field(SkinType.choices, coerce=int)
    history = choice_list_field(HISTORY_CHOICES)
    seasons = choice_list_field(SEASON_CHOICES)


class RestrictionRuleAdminForm(forms.ModelForm[RestrictionRule]):
    areas = choice_list_field(TreatmentArea.choices)


class PlanPreviewForm(forms.Form):
    """Sample treatment facts for previewing the plan the guidance would give."""

    depth_mm = forms.DecimalField(
        label="Needle depth (mm)",
        min_value=MIN_DEPTH_MM,
        max_value=MAX_DEPTH_MM,
        decimal_places=2,
        initial=Decimal("1.5"),
    )
    passes = forms.IntegerField(min_value=1, max_value=10, initial=3)
    areas = forms.MultipleChoiceField(
        choices=TreatmentArea.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=["cheeks", "periorbital"],
    )
    device = forms.ChoiceField(choices=Device.choices, initial=Device.PEN)
    skin_type = forms.TypedChoiceField(choices=SkinType.choices, coerce=int, initial=4)
    age = forms.IntegerField(min_value=0, max_value=120, required=False, initial=40)
    history = choice_list_field(HISTORY_CHOICES)
    performed_on = forms.DateField(
        label="Treatment date",
        # A date input takes ISO dates only, whatever the language's date format.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    performed_time = forms.TimeField(
        label="Treatment time",
        initial=time(10, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    timezone = forms.CharField(
        initial="Europe/London", help_text="IANA name, e.g. Australia/Sydney"
    )

    def clean_timezone(self) -> str:
        name: str = self.cleaned_data["timezone"].strip()
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                "%(name)s is not a known time zone.", code="unknown_timezone", params={"name": name}
            )
        return name

    def facts(
        self, *, clinic_name: str, phone: str, email: str
    ) -> tuple[TreatmentFacts, ClinicFacts]:
        data = self.cleaned_data
        zone = zoneinfo.ZoneInfo(data["timezone"])
        treatment = TreatmentFacts(
            performed_at=datetime.combine(data["performed_on"], data["performed_time"], zone),
            depth_mm=data["depth_mm"],
            passes=data["passes"],
            areas=frozenset(data["areas"]),
            device=data["device"],
            skin_type=data["skin_type"],
            age_years=data["age"],
            history=frozenset(data["history"]),
        )
        clinic = ClinicFacts(
            name=clinic_name,
            phone=phone,
            email=email,
            timezone=data["timezone"],
            hemisphere=hemisphere_for_timezone(data["timezone"]),
            climate=climate_for_timezone(data["timezone"]),
        )
        return treatment, clinic
