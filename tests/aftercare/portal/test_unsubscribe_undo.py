"""Unsubscribing can be undone (aftercare.portal.views: unsubscribe, list_unsubscribe).

From the plan pages (a session, with the form token) and from an email's unsubscribe
URL (its token is the key), the forms post and redirect to a page that says what
happened: "Reminders stopped" with "Start the reminders again", or "Reminders started
again". Opened later, the unsubscribe page says the patient has already stopped them. A
mail provider's one-click POST (RFC 8058) still answers 200 and never starts anything.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.delivery.reminders import reminders_stop_for_patient
from aftercare.links import link_addresses, link_current, token_for
from aftercare.models import AftercarePlan, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from aftercare.portal.session import PATIENT_COOKIE_NAME
from aftercare.portal.views import form_token_for_session
from patients.data_rights import patient_erase
from patients.models import ConsentSource, Patient
from tests.factories import PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

STOPPED = "Reminders stopped"
ALREADY = "You have already stopped reminder emails"
RESTART = "Start the reminders again"
RESTARTED = "Reminders started again"
ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def _plan() -> AftercarePlan:
    treatment = TreatmentFactory(
        patient=PatientFactory(), performed_at=timezone.now() - timedelta(hours=1)
    )
    return plan_create(treatment=treatment, now=timezone.now())


def _patient(plan: AftercarePlan) -> Patient:
    return Patient.objects.get(pk=plan.treatment.patient_id)


def _pending(plan: AftercarePlan) -> int:
    return Reminder.objects.filter(
        patient_id=plan.treatment.patient_id, status=ReminderStatus.PENDING
    ).count()


def _page(plan: AftercarePlan) -> str:
    return reverse("patient:unsubscribe", args=[plan.treatment.clinic.slug])


def _signed_in(plan: AftercarePlan) -> Client:
    client = Client(enforce_csrf_checks=True)
    token = token_for(link_current(plan=plan, now=timezone.now()))
    client.get(reverse("patient:open", args=[plan.treatment.clinic.slug, token]))
    return client


def _form_token(client: Client) -> str:
    return form_token_for_session(client.cookies[PATIENT_COOKIE_NAME].value)


def _emailed_url(plan: AftercarePlan) -> str:
    """The path of the List-Unsubscribe URL in the plan's emails."""
    return urlsplit(link_addresses(link_current(plan=plan, now=timezone.now()))[2]).path


# From the plan pages


def test_stopping_answers_with_a_redirect_to_the_stopped_page():
    plan = _plan()
    client = _signed_in(plan)
    response = client.post(_page(plan), {"form_token": _form_token(client), "action": "stop"})
    assert response.status_code == 302
    assert response.url == f"{_page(plan)}?done=stopped"
    assert _pending(plan) == 0


def test_the_stopped_page_says_so_and_offers_to_start_again():
    plan = _plan()
    client = _signed_in(plan)
    client.post(_page(plan), {"form_token": _form_token(client), "action": "stop"})
    html = client.get(f"{_page(plan)}?done=stopped").content.decode()
    assert STOPPED in html
    assert "You will get no more aftercare reminders" in html
    assert RESTART in html
    assert 'name="action" value="resume"' in html
    assert f'name="form_token" value="{_form_token(client)}"' in html


def test_starting_again_redirects_and_puts_the_reminders_back():
    plan = _plan()
    client = _signed_in(plan)
    client.post(_page(plan), {"form_token": _form_token(client), "action": "stop"})
    response = client.post(_page(plan), {"form_token": _form_token(client), "action": "resume"})
    assert response.status_code == 302
    assert response.url == f"{_page(plan)}?done=resumed"
    assert _patient(plan).email_consent
    assert _pending(plan) > 0


def test_starting_again_is_recorded_as_the_patients_own_choice():
    plan = _plan()
    client = _signed_in(plan)
    client.post(_page(plan), {"form_token": _form_token(client), "action": "stop"})
    client.post(_page(plan), {"form_token": _form_token(client), "action": "resume"})
    change = _patient(plan).consent_changes.get(given=True)
    assert (change.source, change.recorded_by) == (ConsentSource.PATIENT_RESUMED, None)


def test_the_page_after_starting_again_names_the_next_reminder():
    plan = _plan()
    client = _signed_in(plan)
    client.post(_page(plan), {"form_token": _form_token(client), "action": "stop"})
    client.post(_page(plan), {"form_token": _form_token(client), "action": "resume"})
    response = client.get(f"{_page(plan)}?done=resumed")
    html = response.content.decode()
    assert RESTARTED in html
    assert "The next one comes on" in html


