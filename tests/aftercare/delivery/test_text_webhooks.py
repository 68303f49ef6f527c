"""Twilio's webhooks (aftercare.delivery.text_webhooks): the signature check, and replies
(STOP, START, HELP, anything else) through the test client, signed as Twilio signs them
for SITE_URL + the path."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from aftercare.delivery.reminders import reminders_stop_for_patient
from aftercare.delivery.text_consent import TEXTS_STOPPED
from aftercare.models import AftercarePlan, DeliveryEvent, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import Channel, ConsentChange, ConsentSource, Patient
from tests.aftercare.delivery.twilio_api import TwilioApi, inbound_message_params, twilio_signature
from tests.factories import ClinicFactory, TreatmentFactory

NUMBER = "+447700900123"
CLINIC_NUMBER = "+447700900000"
SITE = "https://aftercare.example"
INBOUND = "/texts/twilio/inbound/"
STATUS = "/texts/twilio/status/"


@pytest.fixture
def site(settings, twilio: TwilioApi) -> TwilioApi:
    settings.SITE_URL = SITE
    return twilio


def _plan(*, number: str = NUMBER, texts: bool = True, **clinic: object) -> AftercarePlan:
    now = timezone.now()
    treatment = TreatmentFactory(
        patient__clinic=ClinicFactory(**clinic),
        performed_at=now - timedelta(hours=1),
        patient__phone=number,
        patient__text_consent=texts,
        patient__text_consent_at=now if texts else None,
    )
    return plan_create(treatment=treatment, now=now)


def _post(
    path: str,
    params: Mapping[str, str],
    *,
    token: str,
    signed_url: str | None = None,
    signature: str | None = None,
) -> object:
    url = signed_url or SITE + path
    headers = {}
    if signature is None:
        signature = twilio_signature(url, params, token)
    if signature:
        headers["X-Twilio-Signature"] = signature
    return Client().post(path, dict(params), headers=headers)


def _reply(api: TwilioApi, body: str, **extra: str) -> object:
    params = inbound_message_params(
        account_sid=api.account_sid, from_=NUMBER, to=CLINIC_NUMBER, body=body, **extra
    )
    return _post(INBOUND, params, token=api.auth_token)


def _texts(plan: AftercarePlan) -> set[str]:
    return set(plan.reminders.filter(channel=Channel.TEXT).values_list("status", flat=True))


def _emails(plan: AftercarePlan) -> set[str]:
    return set(plan.reminders.filter(channel=Channel.EMAIL).values_list("status", flat=True))


def _state() -> tuple[object, ...]:
    """Everything a webhook could change."""
    return (
        sorted(Patient.objects.values_list("pk", "text_consent", "phone_undeliverable_at")),
        sorted(Reminder.objects.values_list("pk", "status", "cancelled_reason")),
        ConsentChange.objects.count(),
        DeliveryEvent.objects.count(),
    )


# STOP


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", ["STOP", "  stop  ", "Stop\n", "STOPALL", "unsubscribe", "Cancel", "END", "quit"]
)
def test_a_stop_word_stops_texts_for_every_patient_at_the_number(site, body):
    plans = [_plan(), _plan(name="Another clinic")]
    response = _reply(site, body)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert b"<Response" in response.content and b"<Message" not in response.content
    for plan in plans:
        patient = Patient.objects.get(pk=plan.treatment.patient_id)
        assert not patient.text_consent
        assert _texts(plan) == {ReminderStatus.CANCELLED}
        assert set(
            plan.reminders.filter(channel=Channel.TEXT).values_list("cancelled_reason", flat=True)
        ) == {TEXTS_STOPPED}
        assert _emails(plan) == {ReminderStatus.PENDING}
        change = ConsentChange.objects.get(patient=patient, channel=Channel.TEXT)
        assert change.source == ConsentSource.TEXT_STOP and not change.given


@pytest.mark.django_db
def test_an_opt_out_type_of_stop_stops_texts_whatever_the_body(site):
    plan = _plan()
    _reply(site, "please no more messages", opt_out_type="STOP")
    assert not Patient.objects.get(pk=plan.treatment.patient_id).text_consent
    assert _texts(plan) == {ReminderStatus.CANCELLED}


@pytest.mark.django_db
def test_stop_leaves_patients_with_other_numbers_alone(site):
    other = _plan(number="+447700900456")
    _reply(site, "STOP")
    assert Patient.objects.get(pk=other.treatment.patient_id).text_consent
    assert _texts(other) == {ReminderStatus.PENDING}


# START


@pytest.mark.django_db
def test_start_after_stop_gives_texts_back_with_the_reminders_still_to_come(site):
    plan = _plan()
    _reply(site, "STOP")
    response = _reply(site, "start")
    assert response.status_code == 200
    patient = Patient.objects.get(pk=plan.treatment.patient_id)
    assert patient.text_consent
    assert ConsentChange.objects.filter(
        patient=patient, channel=Channel.TEXT, source=ConsentSource.TEXT_START, given=True
    ).exists()
    rows = plan.reminders.filter(channel=Channel.TEXT)
    # The first text was due when the plan was made: a moment already past stays unsent.
    assert set(rows.filter(due_at__gt=timezone.now()).values_list("status", flat=True)) == {
        ReminderStatus.PENDING
    }
    assert set(rows.filter(due_at__lte=timezone.now()).values_list("status", flat=True)) == {
        ReminderStatus.CANCELLED
    }


@pytest.mark.django_db
def test_start_from_a_patient_who_never_agreed_changes_nothing(site):
    plan = _plan(texts=False)
    _reply(site, "START")
    assert not Patient.objects.get(pk=plan.treatment.patient_id).text_consent
    assert _texts(plan) == set()


@pytest.mark.django_db
def test_start_does_not_undo_texts_staff_stopped(site):
    plan = _plan()
    patient = plan.treatment.patient
    reminders_stop_for_patient(patient=patient, reason="stopped by staff", channels=(Channel.TEXT,))
    _reply(site, "START")
    assert not Patient.objects.get(pk=patient.pk).text_consent
    assert _texts(plan) == {ReminderStatus.CANCELLED}


@pytest.mark.django_db
def test_start_gives_texts_back_only_to_patients_stop_stopped(site):
    stopped = _plan()
    never = _plan(texts=False, name="Another clinic")
    _reply(site, "STOP")
    _reply(site, "START")
    assert Patient.objects.get(pk=stopped.treatment.patient_id).text_consent
    assert not Patient.objects.get(pk=never.treatment.patient_id).text_consent


# HELP and anything else


@pytest.mark.django_db
def test_help_answers_with_the_clinics_phone(site):
    _plan(sender_name="Harbour Lane", phone="+44 20 7946 0555")
    response = _reply(site, "help")
    assert b"<Message>" in response.content
    assert b"Harbour Lane: +44 20 7946 0555" in response.content


@pytest.mark.django_db
def test_any_other_reply_is_told_replies_are_not_read_and_changes_nothing(site):
    plan = _plan()
    state = _state()
    response = _reply(site, "Is it normal that my cheeks are red?")
    assert b"Replies to this number are not read" in response.content
    assert b"emergency" in response.content
    assert _state() == state
    assert _texts(plan) == {ReminderStatus.PENDING}


# The signature


def _stop_params(api: TwilioApi) -> dict[str, str]:
    return inbound_message_params(
        account_sid=api.account_sid, from_=NUMBER, to=CLINIC_NUMBER, body="STOP"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forge",
    ["bad", "missing", "other-url", "changed-parameter", "other-token", "host-header-url"],
)
def test_a_request_not_signed_by_twilio_is_refused_and_changes_nothing(site, forge):
    _plan()
    state = _state()
    params = _stop_params(site)
    token = site.auth_token
    if forge == "bad":
        response = _post(INBOUND, params, token=token, signature="bm90IGEgc2lnbmF0dXJl")
    elif forge == "missing":
        response = _post(INBOUND, params, token=token, signature="")
    elif forge == "other-url":
        response = _post(INBOUND, params, token=token, signed_url=SITE + STATUS)
    elif forge == "host-header-url":
        response = _post(INBOUND, params, token=token, signed_url="http://testserver" + INBOUND)
    elif forge == "changed-parameter":
        signature = twilio_signature(SITE + INBOUND, {**params, "From": "+447700900999"}, token)
        response = _post(INBOUND, params, token=token, signature=signature)
    else:
        response = _post(INBOUND, params, token="0" * 32)
    assert response.status_code == 403
    assert _state() == state


@pytest.mark.django_db
def test_a_forged_status_callback_is_refused(site):
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    assert _post(STATUS, params, token="0" * 32).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("path", [INBOUND, STATUS])
def test_the_webhooks_are_not_there_when_texts_do_not_go_through_twilio(site, settings, path):
    settings.TEXT_BACKEND = "memory"
    assert _post(path, _stop_params(site), token=site.auth_token).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("path", [INBOUND, STATUS])
def test_the_webhooks_take_only_post(site, path):
    assert Client().get(path).status_code == 405
