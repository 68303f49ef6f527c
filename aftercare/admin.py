from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Field, Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from aftercare.delivery.reminders import reminder_resend
from aftercare.guidance import rows as guidance_rows
from aftercare.guidance.clinic import (
    guidance_for_clinic,
    guidance_install,
    row_default,
    row_differences,
    row_reset,
)
from aftercare.guidance.forms import (
    FactIdsFormField,
    GuidanceItemAdminForm,
    PlanPreviewForm,
    RestrictionRuleAdminForm,
)
from aftercare.guidance.rows import guidance_with
from aftercare.models import (
    AftercarePlan,
    ClinicGuidanceRow,
    ConcernReport,
    DeliveryEvent,
    FactIdsField,
    GuidanceItem,
    GuidanceSnapshot,
    IntensityFactor,
    IntensityLevel,
    PatientLink,
    PlanAdjustment,
    RecoveryPhase,
    Reminder,
    ReminderMoment,
    RestrictionRule,
    SentMessage,
    TreatmentCourse,
)
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import Guidance
from aftercare.planner.planning import Plan, build_plan
from aftercare.plans.display import plan_context
from clinic.admin_scoping import ClinicScopedAdmin, clinic_of, sees_every_clinic

PREVIEW_CLINIC = {"clinic_name": "Your clinic", "phone": "your phone", "email": "your email"}


def _sample_form(data: QueryDict | None = None, prefix: str | None = None) -> PlanPreviewForm:
    """A bound preview form: the submitted facts, or the sample ones when none were sent."""
    if data is None:
        unbound = PlanPreviewForm(prefix=prefix, initial={"performed_on": timezone.localdate()})
        data = QueryDict(mutable=True)
        for name, field in unbound.fields.items():
            value = unbound.get_initial_for_field(field, name)
            if value is not None:
                values = value if isinstance(value, list) else [value]
                data.setlist(unbound.add_prefix(name), [str(v) for v in values])
    return PlanPreviewForm(data, prefix=prefix)


def _preview_plan(form: PlanPreviewForm, guidance: Guidance) -> Plan | None:
    return build_plan(*form.facts(**PREVIEW_CLINIC), guidance) if form.is_valid() else None


# Which part of a plan each guidance table's rows become (the preview marks the edited one).
PLAN_PART = {
    RecoveryPhase: "phase",
    GuidanceItem: "item",
    RestrictionRule: "restriction",
    ReminderMoment: "reminder",
}


def _preview_context(
    plan: Plan | None, *, changed_part: str = "", changed_key: str = ""
) -> dict[str, object]:
    """The plan in full for admin/aftercare/_plan_full.html, the edited row marked.

    Day by day lists what starts each day, in full; items starting after the daily days
    are listed as "Later". `change_shown` is False when the edited row is not in this
    sample plan (its conditions leave it out, or it is switched off).
    """
    if plan is None:
        return {"plan": None}
    context = plan_context(plan)
    last_day = plan.days[-1].number if plan.days else -1
    keys = {
        "phase": {phase.key for phase in plan.phases},
        "item": {item.key for item in (*plan.items, *plan.warnings)},
        "restriction": {restriction.key for restriction in plan.restrictions},
        "reminder": {reminder.key for reminder in plan.reminders},
    }
    context.update(
        later_items=[
            item
            for item in plan.items
            if item.kind != "warning" and plan.day_number_at(item.starts_at) > last_day
        ],
        changed_part=changed_part,
        changed_key=changed_key,
        change_shown=changed_key in keys.get(changed_part, set()),
    )
    return context


