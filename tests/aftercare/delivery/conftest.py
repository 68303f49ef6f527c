"""Fixtures for the text tests: the app pointed at a local Twilio (twilio_api.TwilioApi)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aftercare.delivery.twilio_api import TwilioApi, twilio_api

SENDER = "+447700900000"


@pytest.fixture
def twilio(settings) -> Iterator[TwilioApi]:
    """A running TwilioApi, with TEXT_BACKEND="twilio" and the TWILIO_* settings on it."""
    with twilio_api() as api:
        settings.TEXT_BACKEND = "twilio"
        settings.TWILIO_ACCOUNT_SID = api.account_sid
        settings.TWILIO_AUTH_TOKEN = api.auth_token
        settings.TWILIO_FROM = SENDER
        settings.TWILIO_API_URL = api.url
        settings.TEXT_TIMEOUT_SECONDS = 2
        yield api
