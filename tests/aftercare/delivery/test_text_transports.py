"""Sending one text (aftercare.delivery.text_transports) through the real twilio SDK, to a
local Twilio (twilio_api.TwilioApi), and what each of Twilio's answers means."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aftercare.delivery.text_transports import (
    MemoryTransport,
    OutgoingText,
    TwilioTransport,
    outbox,
    text_transport,
    texts_enabled,
)
from aftercare.delivery.transports import TransportError
from tests.aftercare.delivery.conftest import SENDER
from tests.aftercare.delivery.twilio_api import (
    TwilioApi,
    authentication_error,
    invalid_number,
    not_a_mobile,
    rate_limited,
    server_error,
    success,
    twilio_error,
    unsubscribed_recipient,
)

ROOT = Path(__file__).resolve().parents[3]
PATIENT = "+447700900123"
SERVICE = "MG" + "ab" * 16
TEXT = OutgoingText(to=PATIENT, body="Clinic: The morning after.\nhttps://x.example/p/\nReply STOP")


def _send(text: OutgoingText = TEXT) -> str:
    transport = TwilioTransport()
    try:
        return transport.send(text)
    finally:
        transport.close()


def _refusal(text: OutgoingText = TEXT) -> TransportError:
    with pytest.raises(TransportError) as raised:
        _send(text)
    return raised.value


# What goes to Twilio


def test_each_text_is_one_request_with_to_from_and_body(twilio: TwilioApi):
    _send()
    (request,) = twilio.requests
    assert (request.to, request.from_, request.body) == (PATIENT, SENDER, TEXT.body)
    assert request.messaging_service_sid is None


def test_a_messaging_service_sender_goes_as_messaging_service_sid(twilio: TwilioApi, settings):
    settings.TWILIO_FROM = SERVICE
    _send()
    (request,) = twilio.requests
    assert request.messaging_service_sid == SERVICE
    assert request.from_ is None


def test_the_status_callback_is_the_site_url_and_the_status_path(twilio: TwilioApi, settings):
    settings.SITE_URL = "https://aftercare.harbourlane.example"
    _send()
    assert twilio.requests[0].status_callback == (
        "https://aftercare.harbourlane.example/texts/twilio/status/"
    )


def test_the_request_uses_basic_auth_with_the_account_and_token(twilio: TwilioApi):
    _send()
    assert twilio.requests[0].basic_auth() == (twilio.account_sid, twilio.auth_token)


def test_send_returns_twilios_message_sid(twilio: TwilioApi):
    sid = _send()
    assert sid.startswith("SM") and sid == twilio.accepted[0].sid


def test_two_texts_over_one_transport_are_two_requests(twilio: TwilioApi):
    transport = TwilioTransport()
    try:
        transport.send(TEXT)
        transport.send(OutgoingText(to="+447700900456", body="Second"))
    finally:
        transport.close()
    assert [r.to for r in twilio.accepted] == [PATIENT, "+447700900456"]


# Twilio's answers


@pytest.mark.parametrize("reply", [invalid_number(), not_a_mobile()], ids=["21211", "21614"])
def test_a_number_that_cannot_get_texts_is_a_permanent_invalid_recipient(twilio: TwilioApi, reply):
    twilio.answer_next(reply)
    error = _refusal()
    assert error.permanent and not error.connection_lost
    assert error.recipient_problem == "invalid"


def test_an_unsubscribed_recipient_is_a_permanent_opted_out_recipient(twilio: TwilioApi):
    twilio.answer_next(unsubscribed_recipient())
    error = _refusal()
    assert error.permanent and not error.connection_lost
    assert error.recipient_problem == "opted_out"


@pytest.mark.parametrize(
    "reply",
    [
        rate_limited(),
        twilio_error(429, 20429, "Too Many Requests"),
        authentication_error(),
        server_error(500),
        server_error(503),
    ],
    ids=["429", "20429", "401", "500", "503"],
)
def test_twilio_unable_to_take_texts_only_delays(twilio: TwilioApi, reply):
    twilio.answer_next(reply)
    error = _refusal()
    assert error.connection_lost and not error.permanent
    assert not error.recipient_problem


def test_a_wrong_auth_token_only_delays(twilio: TwilioApi, settings):
    settings.TWILIO_AUTH_TOKEN = "0" * 32
    error = _refusal()
    assert error.connection_lost
    assert twilio.accepted == []


def test_a_refused_connection_only_delays(twilio: TwilioApi):
    twilio.refuse_connections()
    error = _refusal()
    assert error.connection_lost and not error.permanent


def test_no_answer_within_the_timeout_only_delays(twilio: TwilioApi, settings):
    settings.TEXT_TIMEOUT_SECONDS = 1
    twilio.answer_next(success(delay=3))
    error = _refusal()
    assert error.connection_lost and not error.permanent


def test_another_400_is_a_permanent_refusal_of_the_message(twilio: TwilioApi):
    twilio.answer_next(twilio_error(400, 21617, "The concatenated message body exceeds the limit"))
    error = _refusal()
    assert error.permanent and not error.connection_lost
    assert not error.recipient_problem
    assert "21617" in str(error)


def test_an_error_never_carries_the_text_or_the_number(twilio: TwilioApi):
    twilio.answer_next(invalid_number())
    error = _refusal()
    assert PATIENT not in str(error) and "morning after" not in str(error)


# Backends


def test_the_memory_backend_keeps_texts_in_the_outbox(settings):
    settings.TEXT_BACKEND = "memory"
    transport = text_transport()
    assert isinstance(transport, MemoryTransport)
    assert transport.send(TEXT) == "SM-memory-1"
    assert outbox == [TEXT]


def test_the_terminal_backend_prints_the_whole_text(settings, capfd):
    settings.TEXT_BACKEND = "terminal"
    text_transport().send(TEXT)
    assert TEXT.body in capfd.readouterr().out


def test_without_a_backend_texts_are_off_and_no_transport_is_made(settings):
    settings.TEXT_BACKEND = ""
    assert not texts_enabled()
    with pytest.raises(TransportError) as raised:
        text_transport()
    assert raised.value.connection_lost


# Settings (clinic/settings.py), read in a fresh process


def _text_settings(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TEXT_BACKEND or '-')"
    )
    dropped = {"SECRET_KEY", "DEBUG", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "clinic.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env",
    [
        {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32},
        {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "secret"},
        {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_FROM": SENDER},
    ],
    ids=["alone", "without-from", "without-token"],
)
def test_a_twilio_account_without_token_or_sender_stops_the_start(env):
    result = _text_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "TWILIO_ACCOUNT_SID needs TWILIO_AUTH_TOKEN and TWILIO_FROM" in result.stderr


def test_a_complete_twilio_account_turns_twilio_on():
    result = _text_settings(
        TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="secret", TWILIO_FROM=SENDER
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["twilio"]