class ClinicGuidanceAdmin(ClinicScopedAdmin):
    """A clinic's own guidance rows, compared with the shipped default.

    The list says of each row whether it is as shipped, changed by the clinic or added
    by it; the change form lists the fields that differ and has "Reset to the shipped
    default" (also an action). Rows that came from the default are switched off, not
    deleted, so `guidance_update` never brings them back (aftercare.guidance.clinic).
    """

    change_form_template = "admin/aftercare/guidance_change_form.html"
    actions = ["reset_to_default"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        clinic = clinic_of(request)
        if clinic is not None:
            guidance_install(clinic=clinic)
        return super().get_queryset(request)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = [*super().get_list_display(request), "compared_with_default"]
        return [*columns, "clinic"] if sees_every_clinic(request) else columns

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "differences"] if obj is not None else readonly

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        # Declared fieldsets leave read-only fields out unless they name them.
        if self.fieldsets and obj is not None:
            fieldsets.append(("Compared with the shipped default", {"fields": ["differences"]}))
        return fieldsets

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Deleting goes one row at a time, where has_delete_permission sees the row.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(
        self, request: HttpRequest, obj: ClinicGuidanceRow | None = None
    ) -> bool:
        if obj is not None and obj.default_key:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="Compared with the shipped default")
    def compared_with_default(self, obj: ClinicGuidanceRow) -> str:
        differences = row_differences(obj)
        if differences is None:
            return "Added by the clinic" if not obj.default_key else "No longer shipped"
        return "Changed by the clinic" if differences else "As shipped"

    @admin.display(description="Differences from the shipped default")
    def differences(self, obj: ClinicGuidanceRow) -> str:
        differences = row_differences(obj)
        if differences is None:
            return self.compared_with_default(obj)
        if not differences:
            return "None: this is the shipped default."
        return format_html(
            "<table><tr><th>Field</th><th>This clinic</th><th>Shipped default</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (_field_label(obj, d.field), _shown(d.clinic_value), _shown(d.default_value))
                    for d in differences
                ),
            ),
        )

    @admin.action(description="Reset the selected rows to the shipped default")
    def reset_to_default(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        rows = [row for row in queryset if row_default(row) is not None]
        for row in rows:
            row_reset(row=row)
        skipped = queryset.count() - len(rows)
        message = f"{len(rows)} row(s) reset to the shipped default."
        if skipped:
            message += f" {skipped} row(s) added by the clinic have no default and were left."
        self.message_user(request, message)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and "_reset" in request.POST and object_id:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and self.has_change_permission(request, obj):
                if row_default(obj) is not None:
                    row_reset(row=obj)
                    self.message_user(request, f"“{obj}” is the shipped default again.")
                return HttpResponseRedirect(request.path)
        return super().changeform_view(request, object_id, form_url, extra_context)


def _field_label(obj: Model, name: str) -> str:
    field = obj._meta.get_field(name)
    assert isinstance(field, Field)  # row_differences names the row's own columns
    return str(field.verbose_name).capitalize()


def _shown(value: object) -> str:
    if value in (None, "", []):
        return "—"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _request_guidance(request: HttpRequest) -> Guidance:
    """The guidance previews use: the staff member's clinic's, or the shipped default."""
    clinic = clinic_of(request)
    return guidance_for_clinic(clinic) if clinic is not None else DEFAULT_GUIDANCE


class GuidanceAdmin(ClinicGuidanceAdmin):
    """Shared by the guidance tables: fact ids as text, and "Preview" before saving.

    Pressing "Preview" on a change form shows the plan the clinic's guidance would
    give with the unsaved edit applied, for sample treatment facts; nothing is saved
    until the admin presses "Save these changes" on that page.
    """

    formfield_overrides = {FactIdsField: {"form_class": FactIdsFormField}}
    # Each table's admin says how its row becomes the planner's value.
    row_converter: Callable[[Any], guidance_rows.PreviewRow]

    @admin.display(description="Fact ids")
    def facts(self, obj: Any) -> str:
        return ", ".join(obj.fact_ids)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and "_preview" in request.POST:
            response = self._preview_unsaved(request, object_id)
            if response is not None:
                return response
        # The template offers "Preview the plan with these changes" on these tables only.
        extra_context = {**(extra_context or {}), "can_preview": True}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview_unsaved(self, request: HttpRequest, object_id: str | None) -> HttpResponse | None:
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        allowed = (
            self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        )
        if not allowed:
            return None
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
        if not form.is_valid():
            return None  # the normal change view shows the errors (and saves nothing)
        instance = form.save(commit=False)
        pending = guidance_with(
            guidance_for_clinic(instance.clinic),
            row=type(self).row_converter(instance),
            replacing=obj.key if obj else None,
            active=getattr(instance, "is_active", True),
        )
        sample = _sample_form(request.POST if "_sample" in request.POST else None, "sample")
        plan = _preview_plan(sample, pending)
        part = PLAN_PART[self.model]
        kept = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in {"csrfmiddlewaretoken", "_preview", "_sample"}
            and not name.startswith("sample-")
            for value in values
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {instance}",
            "opts": self.model._meta,
            "sample_form": sample,
            "pending_fields": kept,
            "changed_row": instance,
            **_preview_context(plan, changed_part=part, changed_key=instance.key),
        }
        return TemplateResponse(request, "admin/aftercare/preview_unsaved.html", context)


@admin.register(RecoveryPhase)
class RecoveryPhaseAdmin(GuidanceAdmin):
    list_display = ["name", "key", "starts_after_hours", "ends_after_hours", "facts"]
    search_fields = ["name", "summary", "key"]
    row_converter = staticmethod(guidance_rows.phase_from_row)


