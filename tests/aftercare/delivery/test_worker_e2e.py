"""End to end: a treatment saved here, a real Celery worker process, Redis, and the SMTP sink.

The worker is a subprocess (tests.celery_processes) on a queue of its own, so other
workers sharing this Redis cannot take its tasks. The tests are transactional: the
worker only sees committed rows, and `transaction.on_commit` must really fire.
If another test flushes Redis meanwhile, a queued task vanishes: rerun before
concluding anything from a missing email.
"""

from __future__ import annotations

import re
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.cookiejar import CookieJar
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from aftercare.models import Reminder, ReminderStatus
from aftercare.tasks import dispatch_due_reminders
from clinic.celery import app as celery_app
from patients.models import Patient
from patients.services import treatment_create
from tests.celery_processes import CeleryProcess, CeleryProcesses, celery_env
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory, UserFactory
from tests.smtp_sink import SmtpSink

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ARRIVAL_SECONDS = 15


def _daytime_zone(moment: datetime) -> str:
    """A fixed-offset zone where `moment` is early afternoon.

    Day 0 goes out at once only inside the local daytime window, so the clinic
    lives wherever it is 13:00 now, whatever the hour of the test run.
    """
    offset = 13 - moment.astimezone(UTC).hour  # -10 .. +13, all valid Etc zones
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc signs are inverted


def _eventually(check: Callable[[], object], timeout: float = ARRIVAL_SECONDS) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    return check()


def _messages_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [message for message in sink.messages if address in message["To"]]


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def queue() -> Iterator[str]:
    """This module's tasks go to a queue only its worker reads."""
    name = f"aftercare-e2e-{uuid.uuid4().hex[:12]}"
    previous = celery_app.conf.task_routes
    celery_app.conf.update(task_routes={"aftercare.tasks.*": {"queue": name}})
    yield name
    celery_app.conf.update(task_routes=previous)


@pytest.fixture(scope="module")
def worker(
    django_db_setup, django_db_blocker, tmp_path_factory, live_server, sink, queue
) -> Iterator[CeleryProcess]:
    folder = tmp_path_factory.mktemp("celery")
    with django_db_blocker.unblock():
        env = celery_env(email_url=sink.url, var_dir=folder, SITE_URL=live_server.url)
    processes = CeleryProcesses(env=env, folder=folder)
    try:
        yield processes.worker("e2e", queues=(queue,))
    finally:
        processes.stop_all()


@pytest.fixture
def saved(transactional_db, worker, sink) -> Iterator[SimpleNamespace]:
    """A treatment saved the way the staff form saves it, and the clock started."""
    cache.clear()  # the live server shares this process's cache, and its link rate limit
    now = timezone.now()
    clinic = ClinicFactory(timezone=_daytime_zone(now), name="Harbour Skin Clinic")
    patient = PatientFactory(clinic=clinic, email=f"e2e-{uuid.uuid4().hex[:8]}@example.com")
    practitioner = UserFactory()
    started = time.monotonic()
    with transaction.atomic():
        treatment = treatment_create(
            patient=patient,
            practitioner=practitioner,
            treatment=TreatmentFactory.build(
                patient=None,
                clinic=None,
                practitioner=None,
                performed_at=now - timedelta(minutes=5),
            ),
        )
    yield SimpleNamespace(patient=patient, treatment=treatment, started=started)
    # The tables are emptied after the test: a task still running there would deadlock with it.
    assert worker.wait_until_idle(), worker.log()


@pytest.fixture
def delivered(saved, sink, worker) -> SimpleNamespace:
    messages = _eventually(lambda: _messages_to(sink, saved.patient.email))
    assert messages, f"no email within {ARRIVAL_SECONDS} s; worker log:\n{worker.log()}"
    saved.elapsed = time.monotonic() - saved.started
    saved.message = messages[0]
    saved.text = saved.message.get_body(("plain",)).get_content()
    return saved


def test_a_saved_treatment_emails_day_0_within_seconds(delivered):
    assert delivered.elapsed < ARRIVAL_SECONDS
    day_0 = Reminder.objects.get(plan__treatment=delivered.treatment, day_number=0)
    assert delivered.message["Message-ID"].strip() == day_0.message_id


def test_the_day_0_row_is_recorded_as_sent(delivered, worker):
    # The worker writes the outcome just after the sink accepted the message.
    assert worker.wait_until_idle()
    day_0 = Reminder.objects.get(plan__treatment=delivered.treatment, day_number=0)
    assert day_0.status == ReminderStatus.SENT
    assert day_0.sent_messages.count() == 1


def test_only_the_day_0_email_is_sent_at_once(delivered, sink):
    time.sleep(0.5)  # give a wrongly eager worker the chance to send more
    assert len(_messages_to(sink, delivered.patient.email)) == 1
    waiting = Reminder.objects.filter(plan__treatment=delivered.treatment, day_number__gt=0)
    assert waiting.exists()
    assert set(waiting.values_list("status", flat=True)) == {ReminderStatus.PENDING}


def test_the_emailed_link_opens_day_0_of_the_plan(delivered, live_server):
    lines = delivered.text.splitlines()
    links = [line for line in lines if re.fullmatch(r"https?://\S+/p/[^/\s]+/[^/\s]+/", line)]
    assert len(links) == 1
    assert links[0].startswith(live_server.url)
    # A browser: it keeps the session cookie and follows the redirect to the token-free page.
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with browser.open(links[0], timeout=10) as response:
        body = response.read().decode()
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
    assert "<h1>Treatment day</h1>" in body


def test_the_list_unsubscribe_url_stops_every_pending_reminder(delivered, live_server):
    header = delivered.message["List-Unsubscribe"].strip()  # the sender may fold it
    url = re.fullmatch(r"<(https?://[^>]+)>", header).group(1)
    assert url.startswith(live_server.url)
    # RFC 8058: the mail provider POSTs this body, with no cookie and no CSRF token.
    request = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - live_server URL
        assert response.status == 200
    rows = Reminder.objects.filter(patient=delivered.patient)
    assert not rows.filter(status=ReminderStatus.PENDING).exists()
    assert set(rows.exclude(day_number=0).values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, "unsubscribed")
    }
    assert not Patient.objects.get(pk=delivered.patient.pk).email_consent


def test_the_beat_task_sends_a_reminder_that_has_come_due(delivered, sink, worker):
    day_1 = Reminder.objects.filter(plan__treatment=delivered.treatment, day_number__gt=0).first()
    Reminder.objects.filter(pk=day_1.pk).update(next_attempt_at=timezone.now())
    dispatch_due_reminders.delay()
    arrived = _eventually(
        lambda: [
            message
            for message in _messages_to(sink, delivered.patient.email)
            if message["Message-ID"].strip() == day_1.message_id
        ]
    )
    assert len(arrived) == 1, worker.log()
