"""Pages a patient opens from the link in their email. No login: the token is the key."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from aftercare.display import plan_context
from aftercare.links import link_for_token
from aftercare.planning import plan_from_dict
from aftercare.reminders import reminders_stop_for_patient

PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def private_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Patient pages are never cached, indexed or leaked through the Referer header."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = view(request, *args, **kwargs)
        for header, value in PRIVATE_HEADERS.items():
            response[header] = value
        return response

    return wrapper


def _link_not_found(request: HttpRequest) -> HttpResponse:
    # The same page for wrong, expired and revoked links: it says nothing about
    # whether the link ever belonged to anyone.
    return render(request, "patient/link_not_found.html", status=404)


@private_page
def plan_page(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    link = link_for_token(token, now=now)
    if link is None:
        return _link_not_found(request)
    plan = plan_from_dict(link.plan.content)
    context = plan_context(plan)
    context.update(
        {
            "clinic": link.plan.treatment.clinic,
            "patient": link.plan.treatment.patient,
            "day_number": plan.day_number_at(now),
            "today_items": [item for item in plan.items_active_at(now) if item.kind != "warning"],
            "phase": plan.phase_at(now),
            "active_restrictions": plan.restrictions_active_at(now),
            "token": token,
        }
    )
    return render(request, "patient/plan.html", context)


@private_page
@csrf_exempt  # RFC 8058: mail providers POST here with no cookies and no CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    link = link_for_token(token, now=timezone.now())
    if link is None:
        return _link_not_found(request)
    patient = link.plan.treatment.patient
    clinic = link.plan.treatment.clinic
    if request.method == "POST":
        reminders_stop_for_patient(patient=patient, reason="unsubscribed")
        return render(request, "patient/unsubscribed.html", {"clinic": clinic})
    return render(request, "patient/unsubscribe_confirm.html", {"clinic": clinic, "token": token})
