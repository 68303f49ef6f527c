"""Pages a patient opens from the link in their email. No login: the link is the key.

The emailed URL carries the token once: it is checked, the link is remembered
in the session, and the browser is sent on to token-free pages (as Django's
PasswordResetConfirmView does), so the token does not linger in history,
Referer headers or access logs. That session is the patient pages' own, on a
cookie staff pages never see (aftercare.portal.session).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import cast

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from aftercare.concerns.forms import ConcernReportForm
from aftercare.concerns.services import (
    concern_expected_symptoms,
    concern_report_create,
    hours_since_treatment,
)
from aftercare.delivery.channel_choice import (
    CHANNEL_PROBLEMS,
    NO_PHONE,
    TEXTS_OFF,
    ChannelUnavailable,
    channel_problem,
    channels_choosable,
    reminder_channels_choose,
)
from aftercare.delivery.reminders import (
    links_send_on_request,
    reminder_channels,
    reminders_resume_for_patient,
    reminders_stop_for_patient,
)
from aftercare.links import (
    link_for_token,
    link_for_token_any_state,
    patient_id_for_unsubscribe_token,
)
from aftercare.models import ConcernReport, PatientLink, Reminder
from aftercare.planner.planning import Plan
from aftercare.planner.today import (
    POINTS_ON_A_PAGE,
    day_label,
    today_items,
    wait_list,
)
from aftercare.plans.calendar import plan_calendar
from aftercare.plans.display import KIND_TAGS, grouped_by_kind, plan_context, plan_milestones
from aftercare.plans.visits import followed_plan
from aftercare.portal import ratelimit
from aftercare.portal.forms import (
    CHOICE_WORDS,
    NewLinkForm,
    ReminderChannelsForm,
    choice_for,
    masked_email,
    masked_phone,
)
from aftercare.portal.session import FORM_SESSION_KEY, LINK_SESSION_KEY, REPORT_SESSION_KEY
from clinic.contacts import who_to_call
from clinic.models import Clinic
from patients.models import Channel, ConsentSource, Patient

SESSION_KEY = LINK_SESSION_KEY
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
PatientView = Callable[..., HttpResponse]


def private_page(view: PatientView) -> PatientView:
    """Patient pages are never cached, indexed or leaked through the Referer header."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = view(request, *args, **kwargs)
        for header, value in PRIVATE_HEADERS.items():
            response[header] = value
        return response

    return wrapper


def _link_not_found(
    request: HttpRequest, clinic_slug: str, status: int = 404, *, no_session: bool = False
) -> HttpResponse:
    # The same page for wrong, expired and revoked links: it says nothing about
    # whether the link ever belonged to anyone. The clinic is public knowledge.
    # `no_session`: a token-free page (a bookmark, a new browser) opened without the
    # session an emailed link starts; it explains how to open the plan instead.
    clinic = Clinic.objects.filter(slug=clinic_slug).only("name", "phone", "slug").first()
    template = "patient/too_many_attempts.html" if status == 429 else "patient/link_not_found.html"
    return render(request, template, {"clinic": clinic, "no_session": no_session}, status=status)


def _bad_link(request: HttpRequest, clinic_slug: str) -> HttpResponse:
    # Only bad tokens are counted and refused, after the token was checked: patients
    # behind one clinic Wi-Fi or a carrier's NAT share an address with whoever mistypes
    # or guesses there, and their valid links must still open. (Tokens carry 256 bits:
    # guessing one is hopeless with or without the limit.)
    if ratelimit.is_blocked(request):
        return _link_not_found(request, clinic_slug, status=429)
    ratelimit.record_failure(request)
    return _link_not_found(request, clinic_slug)


def _valid_link(token: str, clinic_slug: str) -> PatientLink | None:
    link = link_for_token(token, now=timezone.now())
    if link is None or link.plan.treatment.clinic.slug != clinic_slug:
        return None
    return link


def form_token(request: HttpRequest) -> str:
    """A per-session secret the patient forms carry, in place of Django's CSRF check.

    With Referrer-Policy: no-referrer, browsers send "Origin: null" on form posts,
    which Django's CSRF middleware always refuses. This token (bound to the
    session, which a cross-site page can neither read nor, with SameSite=Lax,
    send on a POST) gives the same protection.
    """
    return form_token_for_session(request.session.session_key or "")


def form_token_for_session(session_key: str) -> str:
    return salted_hmac("patient-form", session_key).hexdigest()


