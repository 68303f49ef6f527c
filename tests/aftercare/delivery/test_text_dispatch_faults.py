"""Text reminders under faults, with real Celery processes, Redis, PostgreSQL and the local
Twilio stand-in (twilio_api.TwilioApi).

Texts are rows of the reminder table and go through the claim / lease / fence path the
email fault tests (test_dispatch_faults.py) prove; these tests prove the same promise for
texts, the same way: `celery worker` and `celery beat` subprocesses against the test
database, sending through the twilio SDK to the stand-in, while a worker is SIGKILLed
mid-batch, two workers and two beats run at once, Twilio refuses connections or answers
429 for a while, or the patient texts STOP (through the real inbound webhook) while a
batch is being sent.

Every text must reach Twilio, and once. The only duplicate allowed is the text in flight
when a worker dies: the worker hands one text at a time to Twilio and commits its record
before the next. A text does not carry a Message-ID as an email does, so a duplicate is
seen by the patient: the allowance stays at one, for one number.
"""

from __future__ import annotations

import re
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.cookiejar import CookieJar
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.delivery.reminders import new_message_id
from aftercare.delivery.text_consent import TEXTS_STOPPED
from aftercare.models import DeliveryEventType, Reminder, ReminderStatus, SentMessage
from aftercare.plans.services import plan_create
from aftercare.tasks import send_plan_reminders_now
from clinic.celery import app as celery_app
from clinic.models import Clinic, StaffRole
from patients.models import Channel, ConsentChange, ConsentSource, Patient
from tests.aftercare.delivery.test_worker_e2e import _daytime_zone
from tests.aftercare.delivery.twilio_api import (
    TwilioApi,
    TwilioRequest,
    inbound_message_params,
    num_segments,
    rate_limited,
    signed_form_post,
    success,
    twilio_api,
)
from tests.celery_processes import FAULT_BATCH_SIZE as BATCH_SIZE
from tests.celery_processes import TWILIO_SENDER, CeleryProcesses, celery_env
from tests.factories import (
    ClinicFactory,
    PatientFactory,
    StaffMembershipFactory,
    TreatmentFactory,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

N = 60
PATIENTS = 6
DELIVERY_TIMEOUT = 30.0
OUTAGE_SECONDS = 6
ARRIVAL_SECONDS = 15
LINK = re.compile(r"https?://\S+/p/[^/\s]+/[^/\s]+/")


def texting_clinic() -> Clinic:
    """A clinic where it is early afternoon now: its texting hours have begun, whatever the
    hour of the run, so no text waits for the morning."""
    return ClinicFactory(timezone=_daytime_zone(timezone.now()))


def make_due_texts(count: int = N) -> dict[int, str]:
    """`count` text reminders due now, over a few patients who agreed to texts only (each
    with a number of their own); reminder id -> number.

    As in make_due_reminders: real plans, then extra rows of them (each with a label of its
    own, so no two texts read the same), all due a minute ago; beat's ticks do the work.
    """
    now = timezone.now()
    clinic = texting_clinic()
    plans = []
    with mock.patch.object(send_plan_reminders_now, "delay"):
        for i in range(PATIENTS):
            patient = PatientFactory(
                clinic=clinic,
                phone=f"+4477009001{i:02d}",
                email_consent=False,
                email_consent_at=None,
                text_consent=True,
                text_consent_at=now,
            )
            treatment = TreatmentFactory(patient=patient, performed_at=now - timedelta(hours=2))
            plans.append(plan_create(treatment=treatment, now=now))
    past = now - timedelta(minutes=1)
    planned = Reminder.objects.filter(plan__in=plans, status=ReminderStatus.PENDING)
    planned.update(due_at=past, next_attempt_at=past)
    extra = [
        Reminder(
            plan=plans[i % PATIENTS],
            patient=plans[i % PATIENTS].treatment.patient,
            channel=Channel.TEXT,
            kind=f"fault-{i}",
            label=f"Check {i}",
            covers="How your skin is doing.",
            day_number=1,
            due_at=past,
            next_attempt_at=past,
            message_id=new_message_id(),
        )
        for i in range(count - planned.count())
    ]
    Reminder.objects.bulk_create(extra)
    rows = Reminder.objects.filter(plan__in=plans).select_related("patient")
    assert len(rows) == count
    assert {row.channel for row in rows} == {Channel.TEXT}
    assert all(row.status == ReminderStatus.PENDING and row.plan.is_current for row in rows)
    return {row.pk: str(row.patient.phone) for row in rows}


class TimedOut(Exception):
    """Something the test waits for did not happen in time."""


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimedOut(f"timed out after {timeout:.0f} s waiting for {what}")


def texts_received(api: TwilioApi) -> Counter[tuple[str, str]]:
    """(number, body) of every text Twilio accepted, how many times each."""
    return Counter((request.to or "", request.body or "") for request in api.accepted)


def messages_to(api: TwilioApi, number: str) -> list[TwilioRequest]:
    """Every message request for `number` that reached Twilio, accepted or not."""
    return [r for r in api.requests if r.method == "POST" and r.to == number]


def wait_for_texts(api: TwilioApi, due: dict[int, str], *, timeout: float = DELIVERY_TIMEOUT):
    """Every row says `sent`, and at least as many texts reached Twilio."""

    def delivered() -> bool:
        return (
            len(api.accepted) >= len(due)
            and not Reminder.objects.exclude(status=ReminderStatus.SENT).exists()
        )

    try:
        wait_until(delivered, timeout=timeout, what="every text to be sent")
    except TimedOut:
        counts = Counter(Reminder.objects.values_list("status", flat=True))
        raise TimedOut(
            f"not sent in {timeout:.0f} s: Twilio accepted {len(api.accepted)} of {len(due)};"
            f" rows by status: {dict(counts)}"
        ) from None


def assert_texted(api: TwilioApi, due: dict[int, str], *, duplicates_allowed: int = 0) -> None:
    """Every text reached Twilio for its patient's number, with one copy in the clinic's
    records; nothing else went, and at most `duplicates_allowed` texts went twice."""
    rows = Reminder.objects.all()
    assert {row.status for row in rows} == {ReminderStatus.SENT}
    assert all(row.sent_at is not None for row in rows)
    copies = list(SentMessage.objects.all())
    per_row = Counter(copy.reminder_id for copy in copies)
    assert set(per_row) == set(due)
    assert set(per_row.values()) == {1}
    accepted = {request.sid: request for request in api.accepted}
    for copy in copies:
        # The copy names the message Twilio accepted: this row's text reached it.
        assert copy.provider_message_id in accepted
        assert accepted[copy.provider_message_id].to == copy.to == due[copy.reminder_id]
    counts = texts_received(api)
    assert len(counts) == len(due), "two rows' texts read the same, or an unknown text went"
    assert {number for number, _ in counts} <= set(due.values())
    twice = {key: n for key, n in counts.items() if n > 1}
    assert sum(n - 1 for n in twice.values()) <= duplicates_allowed, twice


@pytest.fixture
def twilio() -> Iterator[TwilioApi]:
    with twilio_api() as api:
        yield api


@pytest.fixture
def twilio_webhooks(settings, live_server, twilio: TwilioApi) -> str:
    """This process answers Twilio's webhooks on `live_server`, checking the stand-in's
    signatures; returns the server's address (the workers' SITE_URL)."""
    settings.SITE_URL = live_server.url
    settings.TEXT_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = twilio.auth_token
    settings.TWILIO_FROM = TWILIO_SENDER
    settings.TWILIO_API_URL = twilio.url
    return str(live_server.url)


def test_a_worker_killed_mid_batch_loses_no_text(twilio, celery_processes):
    due = make_due_texts()
    twilio.answer_always(success(delay=0.05))
    processes = celery_processes(twilio)
    processes.beat("b1")
    worker = processes.worker("w1")

    def mid_batch() -> bool:
        # Frozen, the worker cannot finish its batch between this check and the kill.
        if len(twilio.accepted) < 25:
            return False
        worker.pause()
        if Reminder.objects.filter(status=ReminderStatus.SENDING).exists():
            return True
        worker.resume()
        return False

    wait_until(mid_batch, timeout=DELIVERY_TIMEOUT, what="the worker to be mid-batch")
    worker.kill()
    time.sleep(0.2)  # A statement the worker had sent may still complete on the server.
    stranded = Reminder.objects.filter(status=ReminderStatus.SENDING).count()
    assert 0 < stranded <= BATCH_SIZE
    assert len(texts_received(twilio)) < N

    processes.worker("w2")
    wait_for_texts(twilio, due)

    assert_texted(twilio, due, duplicates_allowed=1)
    # The rows the dead worker held were claimed again once its lease ran out.
    assert Reminder.objects.filter(attempts__gte=2).count() >= stranded


def test_two_workers_and_two_beats_send_each_text_once(twilio, celery_processes):
    due = make_due_texts()
    twilio.answer_always(success(delay=0.02))
    # No worker dies: a long lease keeps a batch slowed by a loaded machine from being
    # taken over (and sent twice) by the other worker.
    processes = celery_processes(twilio, REMINDER_LEASE_SECONDS="30")
    for name in ("b1", "b2"):
        processes.beat(name, wait=False)
    for name in ("w1", "w2"):
        processes.worker(name, wait=False)
    processes.wait_ready()

    wait_for_texts(twilio, due)
    assert_texted(twilio, due)
    logs = {process.name: process.log() for process in processes.started}
    assert all(re.search(r"reminders: [1-9]\d* sent", logs[name]) for name in ("w1", "w2"))
    assert all("Sending due task" in logs[name] for name in ("b1", "b2"))


def test_twilio_refusing_connections_for_a_while_only_delays_texts(twilio, celery_processes):
    due = make_due_texts()
    twilio.answer_always(success(delay=0.02))
    # A retry window shorter than the outage: an unreachable Twilio does not count.
    processes = celery_processes(twilio, REMINDER_RETRY_WINDOW_HOURS="0")
    processes.beat("b1")
    processes.worker("w1")

    wait_until(lambda: len(twilio.accepted) >= 20, timeout=DELIVERY_TIMEOUT, what="20 texts")
    twilio.refuse_connections()
    wait_until(
        lambda: Reminder.objects.filter(last_error__startswith="cannot reach Twilio").exists(),
        timeout=DELIVERY_TIMEOUT,
        what="the worker to meet the refusals",
    )
    time.sleep(OUTAGE_SECONDS)
    assert not Reminder.objects.filter(status=ReminderStatus.FAILED).exists()
    assert len(texts_received(twilio)) < N
    twilio.accept_connections()

    wait_for_texts(twilio, due)
    assert_texted(twilio, due)


def test_twilio_rate_limiting_for_a_while_only_delays_texts(twilio, celery_processes):
    due = make_due_texts()
    twilio.answer_always(success(delay=0.02))
    processes = celery_processes(twilio, REMINDER_RETRY_WINDOW_HOURS="0")
    processes.beat("b1")
    processes.worker("w1")

    wait_until(lambda: len(twilio.accepted) >= 20, timeout=DELIVERY_TIMEOUT, what="20 texts")
    twilio.answer_always(rate_limited())
    wait_until(
        lambda: Reminder.objects.filter(last_error__contains="429").exists(),
        timeout=DELIVERY_TIMEOUT,
        what="the worker to meet the 429s",
    )
    time.sleep(OUTAGE_SECONDS)
    assert not Reminder.objects.filter(status=ReminderStatus.FAILED).exists()
    assert len(texts_received(twilio)) < N
    # The worker kept coming back during the limit, and was answered 429 each time.
    assert sum(1 for r in twilio.requests if r.status == 429) >= 2
    twilio.answer_always(None)

    wait_for_texts(twilio, due)
    assert_texted(twilio, due)


def test_no_text_reaches_a_number_after_its_stop_but_one_in_flight(
    twilio, twilio_webhooks, celery_processes
):
    due = make_due_texts()
    leaving = Patient.objects.order_by("pk").first()
    number = str(leaving.phone)
    theirs = {pk for pk, to in due.items() if to == number}
    # Their texts are the first due, so the first batch holds them all; each is slow
    # enough at Twilio for the STOP to come while several are still to go.
    Reminder.objects.filter(patient=leaving).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    twilio.answer_always(success(delay=0.05))
    twilio.answer_for(number, success(delay=0.5))
    # No worker dies: a lease longer than the slowed batch.
    processes = celery_processes(twilio, SITE_URL=twilio_webhooks, REMINDER_LEASE_SECONDS="20")
    processes.beat("b1")
    processes.worker("w1")

    theirs_in_batch = Reminder.objects.filter(patient=leaving, status=ReminderStatus.SENDING)
    wait_until(
        lambda: len(messages_to(twilio, number)) >= 1 and theirs_in_batch.count() >= 5,
        timeout=DELIVERY_TIMEOUT,
        what="a batch with several of the patient's texts still to send",
    )
    stop = inbound_message_params(
        account_sid=twilio.account_sid,
        from_=number,
        to=TWILIO_SENDER,
        body="STOP",
        opt_out_type="STOP",
    )
    status, _ = signed_form_post(
        twilio_webhooks + reverse("texts:twilio_inbound"), stop, twilio.auth_token
    )
    # Twilio's record once the webhook has answered: a request it gets later was sent later.
    before = len(messages_to(twilio, number))
    assert status == 200

    wait_until(
        lambda: (
            not Reminder.objects.filter(
                status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING]
            ).exists()
        ),
        timeout=DELIVERY_TIMEOUT,
        what="every text to be sent or cancelled",
    )
    time.sleep(0.5)  # a text still on its way to Twilio
    after = len(messages_to(twilio, number))
    assert after <= before + 1
    assert len(theirs) > after  # some of theirs were stopped
    rows = Reminder.objects.filter(patient=leaving).exclude(status=ReminderStatus.SENT)
    assert set(rows.values_list("status", "cancelled_reason")) == {
        (ReminderStatus.CANCELLED, TEXTS_STOPPED)
    }
    assert not Patient.objects.get(pk=leaving.pk).text_consent
    assert ConsentChange.objects.filter(
        patient=leaving, given=False, source=ConsentSource.TEXT_STOP, channel=Channel.TEXT
    ).exists()
    # Everyone else got each of their texts, once.
    counts = texts_received(twilio)
    others = Reminder.objects.exclude(patient=leaving)
    assert set(others.values_list("status", flat=True)) == {ReminderStatus.SENT}
    assert sum(n for (to, _), n in counts.items() if to != number) == others.count()
    assert all(n == 1 for (to, _), n in counts.items() if to != number)


