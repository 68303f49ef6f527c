"""How we remind you: the patient picks email, text or both from their pages
(aftercare.portal.views.how_we_remind), and the unsubscribe pages say when texts go on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.delivery.reminders import reminders_stop_for_patient
from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from aftercare.portal.session import PATIENT_COOKIE_NAME
from aftercare.portal.views import form_token_for_session
from patients.models import Channel, ConsentChange, ConsentSource, Patient
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

HEADING = "How we remind you"
NO_SESSION = "Open your plan from your email"
ASK_FOR_PHONE = "To get texts, ask the clinic to add your mobile number"
NOT_OFFERED = "We cannot remind you that way. Please pick one of the ways shown."
TEXTS_GO_ON = "We will still send you texts. To stop them, reply STOP to one of our texts."
# PatientFactory's number and an address of the shape its email has.
PHONE_E164 = "+447400123456"
PHONE_FORMS = [PHONE_E164, "447400123456", "07400 123456", "07400123456", "7400123456"]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def _plan(**patient_fields) -> AftercarePlan:
    patient = PatientFactory(email="jordan.smith@example.com", **patient_fields)
    treatment = TreatmentFactory(patient=patient, performed_at=timezone.now() - timedelta(hours=1))
    return plan_create(treatment=treatment, now=timezone.now())


def _patient(plan: AftercarePlan) -> Patient:
    return Patient.objects.get(pk=plan.treatment.patient_id)


def _page(plan: AftercarePlan) -> str:
    return reverse("patient:how_we_remind", args=[plan.treatment.clinic.slug])


def _signed_in(plan: AftercarePlan) -> Client:
    client = Client(enforce_csrf_checks=True)
    token = token_for(link_current(plan=plan, now=timezone.now()))
    client.get(reverse("patient:open", args=[plan.treatment.clinic.slug, token]))
    return client


def _form_token(client: Client) -> str:
    return form_token_for_session(client.cookies[PATIENT_COOKIE_NAME].value)


def _choose(client: Client, plan: AftercarePlan, choice: str):
    return client.post(_page(plan), {"form_token": _form_token(client), "choice": choice})


def _options(html: str) -> list[str]:
    return [v for v in ("email", "text", "both") if f'name="choice" value="{v}"' in html]


def _consent(plan: AftercarePlan) -> tuple[bool, bool]:
    patient = _patient(plan)
    return patient.email_consent, patient.text_consent


def _waiting(plan: AftercarePlan, channel: Channel) -> int:
    return Reminder.objects.filter(
        patient_id=plan.treatment.patient_id, channel=channel, status=ReminderStatus.PENDING
    ).count()


# Who may see and use the page


def test_the_page_needs_the_session_an_emailed_link_starts():
    plan = _plan()
    response = Client().get(_page(plan))
    assert response.status_code == 404
    assert NO_SESSION in response.content.decode()
    assert HEADING not in response.content.decode()


def test_a_post_without_a_session_changes_nothing():
    plan = _plan()
    response = Client().post(_page(plan), {"choice": "text"})
    assert response.status_code == 404
    assert _consent(plan) == (True, False)


def test_a_session_for_another_clinic_cannot_open_or_change_this_patients_page():
    mine = _plan(clinic=ClinicFactory())
    theirs = _plan(clinic=ClinicFactory())
    client = _signed_in(mine)
    response = client.post(_page(theirs), {"form_token": _form_token(client), "choice": "text"})
    assert response.status_code == 404
    assert _consent(theirs) == _consent(mine) == (True, False)


def test_another_patients_session_changes_only_that_patient():
    clinic = ClinicFactory()
    mine, theirs = _plan(clinic=clinic), _plan(clinic=clinic)
    client = _signed_in(theirs)
    _choose(client, theirs, "text")
    assert _consent(theirs) == (False, True)
    assert _consent(mine) == (True, False)
    assert not ConsentChange.objects.filter(patient_id=mine.treatment.patient_id).exists()


def test_a_post_without_the_form_token_is_refused_and_changes_nothing():
    plan = _plan()
    client = _signed_in(plan)
    response = client.post(_page(plan), {"choice": "text"})
    assert response.status_code == 403
    assert _consent(plan) == (True, False)


def test_the_page_is_private():
    plan = _plan()
    response = _signed_in(plan).get(_page(plan))
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_patient_pages_link_to_it():
    plan = _plan()
    html = _signed_in(plan).get(reverse("patient:today", args=[plan.treatment.clinic.slug]))
    assert f'href="{_page(plan)}">{HEADING}</a>' in html.content.decode()


# What the page offers


def test_a_patient_with_an_address_and_a_number_is_offered_all_three():
    plan = _plan()
    html = _signed_in(plan).get(_page(plan)).content.decode()
    assert HEADING in html
    assert _options(html) == ["email", "text", "both"]
    for label in ("Email", "Text message", "Email and text"):
        assert f"> {label}</label>" in html


def test_the_current_choice_is_picked_and_said():
    plan = _plan()
    html = _signed_in(plan).get(_page(plan)).content.decode()
    assert re.search(r'<input [^>]*value="email"[^>]* checked', html)
    assert not re.search(r'<input [^>]*value="(text|both)"[^>]* checked', html)
    assert "Now we remind you by email." in html


def test_the_address_and_number_are_shown_masked_never_whole():
    plan = _plan()
    html = _signed_in(plan).get(_page(plan)).content.decode()
    assert "j•••@example.com" in html
    assert "•••• ••• 456" in html
    assert "jordan.smith" not in html
    for number in PHONE_FORMS:
        assert number not in html


def test_a_patient_without_a_number_is_offered_email_and_told_to_ask_the_clinic():
    plan = _plan(phone="")
    html = _signed_in(plan).get(_page(plan)).content.decode()
    assert _options(html) == ["email"]
    assert ASK_FOR_PHONE in html
    assert 'href="tel:+442079460123"' in html
    assert "•••" not in html.split("j•••@example.com")[1].split("</ul>")[0]


def test_while_texts_are_not_set_up_only_email_is_offered(settings):
    settings.TEXT_BACKEND = ""
    plan = _plan()
    html = _signed_in(plan).get(_page(plan)).content.decode()
    assert _options(html) == ["email"]
    assert ASK_FOR_PHONE not in html
    assert "•••• ••• 456" not in html


def test_a_patient_whose_address_bounced_is_offered_texts_and_told_why():
    plan = _plan(email_undeliverable_at=timezone.now(), email_undeliverable_reason="bounced")
    html = _signed_in(plan).get(_page(plan)).content.decode()
    assert _options(html) == ["text"]
    assert "Emails to you do not arrive." in html


# Choosing


def test_choosing_redirects_to_the_page_which_says_it_was_saved():
    plan = _plan()
    client = _signed_in(plan)
    response = _choose(client, plan, "text")
    assert response.status_code == 302
    assert response.url == f"{_page(plan)}?saved=1"
    html = client.get(response.url).content.decode()
    assert "Saved: we will remind you by text." in html


def test_choosing_texts_changes_the_consent_and_the_reminders():
    plan = _plan()
    _choose(_signed_in(plan), plan, "text")
    assert _consent(plan) == (False, True)
    assert _waiting(plan, Channel.EMAIL) == 0
    assert _waiting(plan, Channel.TEXT) > 0
    sources = set(
        ConsentChange.objects.filter(patient_id=plan.treatment.patient_id).values_list(
            "source", flat=True
        )
    )
    assert sources == {ConsentSource.PATIENT_CHOICE}


def test_choosing_both_says_so():
    plan = _plan()
    client = _signed_in(plan)
    client.get(_choose(client, plan, "both").url)
    assert _consent(plan) == (True, True)
    assert (
        "Saved: we will remind you by email and text."
        in client.get(f"{_page(plan)}?saved=1").content.decode()
    )


def test_a_choice_that_is_not_offered_is_refused_with_a_clear_error_and_changes_nothing():
    plan = _plan(phone="")
    client = _signed_in(plan)
    response = _choose(client, plan, "both")
    assert response.status_code == 200
    assert NOT_OFFERED in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert _consent(plan) == (True, False)
    assert not ConsentChange.objects.filter(patient_id=plan.treatment.patient_id).exists()


def test_a_made_up_choice_is_refused():
    plan = _plan()
    response = _choose(_signed_in(plan), plan, "pigeon")
    assert NOT_OFFERED in response.content.decode()
    assert _consent(plan) == (True, False)


def test_choosing_nothing_is_refused():
    plan = _plan()
    client = _signed_in(plan)
    response = client.post(_page(plan), {"form_token": _form_token(client)})
    assert "Please choose how we should remind you." in response.content.decode()
    assert _consent(plan) == (True, False)


def test_saved_is_not_claimed_when_the_patient_gets_no_reminders():
    plan = _plan()
    reminders_stop_for_patient(patient=_patient(plan), reason="unsubscribed")
    html = _signed_in(plan).get(f"{_page(plan)}?saved=1").content.decode()
    assert "Saved:" not in html
    assert "We do not send you reminders now." in html


# The email unsubscribe pages say texts go on


def test_the_unsubscribe_page_says_texts_go_on_for_a_patient_who_gets_them():
    plan = _plan(text_consent=True, text_consent_at=timezone.now())
    client = _signed_in(plan)
    unsubscribe = reverse("patient:unsubscribe", args=[plan.treatment.clinic.slug])
    assert TEXTS_GO_ON in client.get(unsubscribe).content.decode()
    client.post(unsubscribe, {"form_token": _form_token(client), "action": "stop"})
    html = client.get(f"{unsubscribe}?done=stopped").content.decode()
    assert "Reminder emails stopped" in html
    assert "You will get no more reminder emails" in html
    assert TEXTS_GO_ON in html
    assert _consent(plan) == (False, True)


def test_the_unsubscribe_page_does_not_mention_texts_to_a_patient_without_them():
    plan = _plan()
    client = _signed_in(plan)
    unsubscribe = reverse("patient:unsubscribe", args=[plan.treatment.clinic.slug])
    assert "STOP" not in client.get(unsubscribe).content.decode()
    client.post(unsubscribe, {"form_token": _form_token(client), "action": "stop"})
    html = client.get(f"{unsubscribe}?done=stopped").content.decode()
    assert "You will get no more aftercare reminders" in html
    assert "STOP" not in html
