"""The audit trail of patients' clinical records, kept by django-auditlog.

Creating and changing the audited models is logged by auditlog's own receivers
(registered below); views call `patient_record_viewed` when they show or export a
record. Entries are read in the admin (Audit log entries), where nobody can edit them.
"""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.http import HttpRequest

from clinic.client_ip import client_ip

# Fields that change on every save and say nothing about who did what.
_NOISE = ["updated_at", "created_at"]


def register_audited_models() -> None:
    from aftercare.models import AftercarePlan, ConcernReport
    from patients.models import ConsentChange, Patient, Treatment

    auditlog.register(Patient, exclude_fields=_NOISE)
    auditlog.register(Treatment, exclude_fields=_NOISE)
    auditlog.register(ConsentChange)
    # The plan's content is the planner's JSON, stored whole on the plan itself.
    auditlog.register(AftercarePlan, exclude_fields=["content"])
    auditlog.register(ConcernReport, exclude_fields=["photo"])


def patient_record_viewed(*, patient: object, page: str) -> None:
    """Log that the current user (set by the middleware) saw the patient's record."""
    LogEntry.objects.log_create(
        patient,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        changes=None,
        additional_data={"page": page},
    )


# django-auditlog has no type hints: its middleware is Any to mypy.
class ClientAddressAuditlogMiddleware(AuditlogMiddleware):  # type: ignore[misc]
    """auditlog's middleware, taking the client's address the way the rest of the site
    does (TRUSTED_PROXY_COUNT), not from a forgeable first X-Forwarded-For entry."""

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return client_ip(request)