def patient_page(view: PatientView) -> PatientView:
    """Token-free patient pages: the link comes from the session, checked every time.

    POSTs must carry `form_token`; the view is exempt from Django's CSRF check.
    """

    @csrf_exempt
    @private_page
    @wraps(view)
    def wrapper(request: HttpRequest, clinic_slug: str, *args: object) -> HttpResponse:
        link_id = request.session.get(SESSION_KEY)
        link = None
        if link_id is not None:
            link = (
                PatientLink.objects.usable(timezone.now())
                .select_related("plan__treatment__clinic")
                .filter(pk=link_id, plan__treatment__clinic__slug=clinic_slug)
                .first()
            )
        if link is None:
            return _link_not_found(request, clinic_slug, no_session=True)
        if link.plan.superseded_by_id is not None:
            # A newer revision of this visit's plan (an adjustment, a second treatment
            # that day) is what the patient must see, from any link to the visit.
            link.plan = followed_plan(link.plan)
        if request.method == "POST" and not constant_time_compare(
            request.POST.get("form_token", ""), form_token(request)
        ):
            context = {"clinic": link.plan.treatment.clinic}
            return render(request, "patient/form_expired.html", context, status=403)
        return view(request, link, *args)

    return wrapper


def _page_context(
    request: HttpRequest, link: PatientLink, plan: Plan, current: str
) -> dict[str, object]:
    now = timezone.now()
    phase = plan.phase_at(now)
    clinic = link.plan.treatment.clinic
    return {
        "current": current,
        "form_token": form_token(request),
        "clinic": clinic,
        "who_to_call": who_to_call(clinic=clinic, at=now),
        "stored_plan": link.plan,
        "plan": plan,
        "now": now,
        "day_number": plan.day_number_at(now),
        "phase": phase,
        "phase_key_today": phase.key if phase else "",
        "active_restrictions": plan.restrictions_active_at(now),
        "warnings": plan.warnings_active_at(now),
    }


@private_page
@require_http_methods(["GET"])
def open_link(request: HttpRequest, clinic_slug: str, token: str) -> HttpResponse:
    link = _valid_link(token, clinic_slug)
    if link is None:
        return _bad_link(request, clinic_slug)
    request.session.cycle_key()
    request.session[SESSION_KEY] = link.pk
    request.session.set_expiry(link.expires_at)
    return redirect("patient:today", clinic_slug=clinic_slug)


@patient_page
def today(request: HttpRequest, link: PatientLink) -> HttpResponse:
    plan = link.plan.content_plan
    context = _page_context(request, link, plan, "today")
    now = cast(datetime, context["now"])
    # One place for each thing: the first few items as points, the rest one tap away,
    # and restrictions only in their own list (aftercare.planner.today).
    items = today_items(plan, now)
    points, more = items[:POINTS_ON_A_PAGE], items[POINTS_ON_A_PAGE:]
    context.update(
        {
            "day_label": day_label(plan.day_number_at(now)),
            "points": [(KIND_TAGS[item.kind], item) for item in points],
            "more_groups": grouped_by_kind(more),
            "more_count": len(more),
            "wait": wait_list(plan, now),
        }
    )
    return render(request, "patient/today.html", context)


@patient_page
def timeline(request: HttpRequest, link: PatientLink) -> HttpResponse:
    plan = link.plan.content_plan
    context = _page_context(request, link, plan, "timeline")
    context.update(plan_context(plan))
    context["milestones"] = plan_milestones(plan)
    return render(request, "patient/timeline.html", context)


@patient_page
def warning_signs(request: HttpRequest, link: PatientLink) -> HttpResponse:
    context = _page_context(request, link, link.plan.content_plan, "warning_signs")
    return render(request, "patient/warning_signs.html", context)


@patient_page
def calendar_file(request: HttpRequest, link: PatientLink) -> HttpResponse:
    body = plan_calendar(
        link.plan.content_plan,
        visit_id=link.plan.treatment_id,
        domain=settings.MESSAGE_ID_DOMAIN,
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="aftercare.ics"'
    return response


@patient_page
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, link: PatientLink) -> HttpResponse:
    patient = link.plan.treatment.patient
    return _unsubscribe_patient(
        request, patient, link.plan.treatment.clinic, form_token=form_token(request)
    )


@private_page
@csrf_exempt  # RFC 8058: mail providers POST here with no cookies and no CSRF token
@require_http_methods(["GET", "POST"])
def list_unsubscribe(request: HttpRequest, clinic_slug: str, token: str) -> HttpResponse:
    """The List-Unsubscribe URL: GET shows a confirm page, POST acts (idempotent).

    Its token is signed for the patient (aftercare.links), not looked up as a plan
    link: it works for as long as the patient exists, whatever became of the links.
    """
    patient_id = patient_id_for_unsubscribe_token(token)
    patient = None
    if patient_id is not None:
        patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first()
    if patient is None or patient.clinic.slug != clinic_slug:
        return _bad_link(request, clinic_slug)
    return _unsubscribe_patient(request, patient, patient.clinic)


