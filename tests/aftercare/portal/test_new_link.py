""" "Email me a new link" (aftercare.portal.views.new_link, new_link_sent; the limits in
aftercare.portal.ratelimit).

A patient whose page opens without its session (a bookmark, a new browser) can type
their email address; a patient of that clinic with a current plan who agrees to emails
gets a new link, at the address on file, through link_reissue. The answer is the same
whether or not the address is a patient's, and requests are limited per client address
and per email address.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.core.cache import cache, caches
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from aftercare.delivery.dispatch import dispatch_due
from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, PatientLink, Reminder
from aftercare.plans.services import plan_create
from aftercare.portal import ratelimit
from aftercare.portal.session import FORM_SESSION_KEY, LINK_SESSION_KEY, PATIENT_COOKIE_NAME
from aftercare.portal.views import form_token_for_session
from clinic.logging import redact
from tests.clinic.test_logging import log_output  # noqa: F401 (a fixture, used below)
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

ADDRESS = "ana.lima@example.com"
ON_ITS_WAY = "If that address is ours, a new link is on its way"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def local_cache():
    """A per-process cache: its entries expire by time.time(), which time-machine moves
    (Redis expires keys by its own clock)."""
    local = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": f"new-link-{uuid.uuid4().hex}",
    }
    with override_settings(CACHES={"default": local}):
        yield


@pytest.fixture
def plan() -> AftercarePlan:
    patient = PatientFactory(email=ADDRESS)
    treatment = TreatmentFactory(patient=patient, performed_at=timezone.now() - timedelta(hours=2))
    return plan_create(treatment=treatment, now=timezone.now())


def _url(plan: AftercarePlan, name: str = "new_link") -> str:
    return reverse(f"patient:{name}", args=[plan.treatment.clinic.slug])


def _opened(plan: AftercarePlan, client: Client | None = None) -> Client:
    """A browser on the form: its session has a key, which the form's token is bound to."""
    client = client or Client(enforce_csrf_checks=True)
    assert client.get(_url(plan)).status_code == 200
    return client


def _ask(client: Client, plan: AftercarePlan, email: str, **extra: object):
    token = form_token_for_session(client.cookies[PATIENT_COOKIE_NAME].value)
    return client.post(_url(plan), {"email": email, "form_token": token}, **extra)


def _new_link_emails(plan: AftercarePlan) -> int:
    return Reminder.objects.filter(
        patient_id=plan.treatment.patient_id, kind__startswith="new-link"
    ).count()


# The form


def test_the_form_asks_for_the_email_address_and_carries_a_form_token(plan):
    client = Client()
    response = client.get(_url(plan))
    html = response.content.decode()
    assert "Your email address" in html
    assert 'type="email"' in html
    token = form_token_for_session(client.cookies[PATIENT_COOKIE_NAME].value)
    assert f'name="form_token" value="{token}"' in html


def test_the_form_starts_a_patient_session_that_holds_no_link(plan):
    client = Client()
    client.get(_url(plan))
    session = SessionStore(client.cookies[PATIENT_COOKIE_NAME].value)
    assert session.get(FORM_SESSION_KEY) is True
    assert LINK_SESSION_KEY not in session


def test_the_pages_are_private(plan):
    client = _opened(plan)
    for response in [
        client.get(_url(plan)),
        _ask(client, plan, ADDRESS),
        client.get(_url(plan, "new_link_sent")),
    ]:
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "no-referrer"


def test_an_unknown_clinic_is_not_found(db):
    response = Client().get(reverse("patient:new_link", args=["no-such-clinic"]))
    assert response.status_code == 404
    assert PATIENT_COOKIE_NAME not in response.cookies


def test_the_not_found_page_of_a_bad_link_offers_it_too(plan):
    slug = plan.treatment.clinic.slug
    response = Client().get(reverse("patient:open", args=[slug, "x" * 43]))
    assert f'href="{_url(plan)}"' in response.content.decode()


# Asking


def test_a_patients_address_answers_with_a_redirect_and_sends_a_new_link(plan):
    old = link_current(plan=plan, now=timezone.now())
    response = _ask(_opened(plan), plan, ADDRESS)
    assert response.status_code == 302
    assert response.url == _url(plan, "new_link_sent")
    assert _new_link_emails(plan) == 1
    assert PatientLink.objects.get(pk=old.pk).revoked_at is not None


def test_the_page_after_says_a_link_may_be_on_its_way(plan):
    client = _opened(plan)
    response = _ask(client, plan, ADDRESS, follow=True)
    assert ON_ITS_WAY in response.content.decode()


def test_an_unknown_address_gets_the_very_same_answer_and_nothing_is_sent(plan):
    known = _ask(_opened(plan), plan, ADDRESS, follow=True)
    unknown = _ask(_opened(plan), plan, "nobody@example.com", follow=True)
    assert [r.redirect_chain for r in (known, unknown)] == [known.redirect_chain] * 2
    assert known.content == unknown.content
    assert _new_link_emails(plan) == 1


def test_another_clinics_patient_is_not_sent_a_link(plan):
    elsewhere = plan_create(
        treatment=TreatmentFactory(patient=PatientFactory(clinic=ClinicFactory())),
        now=timezone.now(),
    )
    response = _ask(_opened(elsewhere), elsewhere, ADDRESS)
    assert response.status_code == 302
    assert _new_link_emails(plan) == 0


