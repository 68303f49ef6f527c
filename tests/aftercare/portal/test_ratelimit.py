"""Too many bad patient links from one address (aftercare.portal.ratelimit and the link views).

After PATIENT_LINK_FAILURE_LIMIT bad tokens within PATIENT_LINK_FAILURE_WINDOW_SECONDS of
the first one, the address gets the 429 page for every bad token until the window has
passed; a good token always opens (patients share addresses behind clinic Wi-Fi and
carrier NAT). The window runs from the first failure and is not extended by later ones.
With Redis configured the counts are shared by every process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import time_machine
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from aftercare.links import link_addresses, link_current, token_for
from aftercare.models import AftercarePlan, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from aftercare.portal import ratelimit
from aftercare.portal.session import PATIENT_COOKIE_NAME
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db

LIMIT = 3
TOO_MANY = "Too many attempts"
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.PATIENT_LINK_FAILURE_LIMIT = LIMIT
    settings.PATIENT_LINK_FAILURE_WINDOW_SECONDS = 60
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def local_cache():
    """The per-process cache, whatever CACHE_URL says. Its entries expire by time.time(),
    which time-machine moves; Redis expires keys by its own clock, which no fake clock in
    this process reaches."""
    local = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": f"ratelimit-{uuid.uuid4().hex}",
    }
    with override_settings(CACHES={"default": local}):
        yield


@pytest.fixture
def plan() -> AftercarePlan:
    return plan_create(treatment=TreatmentFactory(), now=timezone.now())


def _open_url(plan: AftercarePlan, token: str) -> str:
    return reverse("patient:open", args=[plan.treatment.clinic.slug, token])


def _good(plan: AftercarePlan) -> str:
    return token_for(link_current(plan=plan, now=timezone.now()))


def _bad(number: int) -> str:
    return f"{number:043d}"


def _fail(client: Client, plan: AftercarePlan, times: int, **extra: str) -> list[int]:
    return [client.get(_open_url(plan, _bad(n)), **extra).status_code for n in range(times)]


def test_bad_tokens_up_to_the_limit_get_the_not_found_page(client, plan):
    assert _fail(client, plan, LIMIT) == [404] * LIMIT


def test_a_bad_token_after_the_limit_gets_429(client, plan):
    _fail(client, plan, LIMIT)
    response = client.get(_open_url(plan, _bad(99)))
    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()


def test_the_429_page_gives_the_clinics_phone(client, plan):
    _fail(client, plan, LIMIT)
    html = client.get(_open_url(plan, _bad(99))).content.decode()
    assert 'href="tel:+442079460123"' in html


def test_the_429_page_is_private(client, plan):
    _fail(client, plan, LIMIT)
    response = client.get(_open_url(plan, _bad(99)))
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]


def test_a_refused_bad_token_starts_no_patient_session(client, plan):
    _fail(client, plan, LIMIT)
    assert client.get(_open_url(plan, _bad(99))).status_code == 429
    assert PATIENT_COOKIE_NAME not in client.cookies


def test_after_the_limit_a_good_token_still_opens(client, plan):
    _fail(client, plan, LIMIT)
    response = client.get(_open_url(plan, _good(plan)))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200


def test_a_good_token_after_25_bad_ones_opens_and_the_next_bad_one_is_refused(client, plan, limits):
    limits.PATIENT_LINK_FAILURE_LIMIT = 20  # the default
    statuses = _fail(client, plan, 25)
    assert statuses == [404] * 20 + [429] * 5
    assert client.get(_open_url(plan, _good(plan)), follow=True).status_code == 200
    assert client.get(_open_url(plan, _bad(99))).status_code == 429


def test_after_the_limit_one_click_unsubscribe_with_a_good_token_still_works(client, plan):
    _fail(client, plan, LIMIT)
    url = reverse("patient:one_click_unsubscribe", args=[plan.treatment.clinic.slug, _good(plan)])
    response = client.post(url, ONE_CLICK_BODY, content_type=FORM)
    assert response.status_code == 200
    assert not Reminder.objects.filter(plan=plan, status=ReminderStatus.PENDING).exists()


def test_after_the_limit_one_click_unsubscribe_with_a_bad_token_is_refused(client, plan):
    _fail(client, plan, LIMIT)
    url = reverse("patient:one_click_unsubscribe", args=[plan.treatment.clinic.slug, _bad(99)])
    response = client.post(url, ONE_CLICK_BODY, content_type=FORM)
    assert response.status_code == 429
    assert Reminder.objects.filter(plan=plan, status=ReminderStatus.PENDING).exists()


def test_a_bad_token_gets_the_not_found_page_again_once_the_window_has_passed(
    client, plan, local_cache
):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _fail(client, plan, LIMIT)
        assert client.get(_open_url(plan, _bad(99))).status_code == 429
        clock.shift(59)
        assert client.get(_open_url(plan, _bad(98))).status_code == 429
        clock.shift(1)
        assert client.get(_open_url(plan, _bad(97))).status_code == 404


def test_good_tokens_never_count_towards_the_limit(client, plan):
    token = _good(plan)
    statuses = [client.get(_open_url(plan, token)).status_code for _ in range(LIMIT * 2)]
    assert statuses == [302] * (LIMIT * 2)


def test_bad_one_click_unsubscribes_count_towards_the_limit(client, plan):
    slug = plan.treatment.clinic.slug
    for n in range(LIMIT):
        url = reverse("patient:one_click_unsubscribe", args=[slug, _bad(n)])
        assert client.post(url, ONE_CLICK_BODY, content_type=FORM).status_code == 404
    assert client.get(_open_url(plan, _bad(99))).status_code == 429


def _list_unsubscribe_url(plan: AftercarePlan, token: str | None = None) -> str:
    """The patient's emailed unsubscribe URL, or the same URL with another token."""
    if token is None:
        return urlsplit(link_addresses(link_current(plan=plan, now=timezone.now()))[2]).path
    return reverse("patient:list_unsubscribe", args=[plan.treatment.clinic.slug, token])


