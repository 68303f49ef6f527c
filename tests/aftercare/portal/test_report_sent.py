"""The report's thank-you page (aftercare.portal.views.report and report_sent):
post/redirect/get, so refreshing it never sends the report twice.

The report form's POST answers with a redirect; the thank-you page is a GET that reads
which report it is about from the session, and says what it said before: call the
emergency number, call the clinic, or this is expected.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, ConcernReport
from aftercare.plans.services import plan_create
from aftercare.portal.session import PATIENT_COOKIE_NAME, REPORT_SESSION_KEY
from aftercare.portal.views import form_token_for_session
from tests.factories import ClinicFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TREATED = datetime(2026, 5, 12, 14, 30, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock():
    with time_machine.travel(TREATED + timedelta(days=3), tick=False) as traveller:
        yield traveller


def _plan(clinic=None) -> AftercarePlan:
    treatment = TreatmentFactory(patient__clinic=clinic or ClinicFactory(), performed_at=TREATED)
    return plan_create(treatment=treatment, now=timezone.now())


def _url(plan: AftercarePlan, name: str) -> str:
    return reverse(f"patient:{name}", args=[plan.treatment.clinic.slug])


def _signed_in(plan: AftercarePlan) -> Client:
    client = Client()
    token = token_for(link_current(plan=plan, now=timezone.now()))
    assert client.get(reverse("patient:open", args=[plan.treatment.clinic.slug, token])).status_code
    return client


def _session(client: Client) -> SessionStore:
    return SessionStore(client.cookies[PATIENT_COOKIE_NAME].value)


def _send(client: Client, plan: AftercarePlan, symptoms: list[str]):
    token = form_token_for_session(_session(client).session_key)
    return client.post(_url(plan, "report"), {"symptoms": symptoms, "form_token": token})


def test_the_report_post_answers_with_a_redirect_to_the_thank_you_page(clock):
    plan = _plan()
    client = _signed_in(plan)
    response = _send(client, plan, ["pus"])
    assert response.status_code == 302
    assert response.url == _url(plan, "report_sent")
    assert ConcernReport.objects.count() == 1


def test_the_thank_you_page_says_call_the_clinic_now_for_a_red_flag(clock):
    plan = _plan()
    client = _signed_in(plan)
    _send(client, plan, ["pus"])
    response = client.get(_url(plan, "report_sent"))
    assert response.status_code == 200
    assert "<h1>Call the clinic now</h1>" in response.content.decode()


def test_the_thank_you_page_says_call_999_now_for_trouble_breathing(clock):
    plan = _plan()
    client = _signed_in(plan)
    _send(client, plan, ["breathing"])
    assert "<h1>Call 999 now</h1>" in client.get(_url(plan, "report_sent")).content.decode()


def test_the_thank_you_page_says_what_is_expected(clock):
    clock.move_to(TREATED + timedelta(hours=2))
    plan = _plan()
    client = _signed_in(plan)
    _send(client, plan, ["heat", "redness"])
    html = client.get(_url(plan, "report_sent")).content.decode()
    assert "What you ticked is normal at this stage" in html
    assert "this is normal in the first 3 days" in html
    assert "What your plan says is normal now" in html


def test_refreshing_the_thank_you_page_shows_the_same_and_sends_nothing_again(clock):
    plan = _plan()
    client = _signed_in(plan)
    _send(client, plan, ["pus"])
    first, second = (client.get(_url(plan, "report_sent")) for _ in range(2))
    assert first.content == second.content
    assert ConcernReport.objects.count() == 1


def test_the_thank_you_page_is_private(clock):
    plan = _plan()
    client = _signed_in(plan)
    _send(client, plan, ["pus"])
    response = client.get(_url(plan, "report_sent"))
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_session_holds_the_reports_id_and_the_url_nothing(clock):
    plan = _plan()
    client = _signed_in(plan)
    response = _send(client, plan, ["pus"])
    report = ConcernReport.objects.get()
    assert _session(client)[REPORT_SESSION_KEY] == report.pk
    assert str(report.pk) not in response.url


def test_without_a_report_in_the_session_it_sends_the_patient_to_the_form(clock):
    plan = _plan()
    client = _signed_in(plan)
    response = client.get(_url(plan, "report_sent"))
    assert response.status_code == 302
    assert response.url == _url(plan, "report")


def test_it_never_shows_another_patients_report(clock):
    clinic = ClinicFactory()
    mine, theirs = _plan(clinic), _plan(clinic)
    other = _signed_in(theirs)
    _send(other, theirs, ["pus"])
    client = _signed_in(mine)
    session = _session(client)
    session[REPORT_SESSION_KEY] = ConcernReport.objects.get().pk
    session.save()
    response = client.get(_url(mine, "report_sent"))
    assert response.status_code == 302
    assert response.url == _url(mine, "report")


def test_without_a_session_it_says_how_to_open_the_plan(clock):
    plan = _plan()
    response = Client().get(_url(plan, "report_sent"))
    assert response.status_code == 404
    assert "Open your plan from your email" in response.content.decode()


def test_it_refuses_a_post(clock):
    plan = _plan()
    client = _signed_in(plan)
    token = form_token_for_session(_session(client).session_key)
    response = client.post(_url(plan, "report_sent"), {"form_token": token})
    assert response.status_code == 405