@admin.register(GuidanceItem)
class GuidanceItemAdmin(GuidanceAdmin):
    form = GuidanceItemAdminForm
    list_display = [
        "title",
        "kind",
        "starts_after_hours",
        "ends_after_hours",
        "conditions",
        "facts",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["title", "body", "key"]
    row_converter = staticmethod(guidance_rows.item_from_row)
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "clinic",
                    "key",
                    "kind",
                    "title",
                    "body",
                    "fact_ids",
                    "order",
                    "is_active",
                ]
            },
        ),
        (
            "Timing (hours after the treatment)",
            {"fields": ["starts_after_hours", "ends_after_hours", "after_restriction"]},
        ),
        (
            "Applies when (empty means any)",
            {
                "fields": [
                    ("min_depth_mm", "max_depth_mm"),
                    ("min_passes", "max_passes"),
                    "min_intensity",
                    "areas",
                    "devices",
                    "skin_types",
                    ("min_age", "max_age"),
                    "history",
                    "seasons",
                ]
            },
        ),
    ]

    @admin.display(description="Applies when")
    def conditions(self, obj: GuidanceItem) -> str:
        parts = []
        if obj.min_depth_mm is not None or obj.max_depth_mm is not None:
            parts.append(f"depth {obj.min_depth_mm or '…'}–{obj.max_depth_mm or '…'} mm")
        if obj.min_passes is not None or obj.max_passes is not None:
            parts.append(f"passes {obj.min_passes or '…'}–{obj.max_passes or '…'}")
        if obj.min_intensity:
            parts.append(f"intensity ≥ {obj.get_min_intensity_display()}")
        for label, values in [
            ("areas", obj.areas),
            ("devices", obj.devices),
            ("skin types", obj.skin_types),
            ("history", obj.history),
            ("seasons", obj.seasons),
        ]:
            if values:
                parts.append(f"{label}: {', '.join(map(str, values))}")
        if obj.min_age is not None or obj.max_age is not None:
            parts.append(f"age {obj.min_age or '…'}–{obj.max_age or '…'}")
        return "; ".join(parts) or "always"


@admin.register(RestrictionRule)
class RestrictionRuleAdmin(GuidanceAdmin):
    list_display = [
        "label",
        "hours_light",
        "hours_moderate",
        "hours_intense",
        "hours_per_point",
        "areas_shown",
        "order",
        "facts",
        "is_active",
    ]
    list_editable = ["order", "is_active"]
    search_fields = ["label", "body", "key"]
    form = RestrictionRuleAdminForm
    row_converter = staticmethod(guidance_rows.restriction_from_row)
    fieldsets = [
        (None, {"fields": ["clinic", "key", "label", "body", "fact_ids", "order", "is_active"]}),
        (
            "How long (hours after the treatment)",
            {"fields": [("hours_light", "hours_moderate", "hours_intense"), "hours_per_point"]},
        ),
        ("Applies when (empty means any)", {"fields": ["areas"]}),
    ]

    @admin.display(description="Areas")
    def areas_shown(self, obj: RestrictionRule) -> str:
        return ", ".join(obj.areas) or "any"


@admin.register(ReminderMoment)
class ReminderMomentAdmin(GuidanceAdmin):
    list_display = ["label", "offset_days", "min_intensity", "facts", "is_active"]
    list_filter = ["min_intensity", "is_active"]
    search_fields = ["label", "summary", "key"]
    row_converter = staticmethod(guidance_rows.reminder_from_row)


@admin.register(IntensityFactor)
class IntensityFactorAdmin(ClinicGuidanceAdmin):
    list_display = ["factor", "threshold", "value", "points", "note"]
    list_filter = ["factor"]
    list_editable = ["points"]


@admin.register(IntensityLevel)
class IntensityLevelAdmin(ClinicGuidanceAdmin):
    list_display = ["rank", "label", "min_score", "downtime_hours"]
    change_list_template = "admin/aftercare/intensity_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("preview/", preview, name="aftercare_plan_preview"), *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        form = _sample_form(request.GET or None)
        plan = _preview_plan(form, _request_guidance(request))
        context = {
            **self.admin_site.each_context(request),
            "title": "Preview a plan",
            "opts": self.model._meta,
            "form": form,
            **_preview_context(plan),
        }
        return TemplateResponse(request, "admin/aftercare/preview.html", context)


@admin.register(GuidanceSnapshot)
class GuidanceSnapshotAdmin(admin.ModelAdmin[GuidanceSnapshot]):
    list_display = ["fingerprint", "created_at"]
    readonly_fields = ["fingerprint", "created_at", "pretty_data"]
    exclude = ["data"]

    @admin.display(description="Guidance")
    def pretty_data(self, obj: GuidanceSnapshot) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, ensure_ascii=False))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AftercarePlan)
