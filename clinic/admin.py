from django.contrib import admin
from django.db import models

from clinic.models import Clinic, StaffMembership


class StaffMembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "phone", "email", "created_at"]
    list_filter = ["timezone"]
    search_fields = ["name", "email", "phone"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StaffMembershipInline]
    # A booking page typed without a scheme is an https one.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "clinic", "role", "created_at"]
    list_filter = ["role", "clinic"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "clinic"]
