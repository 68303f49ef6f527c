"""Sending one text at a time, with errors that say what to do.

TEXT_BACKEND picks how (clinic/settings.py): "twilio" sends through Twilio's REST API with
its SDK; "terminal" (development without Twilio) prints each text, link whole, on the
worker's terminal as development emails are; "memory" (tests) keeps them in `outbox`.
Without any, texts are off: staff are not offered them and none are scheduled.

Twilio's answers map onto the email rules (aftercare.delivery.dispatch): no answer, a
refused connection, 401/403/404 (a wrong or revoked key, a wrong account), 429 (rate
limit) and 5xx only delay; a refusal of the message (other 4xx) fails the row. Two
refusals are about the recipient: 21610, the number replied STOP (consent for texts is
withdrawn), and 21211/21614/21217/21612, a number that cannot get texts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Protocol

import requests
from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from aftercare.delivery.transports import TransportError

# Twilio's HTTP statuses about the account or Twilio itself, not the message.
PROVIDER_UNAVAILABLE = {401, 403, 404, 408, 429}
# Twilio error codes: https://www.twilio.com/docs/api/errors
UNSUBSCRIBED_RECIPIENT = 21610
INVALID_NUMBERS = {
    21211,  # invalid 'To' phone number
    21217,  # phone number does not appear to be valid
    21612,  # the 'To' number cannot be reached by this sender (a landline, say)
    21614,  # 'To' number is not a valid mobile number
}
RULE = "-" * 72


@dataclass(frozen=True)
class OutgoingText:
    to: str  # E.164
    body: str


class TextTransport(Protocol):
    def send(self, text: OutgoingText) -> str:
        """Send one text; return the provider's id for it."""

    def close(self) -> None: ...


def texts_enabled() -> bool:
    return bool(settings.TEXT_BACKEND)


def text_transport() -> TextTransport:
    backend = settings.TEXT_BACKEND
    if backend == "twilio":
        return TwilioTransport()
    if backend == "terminal":
        return TerminalTransport()
    if backend == "memory":
        return MemoryTransport()
    raise TransportError(
        "texts are not set up (TEXT_BACKEND)", permanent=False, connection_lost=True
    )


def status_callback_url() -> str:
    """Where Twilio reports what became of a text (aftercare.delivery.text_webhooks)."""
    return f"{settings.SITE_URL}{reverse('texts:twilio_status')}"


class TwilioTransport:
    """Twilio's SDK, one client (one HTTP session) per batch."""

    def __init__(self) -> None:
        http = TwilioHttpClient(timeout=settings.TEXT_TIMEOUT_SECONDS)
        self._client = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http
        )
        if settings.TWILIO_API_URL:
            # A regional or test endpoint in place of https://api.twilio.com.
            self._client.api.base_url = settings.TWILIO_API_URL

    def send(self, text: OutgoingText) -> str:
        sender = settings.TWILIO_FROM
        origin = {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
        try:
            message = self._client.messages.create(
                to=text.to, body=text.body, status_callback=status_callback_url(), **origin
            )
        except TwilioRestException as error:
            raise twilio_error(error) from error
        except requests.RequestException as error:
            raise TransportError(
                f"cannot reach Twilio: {type(error).__name__}",
                permanent=False,
                connection_lost=True,
            ) from error
        return str(message.sid or "")

    def close(self) -> None:
        session = getattr(self._client.http_client, "session", None)
        if session is not None:
            session.close()


def twilio_error(error: TwilioRestException) -> TransportError:
    status, code = error.status, error.code
    if status in PROVIDER_UNAVAILABLE or status >= 500:
        return TransportError(
            f"Twilio cannot take texts now: {status} (error {code})",
            permanent=False,
            connection_lost=True,
        )
    if code == UNSUBSCRIBED_RECIPIENT:
        return TransportError(
            "the number replied STOP (Twilio error 21610)",
            permanent=True,
            recipient_problem="opted_out",
        )
    if code in INVALID_NUMBERS:
        return TransportError(
            f"not a number that can get texts (Twilio error {code})",
            permanent=True,
            recipient_problem="invalid",
        )
    return TransportError(f"Twilio refused the text: {status} (error {code})", permanent=True)


class TerminalTransport:
    """Development: each text on the process's own terminal (see clinic.terminal_email)."""

    def __init__(self) -> None:
        self._stream = sys.__stdout__ or sys.stdout

    def send(self, text: OutgoingText) -> str:
        self._stream.write(f"{RULE}\nText to {text.to}\n\n{text.body}\n{RULE}\n")
        self._stream.flush()
        return ""

    def close(self) -> None:
        return None


# Tests read the texts "sent" here, as they read django.core.mail.outbox.
outbox: list[OutgoingText] = []


class MemoryTransport:
    def send(self, text: OutgoingText) -> str:
        outbox.append(text)
        return f"SM-memory-{len(outbox)}"

    def close(self) -> None:
        return None