def test_the_workers_texts_are_two_segments_at_most_and_their_link_opens_the_plan(
    twilio, twilio_webhooks, celery_processes
):
    due = make_due_texts()
    processes = celery_processes(twilio, SITE_URL=twilio_webhooks)
    processes.beat("b1")
    processes.worker("w1")

    wait_for_texts(twilio, due)
    assert_texted(twilio, due)
    bodies = [request.body or "" for request in twilio.accepted]
    assert max(num_segments(body) for body in bodies) <= 2
    links = [LINK.findall(body) for body in bodies]
    assert all(len(found) == 1 and found[0].startswith(twilio_webhooks) for found in links)
    # The clinic's copy keeps the text with the patient's key masked, not the key itself.
    copy = SentMessage.objects.get(provider_message_id=twilio.accepted[0].sid)
    assert links[0][0] not in copy.text_body
    # A phone's browser: it keeps the session cookie and follows the redirect.
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with browser.open(links[0][0], timeout=10) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def queue() -> Iterator[str]:
    """The test's tasks go to a queue only its worker reads (as in test_worker_e2e)."""
    name = f"aftercare-texts-e2e-{uuid.uuid4().hex[:12]}"
    previous = celery_app.conf.task_routes
    celery_app.conf.update(task_routes={"aftercare.tasks.*": {"queue": name}})
    yield name
    celery_app.conf.update(task_routes=previous)