@private_page
@csrf_exempt  # RFC 8058: mail providers POST here with no cookies and no CSRF token
@require_http_methods(["GET", "POST"])
def one_click_unsubscribe(request: HttpRequest, clinic_slug: str, token: str) -> HttpResponse:
    """The List-Unsubscribe URL of emails sent before list_unsubscribe existed.

    The link's token only identifies the patient here: it unsubscribes them even
    once the link has expired or been revoked.
    """
    link = link_for_token_any_state(token)
    if link is None or link.plan.treatment.clinic.slug != clinic_slug:
        return _bad_link(request, clinic_slug)
    treatment = link.plan.treatment
    return _unsubscribe_patient(request, treatment.patient, treatment.clinic)


# What the unsubscribe pages' own forms post as `action`. A POST without one is a mail
# provider's one-click unsubscribe (RFC 8058: the body "List-Unsubscribe=One-Click", no
# redirect followed), or the in-session form of a page opened before `action` existed.
STOP, RESUME = "stop", "resume"
# The page after a form's POST (post/redirect/get) says what just happened.
DONE_STOPPED, DONE_RESUMED = "stopped", "resumed"


def _unsubscribe_patient(
    request: HttpRequest, patient: Patient, clinic: Clinic, *, form_token: str = ""
) -> HttpResponse:
    """Stop or start again a patient's reminders, from a session (`form_token` set, the
    patient_page wrapper checked it) or from an emailed unsubscribe URL (the token in it
    is the key, as the provider's one-click POST has nothing else)."""
    in_session = bool(form_token)
    context: dict[str, object] = {
        "clinic": clinic,
        "form_token": form_token,
        "in_session": in_session,
    }
    # The unsubscribe link of an email stops emails only: the pages say when texts go on.
    context["texts_carry_on"] = Channel.TEXT in reminder_channels(patient)
    if patient.erased_at is not None:
        # Nothing left to stop (erasure cancelled it all), and nothing to change.
        return render(request, "patient/unsubscribed.html", {**context, "erased": True})
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == RESUME:
            reminders_resume_for_patient(
                patient=patient, source=ConsentSource.PATIENT_RESUMED, now=timezone.now()
            )
            return _after_unsubscribe_form(request, DONE_RESUMED)
        reminders_stop_for_patient(
            patient=patient, reason="unsubscribed", channels=(Channel.EMAIL,)
        )
        if action == STOP or in_session:
            return _after_unsubscribe_form(request, DONE_STOPPED)
        return render(request, "patient/unsubscribed.html", {**context, "just_now": True})
    done = request.GET.get("done", "")
    if not patient.email_consent:
        context.update(just_now=done == DONE_STOPPED, can_resume=bool(patient.email))
        return render(request, "patient/unsubscribed.html", context)
    if done == DONE_RESUMED:
        context["next_reminder"] = (
            Reminder.objects.filter(patient=patient, channel=Channel.EMAIL)
            .waiting()
            .order_by("due_at", "id")
            .first()
        )
        context["email_problem"] = patient.email_undeliverable
        return render(request, "patient/reminders_resumed.html", context)
    return render(request, "patient/unsubscribe_confirm.html", context)


def _after_unsubscribe_form(request: HttpRequest, done: str) -> HttpResponse:
    # Back to the same address, by GET: a refresh of the page after shows it again
    # rather than posting the form twice. `done` only picks the page's words.
    return redirect(f"{request.path}?done={done}")


@patient_page
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, link: PatientLink) -> HttpResponse:
    plan = link.plan.content_plan
    context = _page_context(request, link, plan, "report")
    now = cast(datetime, context["now"])
    hours = hours_since_treatment(plan=link.plan, moment=now)
    form = ConcernReportForm(
        request.POST or None, request.FILES or None, hours_since_treatment=hours
    )
    if request.method == "POST" and form.is_valid():
        concern = concern_report_create(
            link=link,
            symptoms=form.cleaned_data["symptoms"],
            details=form.cleaned_data["details"].strip(),
            photo=form.cleaned_data["photo"],
            now=now,
        )
        # The thank-you page is a GET of its own: refreshing it never sends the report
        # again. The session (server-side) says which report it is about.
        request.session[REPORT_SESSION_KEY] = concern.pk
        return redirect("patient:report_sent", clinic_slug=link.plan.treatment.clinic.slug)
    context["form"] = form
    return render(request, "patient/report.html", context)