def test_bad_list_unsubscribe_tokens_count_towards_the_limit(client, plan):
    for n in range(LIMIT):
        url = _list_unsubscribe_url(plan, f"{n}-{_bad(n)}{_bad(n)}")
        assert client.post(url, ONE_CLICK_BODY, content_type=FORM).status_code == 404
    assert client.get(_open_url(plan, _bad(99))).status_code == 429


def test_after_the_limit_list_unsubscribe_with_a_good_token_still_works(client, plan):
    _fail(client, plan, LIMIT)
    bad = _list_unsubscribe_url(plan, f"1-{_bad(99)}{_bad(99)}")
    assert client.post(bad, ONE_CLICK_BODY, content_type=FORM).status_code == 429
    response = client.post(_list_unsubscribe_url(plan), ONE_CLICK_BODY, content_type=FORM)
    assert response.status_code == 200
    assert not Reminder.objects.filter(plan=plan, status=ReminderStatus.PENDING).exists()


def test_another_address_is_not_blocked(client, plan):
    _fail(client, plan, LIMIT, REMOTE_ADDR="203.0.113.7")
    response = client.get(_open_url(plan, _bad(99)), REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 404


def test_pages_opened_from_the_session_are_not_blocked(client, plan):
    client.get(_open_url(plan, _good(plan)))
    _fail(client, plan, LIMIT)
    response = client.get(reverse("patient:today", args=[plan.treatment.clinic.slug]))
    assert response.status_code == 200


# The counter itself


def _request(address: str = "198.51.100.1"):
    return RequestFactory().get("/p/clinic/x/", REMOTE_ADDR=address)


def test_an_address_is_blocked_once_it_reaches_the_limit():
    request = _request()
    seen = []
    for _ in range(LIMIT):
        seen.append(ratelimit.is_blocked(request))
        ratelimit.record_failure(request)
    seen.append(ratelimit.is_blocked(request))
    assert seen == [False] * LIMIT + [True]


def test_the_window_is_not_extended_by_later_failures(local_cache):
    request = _request()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        ratelimit.record_failure(request)
        clock.shift(30)
        for _ in range(LIMIT - 1):
            ratelimit.record_failure(request)
        assert ratelimit.is_blocked(request)
        clock.shift(30)  # 60 seconds after the first failure, 30 after the last
        assert not ratelimit.is_blocked(request)


# A shared cache that is down (CACHE_URL pointing at a Redis that does not answer)


@pytest.fixture
def cache_down():
    unreachable = {
        "BACKEND": "aftercare.portal.ratelimit.SharedRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "KEY_PREFIX": "aftercare-cache",
    }
    with override_settings(CACHES={"default": unreachable}):
        yield


def test_with_the_cache_down_a_good_link_still_opens(cache_down):
    plan = plan_create(treatment=TreatmentFactory(), now=timezone.now())
    token = token_for(link_current(plan=plan, now=timezone.now()))
    response = Client().get(reverse("patient:open", args=[plan.treatment.clinic.slug, token]))
    assert response.status_code == 302


def test_with_the_cache_down_a_bad_link_gets_the_not_found_page(cache_down):
    plan = plan_create(treatment=TreatmentFactory(), now=timezone.now())
    response = Client().get(reverse("patient:open", args=[plan.treatment.clinic.slug, "x" * 43]))
    assert response.status_code == 404


def test_with_the_cache_down_a_bad_link_past_the_limit_still_gets_the_not_found_page(cache_down):
    plan = plan_create(treatment=TreatmentFactory(), now=timezone.now())
    client = Client()
    statuses = [
        client.get(reverse("patient:open", args=[plan.treatment.clinic.slug, _bad(n)])).status_code
        for n in range(LIMIT + 1)
    ]
    assert statuses == [404] * (LIMIT + 1)


# The cache: Redis when configured, so every process counts the same failures

ROOT = Path(__file__).resolve().parents[3]


def _django_in_a_subprocess(code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` run after django.setup() in a fresh process, as another gunicorn worker."""
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _cache_settings(**env: str) -> list[str]:
    result = _django_in_a_subprocess(
        "from django.conf import settings as s; c = s.CACHES['default']; "
        "print(c['BACKEND'], c.get('LOCATION', '-'))",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_cache_is_redis_at_redis_url_when_cache_url_is_empty():
    assert _cache_settings(REDIS_URL="redis://redis.internal:6379/0", CACHE_URL="") == [
        "aftercare.portal.ratelimit.SharedRedisCache",
        "redis://redis.internal:6379/0",
    ]


def test_cache_url_wins_over_redis_url():
    assert _cache_settings(
        REDIS_URL="redis://redis.internal:6379/0", CACHE_URL="redis://cache.internal:6379/1"
    ) == ["aftercare.portal.ratelimit.SharedRedisCache", "redis://cache.internal:6379/1"]


def test_without_redis_the_cache_is_per_process_memory():
    assert _cache_settings(REDIS_URL="", CACHE_URL="") == [
        "django.core.cache.backends.locmem.LocMemCache",
        "-",
    ]


@pytest.mark.redis
def test_with_redis_the_limit_holds_across_processes(limits):
    # This process and the subprocess each connect to Redis from their own settings, as
    # two gunicorn workers (or two web containers) do.
    assert limits.CACHES["default"]["BACKEND"] == "aftercare.portal.ratelimit.SharedRedisCache"
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    request = _request(address)
    assert not ratelimit.is_blocked(request)
    result = _django_in_a_subprocess(
        "from django.test import RequestFactory; from aftercare.portal import ratelimit; "
        f"request = RequestFactory().get('/p/clinic/x/', REMOTE_ADDR='{address}'); "
        f"[ratelimit.record_failure(request) for _ in range({LIMIT})]",
        PATIENT_LINK_FAILURE_WINDOW_SECONDS="60",
    )
    assert result.returncode == 0, result.stderr
    assert ratelimit.is_blocked(request)


@pytest.mark.redis
def test_with_redis_the_window_runs_from_the_first_failure_by_the_redis_clock(limits):
    # Redis expires keys by its own clock, which time-machine cannot move, so this test
    # waits for real: Django's Redis cache sets whole-second expiries, and one second is
    # the shortest window there is.
    assert limits.CACHES["default"]["BACKEND"] == "aftercare.portal.ratelimit.SharedRedisCache"
    limits.PATIENT_LINK_FAILURE_WINDOW_SECONDS = 1
    request = _request(f"198.51.100.{uuid.uuid4().int % 250 + 1}")
    ratelimit.record_failure(request)
    window_ends = time.monotonic() + 1  # at the latest: Redis set the expiry before this
    time.sleep(0.5)
    for _ in range(LIMIT - 1):
        ratelimit.record_failure(request)
    assert ratelimit.is_blocked(request)
    # Had the later failures restarted the window, it would still run for half a second.
    time.sleep(max(0.0, window_ends + 0.05 - time.monotonic()))
    assert not ratelimit.is_blocked(request)


@pytest.mark.redis
def test_clearing_the_redis_cache_leaves_the_brokers_keys_alone(limits):
    server = redis.Redis.from_url(limits.CACHES["default"]["LOCATION"])
    broker_key = f"_kombu.binding.test-{uuid.uuid4().hex}"
    server.set(broker_key, "celery", ex=60)
    ratelimit.record_failure(_request())
    try:
        assert list(server.scan_iter("aftercare-cache:*"))
        cache.clear()
        assert not list(server.scan_iter("aftercare-cache:*"))
        assert server.get(broker_key) == b"celery"
    finally:
        server.delete(broker_key)
