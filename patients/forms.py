from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import phonenumbers
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

from aftercare.delivery.text_transports import texts_enabled
from clinic.models import Clinic, StaffRole
from patients.models import (
    MAX_DEPTH_MM,
    MAX_PASSES,
    MIN_DEPTH_MM,
    MIN_PASSES,
    USUAL_MAX_DEPTH_MM,
    USUAL_MIN_DEPTH_MM,
    Channel,
    ConsentSource,
    Patient,
    Treatment,
    TreatmentArea,
)

# Numbers texts can reach; phonenumbers cannot tell some countries' (the US's) apart.
MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)

# A treatment logged "now" on a device whose clock runs a little fast is still fine.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Back and submit again on *Log a treatment* would save the session twice: a treatment with
# the same values, performed within REPEAT_PERFORMED_WITHIN of one saved in the last
# REPEAT_SAVED_WITHIN, is saved only once staff confirm it (the form's "confirm_repeat").
REPEAT_PERFORMED_WITHIN = timedelta(minutes=5)
REPEAT_SAVED_WITHIN = timedelta(minutes=30)
CONFIRM_REPEAT = "confirm_repeat"


# Patient fields only staff who treat may set or change (clinic.roles).
CLINICAL_FIELDS = ("skin_type", "breakout_prone", "slow_healing", "sensitive_skin", "history_notes")


def _refuse_control_characters(value: str) -> None:
    """Names go into emails and exports: no line breaks or other control characters."""
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise forms.ValidationError(
            "Use letters, spaces and punctuation only (no line breaks or tabs).",
            code="control_characters",
        )


def _single_line(value: str) -> str:
    _refuse_control_characters(value)
    return value


class PatientSearchForm(forms.Form):
    """The patient list's search box (a GET form): words matched against names, email, phone.

    The query goes into SQL, and PostgreSQL refuses a NUL byte in text: CharField's
    ProhibitNullCharactersValidator stops it here, with the other control characters.
    """

    # Longer than any name, email or phone number a word could match.
    q = forms.CharField(required=False, max_length=200, validators=[_refuse_control_characters])


class PatientForm(forms.ModelForm[Patient]):
    class Meta:
        model = Patient
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
            "skin_type",
            "email_consent",
            "text_consent",
            "breakout_prone",
            "slow_healing",
            "sensitive_skin",
            "history_notes",
        ]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "history_notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, clinic: Clinic, clinical: bool = True, **kwargs: Any) -> None:
        """`clinic`: numbers are read in its country's national form too.
        `clinical=False` (front desk) leaves out the skin type and history."""
        super().__init__(*args, **kwargs)
        self.fields["phone"] = mobile_phone_field(clinic.country_code)
        if not texts_enabled():
            # Texts are off here: the consent stays as it was.
            del self.fields["text_consent"]
        if not clinical:
            for name in CLINICAL_FIELDS:
                del self.fields[name]
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save patient"))

    def clean_first_name(self) -> str:
        return _single_line(self.cleaned_data["first_name"])

    def clean_last_name(self) -> str:
        return _single_line(self.cleaned_data["last_name"])

    def clean_date_of_birth(self) -> date | None:
        born: date | None = self.cleaned_data.get("date_of_birth")
        if born and born > timezone.localdate():
            raise forms.ValidationError("Date of birth cannot be in the future.", code="future")
        return born

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("email_consent") and not cleaned.get("email"):
            self.add_error(
                "email",
                forms.ValidationError(
                    "Add an email address: reminders need one, and the patient agreed to them.",
                    code="consent_without_email",
                ),
            )
        if cleaned.get("text_consent"):
            self._refuse_text_consent_without_mobile(cleaned.get("phone"))
            self._refuse_overriding_a_stop_reply()
        return cleaned

    def _refuse_overriding_a_stop_reply(self) -> None:
        """A patient who replied STOP is texted again only once they reply START: the
        phone network blocks our texts to them until then."""
        if self.instance.pk is None or self.instance.text_consent:
            return
        last = self.instance.consent_changes.filter(channel=Channel.TEXT).first()
        if last is not None and last.source == ConsentSource.TEXT_STOP:
            self.add_error(
                "text_consent",
                forms.ValidationError(
                    "The patient replied STOP to a text. Texts start again when they reply "
                    "START to one of our texts; until then, emails or a call reach them.",
                    code="replied_stop",
                ),
            )

    def _refuse_text_consent_without_mobile(self, phone: PhoneNumber | None) -> None:
        if "phone" in self.errors:
            return
        if not phone:
            self.add_error(
                "phone",
                forms.ValidationError(
                    "Add a mobile number: texts need one, and the patient agreed to them.",
                    code="consent_without_phone",
                ),
            )
        elif phonenumbers.number_type(phone) not in MOBILE_TYPES:
            self.add_error(
                "phone",
                forms.ValidationError(
                    "%(number)s is a landline: texts need a mobile number. Add the patient's "
                    "mobile, or untick texts.",
                    code="landline",
                    params={"number": phone.as_national},
                ),
            )


def mobile_phone_field(country: str) -> PhoneNumberField:
    """The mobile number, typed as the patient says it (national form for the clinic's
    country) or with + and the country code; kept in international (E.164) form."""
    region = country if country in phonenumbers.SUPPORTED_REGIONS else None
    example_number = region and (
        phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        or phonenumbers.example_number(region)
    )
    if example_number:
        example = phonenumbers.format_number(
            example_number, phonenumbers.PhoneNumberFormat.NATIONAL
        )
        invalid = (
            f"Enter a valid phone number, for example {example}, or one starting with + "
            "and the country code."
        )
    else:
        invalid = "Enter a valid phone number starting with + and the country code."
    return PhoneNumberField(
        region=region,
        required=False,
        label="Mobile phone",
        help_text=(
            "Type it as the patient says it; it is kept in international form "
            "(with the country code)."
        ),
        error_messages={"invalid": invalid},
    )


class PractitionerChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class TreatmentForm(forms.ModelForm[Treatment]):
    areas = forms.MultipleChoiceField(
        label="Treated areas",
        choices=TreatmentArea.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one treated area."},
    )
    depth_mm = forms.DecimalField(
        label="Needle depth (mm)",
        max_digits=3,
        decimal_places=2,
        min_value=MIN_DEPTH_MM,
        max_value=MAX_DEPTH_MM,
        error_messages={
            "min_value": f"Needle depth must be at least {MIN_DEPTH_MM} mm.",
            "max_value": f"Needle depth must be at most {MAX_DEPTH_MM} mm.",
        },
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )
    passes = forms.IntegerField(
        label="Number of passes",
        min_value=MIN_PASSES,
        max_value=MAX_PASSES,
        error_messages={
            "min_value": f"Passes must be between {MIN_PASSES} and {MAX_PASSES}.",
            "max_value": f"Passes must be between {MIN_PASSES} and {MAX_PASSES}.",
        },
    )
    performed_at = forms.DateTimeField(
        label="Performed at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In the clinic's local time.",
    )
    confirm_unusual_depth = forms.BooleanField(
        label="Confirm unusual depth",
        required=False,
        help_text=(
            f"Needed when the depth is outside the usual professional range "
            f"({USUAL_MIN_DEPTH_MM}–{USUAL_MAX_DEPTH_MM} mm)."
        ),
    )

    class Meta:
        model = Treatment
        fields = [
            "practitioner",
            "performed_at",
            "depth_mm",
            "confirm_unusual_depth",
            "passes",
            "areas",
            "device",
            "products_applied",
            "notes",
        ]
        widgets = {
            "products_applied": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        field_classes = {"practitioner": PractitionerChoiceField}

    def __init__(
        self, *args: Any, clinic: Clinic, patient: Patient | None = None, **kwargs: Any
    ) -> None:
        """With `patient`, a treatment just like one saved minutes ago needs confirming."""
        super().__init__(*args, **kwargs)
        self.patient = patient
        # The treatment this one repeats, once clean() found one: the page asks about it.
        self.repeat_of: Treatment | None = None
        practitioner = cast(PractitionerChoiceField, self.fields["practitioner"])
        practitioner.queryset = (
            get_user_model()
            .objects.filter(
                membership__clinic=clinic,
                membership__role__in=[StaffRole.PRACTITIONER, StaffRole.CLINIC_ADMIN],
                is_active=True,
            )
            .order_by("first_name", "last_name", "username")
        )
        self.helper = FormHelper()
        # The page writes the <form> tag: the repeat warning's button sits inside it too.
        self.helper.form_tag = False
        self.helper.add_input(Submit("submit", "Save treatment"))

    def clean_performed_at(self) -> datetime:
        performed_at: datetime = self.cleaned_data["performed_at"]
        if performed_at > timezone.now() + FUTURE_TOLERANCE:
            raise forms.ValidationError(
                "The treatment time cannot be in the future.", code="future"
            )
        return performed_at

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        depth: Decimal | None = cleaned.get("depth_mm")
        unusual = depth is not None and not (USUAL_MIN_DEPTH_MM <= depth <= USUAL_MAX_DEPTH_MM)
        if unusual and not cleaned.get("confirm_unusual_depth"):
            self.add_error(
                "depth_mm",
                forms.ValidationError(
                    "%(depth)s mm is outside the usual professional range "
                    "(%(low)s–%(high)s mm). Tick “Confirm unusual depth” to save it.",
                    code="unusual_depth",
                    params={"depth": depth, "low": USUAL_MIN_DEPTH_MM, "high": USUAL_MAX_DEPTH_MM},
                ),
            )
        self._refuse_unconfirmed_repeat(cleaned)
        return cleaned

    def _refuse_unconfirmed_repeat(self, cleaned: dict[str, Any]) -> None:
        compared = ("performed_at", "depth_mm", "passes", "areas", "device")
        if self.patient is None or any(cleaned.get(name) in (None, "", []) for name in compared):
            return
        now = timezone.now()
        self.repeat_of = Treatment.objects.saved_again(
            patient_id=self.patient.pk,
            performed_at=cleaned["performed_at"],
            depth_mm=cleaned["depth_mm"],
            passes=cleaned["passes"],
            areas=cleaned["areas"],
            device=cleaned["device"],
            saved_since=now - REPEAT_SAVED_WITHIN,
            performed_within=REPEAT_PERFORMED_WITHIN,
        )
        if self.repeat_of is not None and self.data.get(CONFIRM_REPEAT) != "yes":
            self.add_error(
                None,
                forms.ValidationError(
                    "This looks like a treatment saved twice: one with the same values was "
                    "saved for this patient a few minutes ago. Nothing was saved this time.",
                    code="repeat",
                ),
            )


class ConsentRenewForm(forms.Form):
    """Staff record that a patient who stopped reminder emails wants them again."""

    note = forms.CharField(
        label="How the patient agreed",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: “Asked at reception on 3 March to get the emails again.”",
        error_messages={"required": "Write down how the patient agreed, for the record."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Record agreement and start reminders"))
