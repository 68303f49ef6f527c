"""Property-based fuzzing of patient-link token parsing (aftercare.links.link_for_token and
the /p/<clinic>/<token>/ views): any slug or token gives the not-found page, never a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aftercare.links import link_current, link_for_token, token_for
from aftercare.models import PatientLink
from aftercare.plans.services import plan_create
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
no_surrogates = st.characters(blacklist_categories=["Cs"])
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
tokens = st.one_of(
    st.text(alphabet=no_surrogates, max_size=200),
    st.text(alphabet=TOKEN_ALPHABET, min_size=40, max_size=46),  # shaped like a real one
    st.sampled_from(["", "\x00", "." * 43, "%00", "..", "today", "aftercare.ics", "x" * 101]),
)
slugs = st.one_of(st.from_regex(r"\A[-a-zA-Z0-9_]{1,60}\Z"), st.text(alphabet=no_surrogates))


@pytest.fixture
def real_link(clinic) -> PatientLink:
    plan = plan_create(treatment=TreatmentFactory(patient__clinic=clinic), now=timezone.now())
    return link_current(plan=plan, now=timezone.now())


@FUZZ
@given(token=tokens)
def test_no_token_but_the_real_one_opens_a_link(real_link, token):
    assume(token != token_for(real_link))
    assert link_for_token(token, now=timezone.now()) is None


@FUZZ
@given(slug=slugs, token=tokens)
def test_opening_any_link_gives_the_not_found_page(real_link, slug, token):
    assume(token != token_for(real_link))
    cache.clear()  # the bad-link rate limit would answer 429 after a while
    response = Client().get(f"/p/{quote(slug, safe='')}/{quote(token, safe='')}/")
    assert response.status_code == 404


@FUZZ
@given(slug=slugs, token=tokens)
def test_one_click_unsubscribe_with_any_token_gives_not_found(real_link, slug, token):
    assume(token != token_for(real_link))
    cache.clear()
    url = f"/p/{quote(slug, safe='')}/{quote(token, safe='')}/unsubscribe/"
    response = Client().post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404


def test_the_real_token_does_open_its_link(real_link):
    assert link_for_token(token_for(real_link), now=timezone.now()) == real_link
