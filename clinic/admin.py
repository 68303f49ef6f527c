from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from clinic.admin_scoping import ClinicScopedAdmin, sees_every_clinic
from clinic.models import Clinic, StaffMembership


class StaffMembershipInline(admin.TabularInline[StaffMembership, Clinic]):
    model = StaffMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    """Clinics are set up by the platform's superusers."""

    clinic_lookup = "pk"
    list_display = ["name", "timezone", "phone", "email", "created_at"]
    list_filter = ["timezone"]
    search_fields = ["name", "email", "phone"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StaffMembershipInline]
    # A booking page typed without a scheme is an https one.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


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