def test_starting_again_needs_the_form_token():
    plan = _plan()
    reminders_stop_for_patient(patient=_patient(plan), reason="unsubscribed")
    client = _signed_in(plan)
    assert client.post(_page(plan), {"action": "resume"}).status_code == 403
    assert not _patient(plan).email_consent


def test_opened_again_later_the_page_says_reminders_are_already_stopped():
    plan = _plan()
    reminders_stop_for_patient(patient=_patient(plan), reason="unsubscribed")
    html = _signed_in(plan).get(_page(plan)).content.decode()
    assert ALREADY in html
    assert "Stop reminder emails?" not in html
    assert RESTART in html


def test_refreshing_the_page_after_a_form_changes_nothing():
    plan = _plan()
    client = _signed_in(plan)
    client.post(_page(plan), {"form_token": _form_token(client), "action": "stop"})
    client.post(_page(plan), {"form_token": _form_token(client), "action": "resume"})
    changes = _patient(plan).consent_changes.count()
    for _ in range(2):
        assert client.get(f"{_page(plan)}?done=resumed").status_code == 200
        assert client.get(f"{_page(plan)}?done=stopped").status_code == 200
    assert _patient(plan).consent_changes.count() == changes
    assert _patient(plan).email_consent


def test_a_flag_in_the_address_does_not_claim_what_did_not_happen():
    plan = _plan()
    html = _signed_in(plan).get(f"{_page(plan)}?done=stopped").content.decode()
    assert "Stop reminder emails?" in html
    assert STOPPED not in html


# From an email's unsubscribe URL (no session: its token is the key)


def test_the_emailed_urls_form_stops_and_redirects_back_to_itself():
    plan = _plan()
    response = Client().post(_emailed_url(plan), {"action": "stop"})
    assert response.status_code == 302
    assert response.url == f"{_emailed_url(plan)}?done=stopped"
    assert not _patient(plan).email_consent


def test_a_later_emails_link_says_already_stopped_and_offers_to_start_again():
    plan = _plan()
    reminders_stop_for_patient(patient=_patient(plan), reason="unsubscribed")
    response = Client().get(_emailed_url(plan))
    html = response.content.decode()
    assert ALREADY in html
    assert RESTART in html
    assert 'name="form_token"' not in html


def test_starting_again_from_the_emailed_url_puts_the_reminders_back():
    plan = _plan()
    reminders_stop_for_patient(patient=_patient(plan), reason="unsubscribed")
    response = Client(enforce_csrf_checks=True).post(_emailed_url(plan), {"action": "resume"})
    assert response.status_code == 302
    assert response.url == f"{_emailed_url(plan)}?done=resumed"
    assert _patient(plan).email_consent
    assert _pending(plan) > 0
    assert RESTARTED in Client().get(response.url).content.decode()


def test_a_one_click_post_still_answers_200_without_a_redirect():
    plan = _plan()
    response = Client().post(_emailed_url(plan), ONE_CLICK, content_type=FORM)
    assert response.status_code == 200
    assert STOPPED in response.content.decode()


def test_a_one_click_post_never_starts_reminders_again():
    plan = _plan()
    reminders_stop_for_patient(patient=_patient(plan), reason="unsubscribed")
    Client().post(_emailed_url(plan), ONE_CLICK, content_type=FORM)
    assert not _patient(plan).email_consent
    assert _pending(plan) == 0


def test_an_erased_patient_is_offered_nothing_and_nothing_changes(practitioner):
    plan = _plan()
    patient_erase(patient=_patient(plan), by=practitioner, now=timezone.now())
    url = _emailed_url(plan)
    assert RESTART not in Client().get(url).content.decode()
    response = Client().post(url, {"action": "resume"})
    assert response.status_code == 200
    assert not _patient(plan).email_consent
    assert not _patient(plan).consent_changes.exists()


def test_a_patient_without_an_email_address_is_not_offered_to_start_again():
    plan = _plan()
    patient = _patient(plan)
    reminders_stop_for_patient(patient=patient, reason="unsubscribed")
    Patient.objects.filter(pk=patient.pk).update(email="")
    html = Client().get(_emailed_url(plan)).content.decode()
    assert RESTART not in html
    assert ALREADY in html
