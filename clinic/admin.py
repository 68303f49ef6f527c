from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from clinic.admin_scoping import ClinicScopedAdmin, sees_every_clinic
from clinic.models import Clinic, OpeningHours, StaffMembership


class StaffMembershipInline(admin.TabularInline[StaffMembership, Clinic]):
    model = StaffMembership
    extra = 0
    autocomplete_fields = ["user"]


class OpeningHoursFormSet(
    forms.BaseInlineFormSet[OpeningHours, Clinic, forms.ModelForm[OpeningHours]]
):
    """Refuses two stretches of the same day that overlap (a lunch break is two rows)."""

    def clean(self) -> None:
        super().clean()
        kept: list[OpeningHours] = []
        for form in self.forms:
            if not form.is_valid() or form.cleaned_data.get("DELETE"):
                continue
            if form.cleaned_data.get("opens") and form.cleaned_data.get("closes"):
                kept.append(form.instance)
        for index, row in enumerate(kept):
            for other in kept[index + 1 :]:
                if row.overlaps(other):
                    raise forms.ValidationError(
                        "%(first)s and %(second)s overlap. Give each part of a day once, "
                        "e.g. 9:00 to 13:00 and 14:00 to 18:00 for a lunch break.",
                        code="overlapping_hours",
                        params={"first": row, "second": other},
                    )


class OpeningHoursInline(admin.TabularInline[OpeningHours, Clinic]):
    model = OpeningHours
    formset = OpeningHoursFormSet
    extra = 1
    verbose_name_plural = "Opening hours (the clinic's local time)"


class ClinicAdminForm(forms.ModelForm[Clinic]):
    """The admin's form for a clinic (ModelAdmin supplies the model and fields)."""

    def clean_country(self) -> str:
        return (self.cleaned_data.get("country") or "").strip().upper()


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    """Clinics are set up by the platform's superusers; a clinic's admins edit its details,
    its opening hours and who patients call, but not its slug (in every link patients were
    emailed) or whether every staff member needs a second factor."""

    clinic_lookup = "pk"
    form = ClinicAdminForm
    list_display = ["name", "timezone", "phone", "email", "created_at"]
    list_filter = ["timezone"]
    search_fields = ["name", "email", "phone"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "timezone", "phone", "email", "address"]}),
        ("Reminder emails", {"fields": ["sender_name", "reminder_hour", "booking_url"]}),
        (
            "Texts",
            {
                "description": (
                    "Reminder texts go out only between these times (the clinic's local "
                    "time); one due outside them waits for the next start."
                ),
                "fields": ["texts_from", "texts_until"],
            },
        ),
        (
            "Warning signs: who patients call",
            {
                "description": (
                    "Every page, email and print sheet that lists the warning signs says: a "
                    "severe allergic reaction, call the emergency number now; anything else, "
                    "call the clinic, or the out-of-hours phone outside the opening hours. "
                    "Emails and the sheet give both numbers with the hours. Opening hours "
                    "(below, in local time): one row per stretch of a day, two for a lunch "
                    "break; a day without a row is closed. With no rows at all, patients get "
                    "both numbers and are never told the clinic is open or closed."
                ),
                "fields": [
                    "country",
                    "country_in_use",
                    "emergency_number",
                    "emergency_number_in_use",
                    "out_of_hours_phone",
                ],
            },
        ),
        ("Aftercare advice", {"fields": ["climate", "climate_in_use"]}),
        ("Security", {"fields": ["require_two_factor"]}),
    ]
    readonly_fields = ["country_in_use", "emergency_number_in_use", "climate_in_use"]
    # A booking page typed without a scheme is an https one.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if sees_every_clinic(request):
            return readonly
        # The slug is in every link patients were emailed; two factor is the platform's call.
        return [*readonly, "slug", "require_two_factor"]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return super().get_prepopulated_fields(request, obj) if sees_every_clinic(request) else {}

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # Clinic admins change roles on the staff pages (and StaffMembershipAdmin), where
        # adding staff makes the account too.
        if sees_every_clinic(request):
            return [OpeningHoursInline, StaffMembershipInline]
        return [OpeningHoursInline]

    @admin.display(description="Country in use")
    def country_in_use(self, obj: Clinic) -> str:
        if not obj.pk:
            return "-"
        if obj.country:
            return obj.country
        return f"{obj.country_code or 'none'} (from the time zone {obj.timezone})"

    @admin.display(description="Emergency number in use")
    def emergency_number_in_use(self, obj: Clinic) -> str:
        if not obj.pk:
            return "-"
        if obj.emergency_number:
            return obj.emergency_number
        if obj.country_code:
            return f"{obj.emergency_phone} (the usual number for {obj.country_code})"
        return f"{obj.emergency_phone} (the time zone names no country; 112 works on mobiles)"

    @admin.display(description="Climate in use")
    def climate_in_use(self, obj: Clinic) -> str:
        if not obj.pk:
            return "-"
        source = "" if obj.climate else f" (from the time zone {obj.timezone})"
        return f"{obj.climate_zone.capitalize()}{source}"


@admin.register(StaffMembership)
class StaffMembershipAdmin(ClinicScopedAdmin):
    """A clinic admin changes the roles of their own clinic's staff, nothing more.

    The clinic is fixed (ClinicScopedAdmin) and so is the user: attaching another
    account to the clinic, or adding staff, happens on the staff pages, which make
    the account too. Only superusers make superusers (the admin for users is theirs).
    """

    list_display = ["user", "clinic", "role", "created_at"]
    list_filter = ["role", "clinic"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "clinic"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if sees_every_clinic(request) else [*readonly, "user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_every_clinic(request)