class AftercarePlanAdmin(ClinicScopedAdmin):
    clinic_lookup = "treatment__clinic"
    list_display = ["__str__", "intensity", "created_at", "created_by", "superseded_at"]
    list_filter = ["intensity", "created_at"]
    search_fields = ["treatment__patient__last_name", "treatment__patient__email"]
    list_select_related = ["treatment", "created_by"]
    readonly_fields = [
        "treatment_link",
        "revision",
        "intensity",
        "guidance",
        "created_at",
        "created_by",
        "superseded_at",
        "superseded_by",
        "pretty_content",
    ]
    exclude = ["content", "treatment"]

    @admin.display(description="Treatment")
    def treatment_link(self, obj: AftercarePlan) -> str:
        url = reverse("patients:treatment_detail", args=[obj.treatment_id])
        return format_html('<a href="{}">Treatment #{}</a>', url, obj.treatment_id)

    @admin.display(description="Content shown")
    def pretty_content(self, obj: AftercarePlan) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.content, indent=2, ensure_ascii=False))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DeliveryEventInline(admin.TabularInline[DeliveryEvent, SentMessage]):
    model = DeliveryEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("occurred_at", "event_type", "provider", "detail", "received_at")

    def has_add_permission(self, request: HttpRequest, obj: SentMessage | None = None) -> bool:
        return False


class SentMessageInline(admin.TabularInline[SentMessage, Reminder]):
    model = SentMessage
    extra = 0
    can_delete = False
    fields = readonly_fields = ("sent_at", "to", "subject", "message_id", "provider_message_id")
    show_change_link = True


@admin.register(Reminder)
class ReminderAdmin(ClinicScopedAdmin):
    clinic_lookup = "patient__clinic"
    list_display = [
        "label",
        "patient",
        "channel",
        "due_at",
        "status",
        "delivery_status",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = ["channel", "status", "delivery_status", "kind", "due_at"]
    search_fields = ["patient__last_name", "patient__email", "message_id"]
    list_select_related = ["patient"]
    date_hierarchy = "due_at"
    actions = ["resend_failed"]
    inlines = [SentMessageInline]
    readonly_fields = [
        "plan",
        "patient",
        "kind",
        "channel",
        "label",
        "covers",
        "day_number",
        "due_at",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_token",
        "last_error",
        "sent_at",
        "cancelled_reason",
        "message_id",
        "delivery_status",
        "delivery_status_at",
        "created_at",
    ]

    @admin.action(description="Send the selected failed reminders again")
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[Reminder]) -> None:
        resent = sum(reminder_resend(reminder=reminder) for reminder in queryset)
        self.message_user(request, f"{resent} failed reminder(s) queued again.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SentMessage)
class SentMessageAdmin(ClinicScopedAdmin):
    clinic_lookup = "reminder__patient__clinic"
    list_display = ["sent_at", "to", "subject", "message_id"]
    search_fields = ["to", "message_id"]
    date_hierarchy = "sent_at"
    readonly_fields = [
        "reminder",
        "message_id",
        "provider_message_id",
        "to",
        "subject",
        "text_body",
        "html_body",
        "headers",
        "sent_at",
    ]
    inlines = [DeliveryEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PatientLink)
class PatientLinkAdmin(ClinicScopedAdmin):
    clinic_lookup = "plan__treatment__clinic"
    list_display = ["plan", "created_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    exclude = ["salt", "token_hash"]
    readonly_fields = ["plan", "created_at", "expires_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ConcernReport)
class ConcernReportAdmin(ClinicScopedAdmin):
    clinic_lookup = "clinic"
    list_display = ["created_at", "patient", "clinic", "is_red_flag", "handled_at"]
    list_filter = ["is_red_flag", "clinic", ("handled_at", admin.EmptyFieldListFilter)]
    search_fields = ["patient__last_name", "patient__email"]
    list_select_related = ["patient", "clinic"]
    readonly_fields = [
        "plan",
        "patient",
        "clinic",
        "symptoms",
        "details",
        "photo",
        "is_red_flag",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PlanAdjustment)
class PlanAdjustmentAdmin(ClinicScopedAdmin):
    """The record of practitioners' changes: read only, made from the treatment page."""

    clinic_lookup = "treatment__clinic"
    list_display = ["created_at", "treatment", "kind", "describe", "created_by", "dropped_at"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["treatment__patient", "created_by"]
    search_fields = ["treatment__patient__last_name", "treatment__patient__email"]
    readonly_fields = [field.name for field in PlanAdjustment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(ClinicScopedAdmin):
    clinic_lookup = "patient__clinic"
    list_display = ["patient", "sessions", "min_interval_weeks", "max_interval_weeks", "starts_on"]
    list_filter = ["ended_at"]
    list_select_related = ["patient"]
    search_fields = ["patient__last_name", "patient__email"]
    readonly_fields = [field.name for field in TreatmentCourse._meta.fields]

    # Started and ended from the patient page, which also updates the current plan.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
