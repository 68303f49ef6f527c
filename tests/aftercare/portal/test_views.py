"""Pages a patient opens from their email (aftercare.portal.views): the link is the key.

The emailed link (/p/<clinic>/<token>/) is checked once, remembered in the session,
and the browser is sent on to token-free pages. The one-click unsubscribe URL of
emails sent before it carried the patient's own token (/p/<clinic>/<token>/unsubscribe/)
acts on POST without a session or CSRF token, even once the link is revoked; the
newer one is tested in test_unsubscribe_links.
These views read the real clock, so plans here are made relative to today.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, PatientLink, ReminderStatus
from aftercare.plans.services import plan_create
from aftercare.portal.session import PATIENT_COOKIE_NAME
from patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOT_FOUND = "This link does not work"
WRONG_TOKEN = "this-is-not-a-real-token"
ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def fresh_rate_limit() -> None:
    # Bad tokens are counted per address in the cache; every test starts with none.
    cache.clear()


def _plan(*, days_ago: int = 0, clinic=None, **patient: object) -> AftercarePlan:
    """A plan for a treatment at local midnight `days_ago` days ago: today is day `days_ago`."""
    day = timezone.localdate(timezone=LONDON) - timedelta(days=days_ago)
    treatment = TreatmentFactory(
        patient=PatientFactory(clinic=clinic or ClinicFactory(), **patient),
        performed_at=datetime.combine(day, time(0), tzinfo=LONDON),
    )
    return plan_create(treatment=treatment, now=timezone.now())


def _token(plan: AftercarePlan) -> str:
    return token_for(link_current(plan=plan, now=timezone.now()))


def _slug(plan: AftercarePlan) -> str:
    return plan.treatment.clinic.slug


def _open_url(plan: AftercarePlan, token: str | None = None) -> str:
    return reverse("patient:open", args=[_slug(plan), token or _token(plan)])


def _one_click_url(plan: AftercarePlan, token: str | None = None) -> str:
    return reverse("patient:one_click_unsubscribe", args=[_slug(plan), token or _token(plan)])


def _page_url(plan: AftercarePlan, name: str = "today") -> str:
    return reverse(f"patient:{name}", args=[_slug(plan)])


def _one_click(plan: AftercarePlan, token: str | None = None):
    # What a mail provider sends (RFC 8058): a form POST with no cookie and no CSRF token.
    client = Client(enforce_csrf_checks=True)
    return client.post(_one_click_url(plan, token), ONE_CLICK, content_type=FORM)


def _assert_private(response) -> None:
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]


def _waiting(plan: AftercarePlan) -> int:
    return plan.reminders.filter(status=ReminderStatus.PENDING).count()


def _consents(plan: AftercarePlan) -> bool:
    return Patient.objects.get(pk=plan.treatment.patient_id).email_consent


# Opening the emailed link


def test_a_valid_link_sends_the_browser_on_to_a_token_free_page(client):
    plan = _plan()
    token = _token(plan)
    response = client.get(_open_url(plan, token))
    assert response.status_code == 302
    assert response["Location"] == _page_url(plan)
    assert token not in response["Location"]


def test_a_valid_link_opens_the_plan_on_the_day_of_recovery(client):
    plan = _plan(days_ago=3)
    response = client.get(_open_url(plan), follow=True)
    assert response.status_code == 200
    assert "<h1>Day 3</h1>" in response.content.decode()


def test_on_the_day_of_the_treatment_the_plan_says_treatment_day(client):
    response = client.get(_open_url(_plan()), follow=True)
    assert "<h1>Treatment day</h1>" in response.content.decode()


def test_the_plan_page_shows_the_clinic_and_how_to_call_it(client):
    plan = _plan()
    clinic = plan.treatment.clinic
    body = client.get(_open_url(plan), follow=True).content.decode()
    assert clinic.name in body
    assert f'href="tel:{clinic.phone.replace(" ", "")}"' in body


def test_the_plan_page_links_to_unsubscribe(client):
    plan = _plan()
    body = client.get(_open_url(plan), follow=True).content.decode()
    assert f'href="{_page_url(plan, "unsubscribe")}"' in body


def test_the_link_and_the_plan_page_are_private(client):
    plan = _plan()
    _assert_private(client.get(_open_url(plan)))
    _assert_private(client.get(_page_url(plan)))


@pytest.mark.parametrize("name", ["timeline", "warning_signs", "calendar"])
def test_the_other_plan_pages_open_from_the_session(client, name):
    plan = _plan()
    client.get(_open_url(plan))
    response = client.get(_page_url(plan, name))
    assert response.status_code == 200
    _assert_private(response)


def test_opening_a_link_starts_a_new_session(client):
    plan = _plan()
    earlier = SessionStore()  # any earlier visit to the patient pages
    earlier.save()
    client.cookies[PATIENT_COOKIE_NAME] = earlier.session_key
    client.get(_open_url(plan))
    assert client.cookies[PATIENT_COOKIE_NAME].value not in ("", earlier.session_key)


def test_opening_a_link_refuses_post(client):
    plan = _plan()
    assert client.post(_open_url(plan)).status_code == 405


# Links that do not work


def test_a_wrong_token_gets_the_friendly_not_found_page(client):
    plan = _plan()
    response = client.get(_open_url(plan, WRONG_TOKEN))
    assert response.status_code == 404
    assert NOT_FOUND in response.content.decode()


def test_wrong_expired_and_revoked_tokens_get_the_same_page(client):
    clinic = ClinicFactory()
    expired, revoked = _plan(clinic=clinic), _plan(clinic=clinic)
    expired_token, revoked_token = _token(expired), _token(revoked)
    PatientLink.objects.filter(plan=expired).update(expires_at=timezone.now())
    PatientLink.objects.filter(plan=revoked).update(revoked_at=timezone.now())
    responses = [
        client.get(_open_url(expired, token))
        for token in (WRONG_TOKEN, expired_token, revoked_token)
    ]
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert len({r.content for r in responses}) == 1


def test_the_not_found_page_says_nothing_about_the_patient(client):
    plan = _plan(first_name="Marguerite")
    token = _token(plan)
    PatientLink.objects.filter(plan=plan).update(revoked_at=timezone.now())
    body = client.get(_open_url(plan, token)).content.decode()
    assert NOT_FOUND in body
    assert "Marguerite" not in body
    assert plan.treatment.patient.email not in body


def test_the_not_found_page_is_private(client):
    _assert_private(client.get(_open_url(_plan(), WRONG_TOKEN)))


def test_a_page_without_an_opened_link_says_to_open_it_from_the_email(client):
    plan = _plan()
    response = client.get(_page_url(plan))
    assert response.status_code == 404
    assert "Open your plan from your email" in response.content.decode()


def test_a_link_revoked_after_opening_stops_working_in_the_session(client):
    plan = _plan()
    client.get(_open_url(plan))
    PatientLink.objects.filter(plan=plan).update(revoked_at=timezone.now())
    assert client.get(_page_url(plan)).status_code == 404


def test_too_many_bad_tokens_block_the_address_for_a_while(client, settings):
    settings.PATIENT_LINK_FAILURE_LIMIT = 3
    plan = _plan()
    for _ in range(3):
        client.get(_open_url(plan, WRONG_TOKEN))
    response = client.get(_open_url(plan, WRONG_TOKEN))
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


def test_a_valid_link_opens_even_while_its_address_is_blocked(client, settings):
    settings.PATIENT_LINK_FAILURE_LIMIT = 3
    plan = _plan()
    for _ in range(4):
        client.get(_open_url(plan, WRONG_TOKEN))
    assert client.get(_open_url(plan)).status_code == 302
    assert client.get(_page_url(plan)).status_code == 200


# One plan, one clinic


def test_a_token_opens_only_its_own_plan(client):
    mine = _plan(clinic=ClinicFactory(name="Northside Skin"))
    _plan(clinic=ClinicFactory(name="Southbank Aesthetics"), days_ago=5)
    body = client.get(_open_url(mine), follow=True).content.decode()
    assert "Northside Skin" in body
    assert "Southbank Aesthetics" not in body
    assert "<h1>Treatment day</h1>" in body


def test_a_token_under_another_clinics_address_opens_nothing(client):
    mine = _plan(clinic=ClinicFactory(name="Northside Skin"))
    theirs = _plan(clinic=ClinicFactory(name="Southbank Aesthetics"))
    response = client.get(reverse("patient:open", args=[_slug(theirs), _token(mine)]))
    assert response.status_code == 404
    assert client.get(_page_url(theirs)).status_code == 404


def test_an_opened_link_does_not_open_another_clinics_pages(client):
    mine, theirs = _plan(), _plan()
    client.get(_open_url(mine))
    assert client.get(_page_url(mine)).status_code == 200
    assert client.get(_page_url(theirs)).status_code == 404


# One-click unsubscribe (the List-Unsubscribe URL of emails already sent)


def test_one_click_get_shows_a_confirm_form(client):
    response = client.get(_one_click_url(_plan()))
    assert response.status_code == 200
    assert '<form method="post">' in response.content.decode()


def test_one_click_get_changes_nothing(client):
    plan = _plan()
    waiting = _waiting(plan)
    client.get(_one_click_url(plan))
    assert waiting > 0
    assert _waiting(plan) == waiting
    assert _consents(plan)


def test_one_click_is_private(client):
    _assert_private(client.get(_one_click_url(_plan())))


def test_a_one_click_post_without_a_csrf_token_stops_the_reminders():
    plan = _plan()
    response = _one_click(plan)
    assert response.status_code == 200
    assert "Reminders stopped" in response.content.decode()
    assert set(plan.reminders.values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, "unsubscribed")
    }


def test_a_one_click_post_withdraws_email_consent():
    plan = _plan()
    _one_click(plan)
    assert not _consents(plan)


def test_a_one_click_post_twice_is_fine():
    plan = _plan()
    token = _token(plan)
    first, second = _one_click(plan, token), _one_click(plan, token)
    assert (first.status_code, second.status_code) == (200, 200)
    assert _waiting(plan) == 0
    assert set(plan.reminders.values_list("cancelled_reason", flat=True)) == {"unsubscribed"}


def test_one_click_leaves_another_clinics_patient_alone():
    mine = _plan(clinic=ClinicFactory(name="Northside Skin"))
    theirs = _plan(clinic=ClinicFactory(name="Southbank Aesthetics"))
    waiting = _waiting(theirs)
    _one_click(mine)
    assert _waiting(theirs) == waiting > 0
    assert _consents(theirs)


def test_one_click_with_a_bad_token_changes_nothing():
    plan = _plan()
    waiting = _waiting(plan)
    response = _one_click(plan, WRONG_TOKEN)
    assert response.status_code == 404
    assert NOT_FOUND in response.content.decode()
    assert (_waiting(plan), _consents(plan)) == (waiting, True)


def test_one_click_with_a_revoked_token_still_unsubscribes():
    # The opt-out in every email sent must keep working (RFC 8058, anti-spam law).
    plan = _plan()
    token = _token(plan)
    PatientLink.objects.filter(plan=plan).update(revoked_at=timezone.now())
    assert _one_click(plan, token).status_code == 200
    assert (_waiting(plan), _consents(plan)) == (0, False)


def test_one_click_with_a_revoked_token_under_another_clinics_address_changes_nothing():
    plan = _plan()
    token = _token(plan)
    PatientLink.objects.filter(plan=plan).update(revoked_at=timezone.now())
    waiting = _waiting(plan)
    url = reverse("patient:one_click_unsubscribe", args=[ClinicFactory().slug, token])
    response = Client().post(url, ONE_CLICK, content_type=FORM)
    assert response.status_code == 404
    assert (_waiting(plan), _consents(plan)) == (waiting, True)


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_one_click_refuses_other_methods(client, method):
    plan = _plan()
    response = getattr(client, method)(_one_click_url(plan))
    assert response.status_code == 405
    assert _waiting(plan) > 0


# Unsubscribing from the plan pages (a session, so CSRF applies)


def test_the_unsubscribe_page_stops_the_reminders_with_its_form():
    plan = _plan()
    client = Client(enforce_csrf_checks=True)
    client.get(_open_url(plan))
    form = client.get(_page_url(plan, "unsubscribe"))
    token = form.context["form_token"]
    response = client.post(_page_url(plan, "unsubscribe"), {"form_token": token})
    assert response.status_code == 302
    assert _waiting(plan) == 0


def test_the_unsubscribe_page_refuses_a_post_without_its_form_token():
    plan = _plan()
    client = Client(enforce_csrf_checks=True)
    client.get(_open_url(plan))
    assert client.post(_page_url(plan, "unsubscribe")).status_code == 403
    assert _waiting(plan) > 0


@pytest.mark.parametrize("page", ["patient:today", "patient:timeline"])
def test_a_patient_page_runs_at_most_four_queries(client, page, django_assert_max_num_queries):
    plan = _plan(days_ago=2)
    client.get(reverse("patient:open", args=[_slug(plan), _token(plan)]))
    for _ in range(3):  # the emailed link's plan revised: the page follows, in no more queries
        plan_create(treatment=plan.treatment, now=timezone.now())
    with django_assert_max_num_queries(4):
        response = client.get(reverse(page, args=[_slug(plan)]))
    assert response.status_code == 200
