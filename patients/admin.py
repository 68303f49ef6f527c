from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from clinic.admin_scoping import ClinicScopedAdmin, clinic_of
from patients.forms import mobile_phone_field
from patients.models import ConsentChange, Patient, Treatment
from patients.services import patient_create, patient_update


class TreatmentInline(admin.TabularInline[Treatment, Patient]):
    model = Treatment
    extra = 0
    fields = readonly_fields = (
        "performed_at",
        "practitioner",
        "depth_mm",
        "passes",
        "areas",
        "device",
    )
    show_change_link = True
    can_delete = False


class ConsentChangeInline(admin.TabularInline[ConsentChange, Patient]):
    model = ConsentChange
    extra = 0
    fields = readonly_fields = ("at", "channel", "given", "source", "recorded_by")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Patient | None = None) -> bool:
        return False


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    list_display = ["last_name", "first_name", "clinic", "email", "phone", "skin_type"]
    list_filter = [
        "clinic",
        "skin_type",
        "email_consent",
        "text_consent",
        "breakout_prone",
        "slow_healing",
    ]
    search_fields = ["first_name", "last_name", "email", "phone"]
    readonly_fields = [
        "email_consent_at",
        "email_undeliverable_at",
        "email_undeliverable_reason",
        "text_consent_at",
        "phone_undeliverable_at",
        "phone_undeliverable_reason",
        "erased_at",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["clinic"]
    inlines = [TreatmentInline, ConsentChangeInline]

    def get_form(
        self, request: HttpRequest, obj: Patient | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """Mobile numbers are read in the clinic's country, as on the staff pages (a
        superuser adding a patient, with no clinic yet, types the + and country code)."""
        form = super().get_form(request, obj, change=change, **kwargs)
        clinic = obj.clinic if obj is not None else clinic_of(request)
        if clinic is not None and "phone" in form.base_fields:
            form.base_fields["phone"] = mobile_phone_field(clinic.country_code)
        return form

    def save_model(self, request: HttpRequest, obj: Patient, form: object, change: bool) -> None:
        """Through the same services as the staff pages: consent history, and a corrected
        address or number that failed puts the reminders still to come back in the queue."""
        user = request.user
        assert user.is_authenticated  # the admin lets only logged-in staff in
        if change:
            patient_update(patient=obj, by=user)
        else:
            patient_create(clinic=obj.clinic, patient=obj, by=user)


@admin.register(Treatment)
class TreatmentAdmin(ClinicScopedAdmin):
    list_display = ["performed_at", "patient", "clinic", "practitioner", "depth_mm", "passes"]
    list_filter = ["clinic", "device", "performed_at"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__email"]
    date_hierarchy = "performed_at"
    autocomplete_fields = ["patient", "practitioner"]
    list_select_related = ["patient", "clinic", "practitioner"]
    readonly_fields = ["created_at", "updated_at"]
