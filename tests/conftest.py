"""Shared fixtures, and the rule for tests that need a real service.

Tests marked `postgres`, `redis` or `browser` skip, with the reason, when that
service is missing; under CI=true a missing service stops the run instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client

from aftercare.delivery.text_transports import OutgoingText, outbox
from clinic.models import StaffRole
from tests.factories import ClinicFactory, PatientFactory, StaffMembershipFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# refuses to run there unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _redis_reachable() -> bool:
    url = settings.REDIS_URL
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def _missing_services() -> dict[str, str]:
    missing = {}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing["postgres"] = "needs PostgreSQL: set DATABASE_URL or start it on 127.0.0.1:5432"
    if not _redis_reachable():
        missing["redis"] = "needs Redis: set REDIS_URL or start it on 127.0.0.1:6379"
    if not os.path.exists(CHROMIUM):
        missing["browser"] = "needs Debian's chromium (apt-get install chromium)"
    return missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _missing_services()
    needed = {name for item in items for name in missing if name in item.keywords}
    if needed and os.environ.get("CI", "").lower() == "true":
        reasons = "; ".join(missing[name] for name in sorted(needed))
        raise pytest.UsageError(f"CI=true and a service the tests need is missing: {reasons}")
    for item in items:
        for name, reason in missing.items():
            if name in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # Most tests make users (every treatment has a practitioner); PBKDF2 would dominate
    # the run time. Hashing and checking both use this list, so logins still work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def texts_in_memory(settings) -> Iterator[list[OutgoingText]]:
    """Texts "sent" during a test land in text_transports.outbox, as emails in mail.outbox."""
    settings.TEXT_BACKEND = "memory"
    outbox.clear()
    yield outbox
    outbox.clear()


@pytest.fixture
def clinic(db):
    return ClinicFactory()


@pytest.fixture
def practitioner(clinic):
    return StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user


@pytest.fixture
def front_desk(clinic):
    return StaffMembershipFactory(clinic=clinic, role=StaffRole.FRONT_DESK).user


@pytest.fixture
def practitioner_client(practitioner) -> Client:
    client = Client()
    client.force_login(practitioner)
    return client


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic)


@pytest.fixture
def other_clinic_patient(db):
    return PatientFactory(clinic=ClinicFactory(name="Another Clinic"))


@pytest.fixture
def smtp_sink(settings):
    """A running SMTP sink, with Django's email settings pointed at it."""
    from tests.smtp_sink import SmtpSink

    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield sink
    sink.stop()