def _performed_field(moment: datetime, zone: str) -> str:
    """The staff form's performed_at, as staff of a clinic in `zone` type it."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def test_a_treatment_saved_on_the_staff_page_texts_day_0_and_its_delivery_shows(
    twilio, twilio_webhooks, queue, tmp_path
):
    env = celery_env(
        email_url="smtp://127.0.0.1:9",
        var_dir=tmp_path,
        twilio=twilio,
        SITE_URL=twilio_webhooks,
    )
    processes = CeleryProcesses(env=env, folder=tmp_path)
    try:
        worker = processes.worker("e2e", queues=(queue,))
        clinic = texting_clinic()
        practitioner = StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user
        patient = PatientFactory(
            clinic=clinic,
            phone="+447700900555",
            email_consent=False,
            email_consent_at=None,
            text_consent=True,
            text_consent_at=timezone.now(),
        )
        staff = Client()
        staff.force_login(practitioner)
        started = time.monotonic()
        response = staff.post(
            reverse("patients:treatment_create", args=[patient.pk]),
            {
                "practitioner": practitioner.pk,
                "performed_at": _performed_field(
                    timezone.now() - timedelta(minutes=30), clinic.timezone
                ),
                "depth_mm": "1.5",
                "passes": "3",
                "areas": ["cheeks"],
                "device": "pen",
                "notes": "",
            },
        )
        assert response.status_code == 302

        wait_until(
            lambda: bool(twilio.accepted),
            timeout=ARRIVAL_SECONDS,
            what=f"the day-0 text; worker log:\n{worker.tail()}",
        )
        elapsed = time.monotonic() - started
        assert worker.wait_until_idle()
        assert elapsed < ARRIVAL_SECONDS
        [text] = twilio.accepted
        assert text.to == str(patient.phone)
        assert text.status_callback == twilio_webhooks + reverse("texts:twilio_status")
        day_0 = Reminder.objects.get(patient=patient, day_number=0, channel=Channel.TEXT)
        assert day_0.status == ReminderStatus.SENT
        assert day_0.sent_messages.get().provider_message_id == text.sid

        assert twilio.send_status_callback(text, "delivered") == 204
        day_0.refresh_from_db()
        assert day_0.delivery_status == DeliveryEventType.DELIVERED
    finally:
        processes.stop_all()
        print(processes.report())