def test_the_link_goes_to_the_address_on_file_whatever_was_typed(plan):
    _ask(_opened(plan), plan, "  ANA.Lima@Example.com ")
    dispatch_due(now=timezone.now() + timedelta(seconds=1))
    new_link = [m for m in mail.outbox if "new link" in m.body.lower()]
    assert [m.to for m in new_link] == [[ADDRESS]]


def test_a_mistyped_address_keeps_what_was_typed_and_says_why(plan):
    response = _ask(_opened(plan), plan, "ana.lima@")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This does not look like an email address" in html
    assert 'value="ana.lima@"' in html
    assert 'aria-invalid="true"' in html
    assert _new_link_emails(plan) == 0


def test_a_post_without_the_form_token_is_refused(plan):
    client = _opened(plan)
    response = client.post(_url(plan), {"email": ADDRESS})
    assert response.status_code == 403
    assert _new_link_emails(plan) == 0


def test_a_form_token_from_another_session_is_refused(plan):
    theirs = _opened(plan)
    mine = _opened(plan)
    token = form_token_for_session(theirs.cookies[PATIENT_COOKIE_NAME].value)
    response = mine.post(_url(plan), {"email": ADDRESS, "form_token": token})
    assert response.status_code == 403


def test_a_patient_in_their_session_may_ask_too(plan):
    client = Client()
    token = token_for(link_current(plan=plan, now=timezone.now()))
    client.get(reverse("patient:open", args=[plan.treatment.clinic.slug, token]))
    _opened(plan, client)
    assert _ask(client, plan, ADDRESS).status_code == 302
    assert _new_link_emails(plan) == 1


def test_the_address_never_reaches_the_logs(plan, log_output):  # noqa: F811 (the fixture)
    output = log_output()
    _ask(_opened(plan), plan, ADDRESS)
    assert ADDRESS not in redact(output.getvalue())
    assert ADDRESS not in output.getvalue()


# Limits


def test_an_address_gets_at_most_three_links_an_hour_and_the_answer_stays_the_same(
    plan, local_cache
):
    client = _opened(plan)
    answers = [_ask(client, plan, ADDRESS) for _ in range(ratelimit.NEW_LINK_LIMIT_PER_EMAIL + 1)]
    assert {(a.status_code, a.url) for a in answers} == {(302, _url(plan, "new_link_sent"))}
    assert _new_link_emails(plan) == ratelimit.NEW_LINK_LIMIT_PER_EMAIL


def test_the_address_limit_counts_the_address_whatever_its_case(plan, local_cache):
    client = _opened(plan)
    for typed in ["ana.lima@example.com", "ANA.LIMA@example.com", "Ana.Lima@Example.com"]:
        _ask(client, plan, typed)
    _ask(client, plan, " ana.lima@EXAMPLE.com")
    assert _new_link_emails(plan) == ratelimit.NEW_LINK_LIMIT_PER_EMAIL


def test_an_address_gets_links_again_after_the_hour(plan, local_cache):
    client = _opened(plan)
    for _ in range(ratelimit.NEW_LINK_LIMIT_PER_EMAIL + 1):
        _ask(client, plan, ADDRESS)
    later = timezone.now() + timedelta(seconds=ratelimit.NEW_LINK_WINDOW_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        _ask(_opened(plan), plan, ADDRESS)
    assert _new_link_emails(plan) == ratelimit.NEW_LINK_LIMIT_PER_EMAIL + 1


def test_one_client_address_is_refused_after_its_limit_whatever_it_asks(plan, local_cache):
    client = _opened(plan)
    statuses = [
        _ask(client, plan, f"someone{n}@example.com").status_code
        for n in range(ratelimit.NEW_LINK_LIMIT_PER_CLIENT)
    ]
    assert set(statuses) == {302}
    refused = _ask(client, plan, ADDRESS)
    assert refused.status_code == 429
    assert "asked for a lot of new links" in refused.content.decode()
    assert _new_link_emails(plan) == 0


def test_another_client_address_is_not_held_up(plan, local_cache):
    client = _opened(plan)
    for n in range(ratelimit.NEW_LINK_LIMIT_PER_CLIENT + 1):
        _ask(client, plan, f"someone{n}@example.com")
    other = _opened(plan, Client(REMOTE_ADDR="203.0.113.9"))
    assert _ask(other, plan, ADDRESS).status_code == 302
    assert _new_link_emails(plan) == 1


def test_a_client_address_may_ask_again_after_the_hour(plan, local_cache):
    client = _opened(plan)
    for n in range(ratelimit.NEW_LINK_LIMIT_PER_CLIENT + 1):
        _ask(client, plan, f"someone{n}@example.com")
    later = timezone.now() + timedelta(seconds=ratelimit.NEW_LINK_WINDOW_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert _ask(client, plan, ADDRESS).status_code == 302
    assert _new_link_emails(plan) == 1


def test_the_cache_key_holds_no_email_address(plan, local_cache):
    _ask(_opened(plan), plan, ADDRESS)
    keys = list(caches["default"]._cache.keys())
    assert keys and not any("ana" in key or "example" in key for key in keys)
