"""Fixtures for the delivery tests: the app pointed at a local Twilio (twilio_api.TwilioApi),
and real Celery workers and beats for the fault tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.aftercare.delivery.twilio_api import TwilioApi, twilio_api
from tests.celery_processes import (
    FAULT_BROKER_DB,
    FAULT_REMINDER_SETTINGS,
    CeleryProcesses,
    celery_env,
    redis_url_on_db,
)
from tests.smtp_sink import SmtpSink

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


@pytest.fixture
def celery_processes(tmp_path: Path) -> Iterator[Callable[..., CeleryProcesses]]:
    """Make the test's CeleryProcesses, sending emails to an SMTP sink or texts to a
    TwilioApi; `overrides` win over FAULT_REMINDER_SETTINGS. Every process is stopped
    afterwards and its log's tail printed (pytest shows it when the test fails)."""
    broker_url = redis_url_on_db(settings.REDIS_URL, FAULT_BROKER_DB)
    redis.Redis.from_url(broker_url).flushdb()
    made: list[CeleryProcesses] = []

    def make(to: SmtpSink | TwilioApi, **overrides: str) -> CeleryProcesses:
        texts = to if isinstance(to, TwilioApi) else None
        env = celery_env(
            # With texts only, no email is due: nothing listens at that address.
            email_url=to.url if isinstance(to, SmtpSink) else "smtp://127.0.0.1:9",
            var_dir=tmp_path,
            broker_url=broker_url,
            twilio=texts,
            **(FAULT_REMINDER_SETTINGS | overrides),
        )
        processes = CeleryProcesses(env=env, folder=tmp_path)
        made.append(processes)
        return processes

    yield make
    # Before the database flush of the transactional test: nothing may still hold rows.
    for processes in made:
        processes.stop_all()
        print(processes.report())
