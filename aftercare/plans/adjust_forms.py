"""Forms a practitioner uses to adjust one patient's plan, and to set up a course."""

from __future__ import annotations

from typing import Any

from django import forms

from aftercare.planner.planning import Plan, PlannedRestriction

MAX_RESTRICTION_HOURS = 24 * 90
MAX_REMINDER_DAY = 365
REASON_MAX = 1000


class RestrictionAdjustForm(forms.Form):
    hours = forms.IntegerField(
        label="Hours after the treatment", min_value=1, max_value=MAX_RESTRICTION_HOURS
    )
    reason = forms.CharField(
        label="Why",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=REASON_MAX,
        help_text="Needed when the time is shorter than the guidance.",
    )

    def __init__(self, *args: Any, restriction: PlannedRestriction, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"hours": restriction.hours})
        super().__init__(*args, **kwargs)
        self.restriction = restriction
        self.fields[
            "hours"
        ].help_text = f"The guidance says {restriction.hours_by_guidance} hours for this treatment."

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        hours = cleaned.get("hours")
        guidance = self.restriction.hours_by_guidance
        if hours is None:
            return cleaned
        if hours == self.restriction.hours:
            self.add_error("hours", forms.ValidationError("That is the time already set.", "same"))
        elif hours < guidance and not (cleaned.get("reason") or "").strip():
            self.add_error(
                "reason",
                forms.ValidationError(
                    "%(hours)s hours is shorter than the guidance (%(guidance)s hours): "
                    "write down why.",
                    code="reason_required",
                    params={"hours": hours, "guidance": guidance},
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
    starts_on = forms.DateField(
        label="First session", widget=forms.DateInput(attrs={"type": "date"})
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
