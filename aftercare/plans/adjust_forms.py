"""Forms a practitioner uses to adjust one patient's plan, and to set up a course."""

from __future__ import annotations

from typing import Any

from django import forms

from aftercare.models import length_label
from aftercare.planner.planning import Plan, PlannedRestriction

MAX_RESTRICTION_HOURS = 24 * 90
MAX_REMINDER_DAY = 365
REASON_MAX = 1000


class RestrictionAdjustForm(forms.Form):
    """A restriction's length in days (and hours, for the planner's in-between lengths).

    PlanAdjustment keeps hours: `clean` turns the two fields into `cleaned_data["hours"]`.
    """

    days = forms.IntegerField(
        label="Days after the treatment", min_value=0, max_value=MAX_RESTRICTION_HOURS // 24
    )
    extra_hours = forms.IntegerField(
        label="and hours", min_value=0, max_value=23, required=False, initial=0
    )
    reason = forms.CharField(
        label="Why",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=REASON_MAX,
        help_text="Needed when the time is shorter than the guidance.",
    )

    def __init__(self, *args: Any, restriction: PlannedRestriction, **kwargs: Any) -> None:
        days, extra = divmod(restriction.hours, 24)
        kwargs.setdefault("initial", {"days": days, "extra_hours": extra})
        super().__init__(*args, **kwargs)
        self.restriction = restriction
        guidance = length_label(restriction.hours_by_guidance)
        self.fields["days"].help_text = f"The guidance says {guidance} for this treatment."

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        days = cleaned.get("days")
        if days is None or "extra_hours" in self.errors:
            return cleaned
        hours = days * 24 + (cleaned.get("extra_hours") or 0)
        guidance = self.restriction.hours_by_guidance
        if not 1 <= hours <= MAX_RESTRICTION_HOURS:
            self.add_error(
                "days",
                forms.ValidationError(
                    "Give a time between 1 hour and %(most)s days.",
                    code="out_of_range",
                    params={"most": MAX_RESTRICTION_HOURS // 24},
                ),
            )
            return cleaned
        cleaned["hours"] = hours
        if hours == self.restriction.hours:
            self.add_error("days", forms.ValidationError("That is the time already set.", "same"))
        elif hours < guidance and not (cleaned.get("reason") or "").strip():
            self.add_error(
                "reason",
                forms.ValidationError(
                    "%(length)s is shorter than the guidance (%(guidance)s): write down why.",
                    code="reason_required",
                    params={"length": length_label(hours), "guidance": length_label(guidance)},
                ),
            )
        return cleaned


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Personal note",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=1000,
        help_text=(
            "Shown at the top of the patient's Today page and in their next reminder email. "
            "Leave empty to remove the note."
        ),
    )
    reason = forms.CharField(label="Why (optional)", required=False, max_length=REASON_MAX)


class SkipReminderForm(forms.Form):
    reason = forms.CharField(
        label="Why",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=REASON_MAX,
    )


class AddReminderForm(forms.Form):
    day_number = forms.IntegerField(
        label="Day after the treatment",
        min_value=0,
        max_value=MAX_REMINDER_DAY,
        help_text="Sent at the clinic's reminder hour that day (day 0: right away).",
    )
    label = forms.CharField(
        label="Heading", max_length=100, initial="A check-in from your practitioner"
    )
    text = forms.CharField(
        label="What the email says",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    reason = forms.CharField(label="Why (optional)", required=False, max_length=REASON_MAX)

    def __init__(self, *args: Any, plan: Plan, today: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.today = today

    def clean_day_number(self) -> int:
        day: int = self.cleaned_data["day_number"]
        if day < self.today:
            raise forms.ValidationError(
                "Day %(day)s has passed: today is day %(today)s.",
                code="past",
                params={"day": day, "today": self.today},
            )
        taken = [reminder for reminder in self.plan.reminders if reminder.day_number == day]
        if taken:
            raise forms.ValidationError(
                "“%(label)s” already goes out on day %(day)s: one email a day at most.",
                code="day_taken",
                params={"label": taken[0].label, "day": day},
            )
        return day


class CourseForm(forms.Form):
    sessions = forms.IntegerField(label="Number of sessions", min_value=2, max_value=12, initial=4)
    min_interval_weeks = forms.IntegerField(
        label="Weeks between sessions, at least", min_value=1, max_value=52, initial=4
    )
    max_interval_weeks = forms.IntegerField(
        label="Weeks between sessions, at most", min_value=1, max_value=52, initial=6
    )
    # A date input takes and shows only ISO dates (2026-11-25), whatever the language's format.
    starts_on = forms.DateField(
        label="First session",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        low, high = cleaned.get("min_interval_weeks"), cleaned.get("max_interval_weeks")
        if low is not None and high is not None and high < low:
            self.add_error(
                "max_interval_weeks",
                forms.ValidationError(
                    "At most %(high)s weeks is fewer than at least %(low)s.",
                    code="interval_order",
                    params={"high": high, "low": low},
                ),
            )
        return cleaned
