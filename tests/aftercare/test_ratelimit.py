"""Too many bad patient links from one address (aftercare.ratelimit and the link views).

After PATIENT_LINK_FAILURE_LIMIT bad tokens within PATIENT_LINK_FAILURE_WINDOW_SECONDS of
the first one, the address gets the 429 page for every token, a good one included, until
the window has passed. The window runs from the first failure and is not extended by
later ones.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from aftercare import ratelimit
from aftercare.default_guidance import DEFAULT_GUIDANCE
from aftercare.guidance import install_guidance
from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, RecoveryPhase, Reminder, ReminderStatus
from aftercare.patient_views import SESSION_KEY
from aftercare.services import plan_create
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db

LIMIT = 3
TOO_MANY = "Too many attempts"
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def default_guidance(db) -> None:
    # A transactional test elsewhere may have flushed the rows the data migration installed.
    if not RecoveryPhase.objects.exists():
        from aftercare import models

        install_guidance(DEFAULT_GUIDANCE, models)


@pytest.fixture(autouse=True)
def limits(settings):
    settings.PATIENT_LINK_FAILURE_LIMIT = LIMIT
    settings.PATIENT_LINK_FAILURE_WINDOW_SECONDS = 60
    cache.clear()
    yield settings
    cache.clear()


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


def test_after_the_limit_a_good_token_is_refused_too(client, plan):
    _fail(client, plan, LIMIT)
    response = client.get(_open_url(plan, _good(plan)))
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_after_the_limit_one_click_unsubscribe_is_refused_too(client, plan):
    _fail(client, plan, LIMIT)
    url = reverse("patient:one_click_unsubscribe", args=[plan.treatment.clinic.slug, _good(plan)])
    response = client.post(url, ONE_CLICK_BODY, content_type=FORM)
    assert response.status_code == 429
    assert Reminder.objects.filter(plan=plan, status=ReminderStatus.PENDING).exists()


def test_a_good_token_opens_again_once_the_window_has_passed(client, plan, limits):
    limits.PATIENT_LINK_FAILURE_WINDOW_SECONDS = (
        1  # real seconds: a Redis cache ignores fake clocks
    )
    _fail(client, plan, LIMIT)
    assert client.get(_open_url(plan, _good(plan))).status_code == 429
    time.sleep(1.2)
    assert client.get(_open_url(plan, _good(plan))).status_code == 302


def test_good_tokens_never_count_towards_the_limit(client, plan):
    token = _good(plan)
    statuses = [client.get(_open_url(plan, token)).status_code for _ in range(LIMIT * 2)]
    assert statuses == [302] * (LIMIT * 2)


def test_bad_one_click_unsubscribes_count_towards_the_limit(client, plan):
    slug = plan.treatment.clinic.slug
    for n in range(LIMIT):
        url = reverse("patient:one_click_unsubscribe", args=[slug, _bad(n)])
        assert client.post(url, ONE_CLICK_BODY, content_type=FORM).status_code == 404
    assert client.get(_open_url(plan, _good(plan))).status_code == 429


def test_another_address_is_not_blocked(client, plan):
    _fail(client, plan, LIMIT, REMOTE_ADDR="203.0.113.7")
    response = client.get(_open_url(plan, _good(plan)), REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 302


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


def test_the_window_is_not_extended_by_later_failures(limits):
    limits.PATIENT_LINK_FAILURE_WINDOW_SECONDS = 1
    request = _request()
    ratelimit.record_failure(request)
    time.sleep(0.6)
    for _ in range(LIMIT - 1):
        ratelimit.record_failure(request)
    assert ratelimit.is_blocked(request)
    time.sleep(0.6)
    assert not ratelimit.is_blocked(request)


# A shared cache that is down (CACHE_URL pointing at a Redis that does not answer)


@pytest.fixture
def cache_down():
    from django.test import override_settings

    unreachable = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
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
