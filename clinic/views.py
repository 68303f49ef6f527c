from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinic.access import staff_required
from clinic.dashboard import EARLY_RECOVERY, dashboard_for


@staff_required(perms=["patients.view_patient"])
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    board = dashboard_for(clinic=request.membership.clinic, now=now)
    return render(
        request,
        "clinic/dashboard.html",
        {"board": board, "now": now, "early_hours": int(EARLY_RECOVERY.total_seconds() // 3600)},
    )