@patient_page
@require_http_methods(["GET"])
def report_sent(request: HttpRequest, link: PatientLink) -> HttpResponse:
    """What to do now about the report this session sent last: call 999, call the clinic,
    or this is expected."""
    report_id = request.session.get(REPORT_SESSION_KEY)
    concern = None
    if report_id is not None:
        concern = (
            ConcernReport.objects.select_related("plan")
            .filter(pk=report_id, patient_id=link.plan.treatment.patient_id)
            .first()
        )
    if concern is None:
        return redirect("patient:report", clinic_slug=link.plan.treatment.clinic.slug)
    plan = link.plan.content_plan
    context = _page_context(request, link, plan, "report")
    context["concern"] = concern
    context["expected"] = concern_expected_symptoms(report=concern)
    context["normal_now"] = [
        item for item in plan.items_active_at(concern.created_at) if item.kind == "expect"
    ]
    return render(request, "patient/report_sent.html", context)


@patient_page
@require_http_methods(["GET", "POST"])
def how_we_remind(request: HttpRequest, link: PatientLink) -> HttpResponse:
    """The patient picks email, text or both for their reminders (issue #19)."""
    patient = link.plan.treatment.patient
    current = choice_for(reminder_channels(patient))
    form = ReminderChannelsForm(
        request.POST if request.method == "POST" else None,
        choosable=channels_choosable(patient),
        initial={"choice": current},
    )
    if request.method == "POST" and form.is_valid():
        try:
            reminder_channels_choose(
                patient=patient, channels=form.cleaned_data["choice"], now=timezone.now()
            )
        except ChannelUnavailable as refused:
            # Something changed since the page was shown (the number was found wrong).
            form.add_error("choice", forms.ValidationError(refused.message, code=refused.code))
        else:
            # Post/redirect/get: a refresh shows the page again rather than posting twice.
            page = reverse("patient:how_we_remind", args=[link.plan.treatment.clinic.slug])
            return redirect(f"{page}?saved=1")
    context = _page_context(request, link, link.plan.content_plan, "how_we_remind")
    text_problem = channel_problem(patient, Channel.TEXT)
    context.update(
        {
            "form": form,
            "saved": request.method == "GET" and request.GET.get("saved") == "1",
            "by_words": CHOICE_WORDS.get(current, ""),
            "email_shown": masked_email(patient.email) if patient.email else "",
            "phone_shown": masked_phone(patient.phone) if patient.phone else "",
            "email_problem": CHANNEL_PROBLEMS.get(channel_problem(patient, Channel.EMAIL), ""),
            "text_problem": (
                ""
                if text_problem in (NO_PHONE, TEXTS_OFF)
                else CHANNEL_PROBLEMS.get(text_problem, "")
            ),
            "ask_for_phone": text_problem == NO_PHONE,
            "texts_on": text_problem != TEXTS_OFF,
        }
    )
    return render(request, "patient/how_we_remind.html", context)


# "Email me a new link": for a patient whose page has no session (a bookmark, a new browser)


def _form_session(request: HttpRequest) -> None:
    """Give the session a key, so form_token() is bound to this browser, as on other forms."""
    if not request.session.get(FORM_SESSION_KEY):  # loads the session, if the cookie has one
        request.session[FORM_SESSION_KEY] = True
    if request.session.session_key is None:
        request.session.save()


@private_page
@csrf_exempt  # checked with form_token instead: see form_token()
@require_http_methods(["GET", "POST"])
def new_link(request: HttpRequest, clinic_slug: str) -> HttpResponse:
    """Ask for a new link by email. It goes only to the address the clinic has, and the
    answer is the same whether or not the address typed is a patient's."""
    clinic = Clinic.objects.filter(slug=clinic_slug).first()
    if clinic is None:
        return _link_not_found(request, clinic_slug)
    _form_session(request)
    context: dict[str, object] = {"clinic": clinic}
    if request.method == "POST":
        if not constant_time_compare(request.POST.get("form_token", ""), form_token(request)):
            return render(request, "patient/form_expired.html", context, status=403)
        if not ratelimit.new_link_client_allowed(request):
            context["asked_for_links"] = True
            return render(request, "patient/too_many_attempts.html", context, status=429)
    form = NewLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if ratelimit.new_link_email_allowed(email):
            links_send_on_request(clinic=clinic, email=email, now=timezone.now())
        # Over the limit for this address, nothing more is sent, and the answer is the same.
        return redirect("patient:new_link_sent", clinic_slug=clinic.slug)
    context.update(form=form, form_token=form_token(request))
    return render(request, "patient/new_link.html", context)


@private_page
@require_http_methods(["GET"])
def new_link_sent(request: HttpRequest, clinic_slug: str) -> HttpResponse:
    clinic = Clinic.objects.filter(slug=clinic_slug).first()
    if clinic is None:
        return _link_not_found(request, clinic_slug)
    return render(request, "patient/new_link_sent.html", {"clinic": clinic})
