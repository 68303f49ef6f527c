"""Patient links (aftercare.links): unguessable, stored only as a hash, expiring,
revocable."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from aftercare.links import (
    hash_token,
    link_addresses,
    link_current,
    link_for_token,
    link_for_token_any_state,
    link_issue,
    link_url,
    links_revoke,
    patient_id_for_unsubscribe_token,
    token_for,
)
from aftercare.models import AftercarePlan, PatientLink
from aftercare.plans.services import plan_create
from tests.factories import TreatmentFactory

pytestmark = pytest.mark.django_db

PERFORMED_AT = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
NOW = PERFORMED_AT + timedelta(hours=1)


@pytest.fixture
def plan() -> AftercarePlan:
    return plan_create(treatment=TreatmentFactory(performed_at=PERFORMED_AT), now=NOW)


def _bits(token: str) -> int:
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8


def test_a_token_carries_at_least_128_random_bits(plan):
    token = token_for(link_issue(plan=plan))
    assert _bits(token) >= 128


def test_every_link_gets_its_own_token(plan):
    tokens = {token_for(link_issue(plan=plan)) for _ in range(5)}
    assert len(tokens) == 5


def test_a_token_is_safe_in_a_url(plan):
    token = token_for(link_issue(plan=plan))
    assert token.replace("-", "").replace("_", "").isalnum()


def test_only_the_hash_of_the_token_is_stored(plan):
    link = link_issue(plan=plan)
    token = token_for(link)
    stored = PatientLink.objects.filter(pk=link.pk).values().get()
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert [name for name, value in stored.items() if token in str(value)] == []


def test_a_link_expires_180_days_after_the_treatment(plan):
    link = link_issue(plan=plan)
    assert link.expires_at == PERFORMED_AT + timedelta(days=180)


def test_the_link_lifetime_follows_the_setting(plan, settings):
    settings.PATIENT_LINK_DAYS = 30
    assert link_issue(plan=plan).expires_at == PERFORMED_AT + timedelta(days=30)


def test_a_token_opens_its_link(plan):
    link = link_issue(plan=plan)
    assert link_for_token(token_for(link), now=NOW) == link


def test_a_token_still_opens_its_link_just_before_expiry(plan):
    link = link_issue(plan=plan)
    assert link_for_token(token_for(link), now=link.expires_at - timedelta(seconds=1)) == link


def test_an_expired_token_opens_nothing(plan):
    link = link_issue(plan=plan)
    assert link_for_token(token_for(link), now=link.expires_at) is None


def test_a_revoked_token_opens_nothing(plan):
    link = link_issue(plan=plan)
    PatientLink.objects.filter(pk=link.pk).update(revoked_at=NOW)
    assert link_for_token(token_for(link), now=NOW + timedelta(minutes=1)) is None


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "A" * 43, "A" * 101],
    ids=["empty", "junk", "well-formed-but-unknown", "too-long"],
)
def test_an_unknown_token_opens_nothing(plan, token):
    link_issue(plan=plan)
    assert link_for_token(token, now=NOW) is None


def test_the_stored_hash_is_not_a_token(plan):
    link = link_issue(plan=plan)
    assert link_for_token(link.token_hash, now=NOW) is None


def test_link_current_reuses_an_active_link(plan):
    first = link_current(plan=plan, now=NOW)
    again = link_current(plan=plan, now=NOW + timedelta(days=3))
    assert again == first
    assert PatientLink.objects.filter(plan=plan).count() == 1


def test_link_current_issues_a_new_link_once_the_old_one_is_revoked(plan):
    first = link_current(plan=plan, now=NOW)
    PatientLink.objects.filter(pk=first.pk).update(revoked_at=NOW)
    second = link_current(plan=plan, now=NOW + timedelta(minutes=1))
    assert second != first
    assert token_for(second) != token_for(first)


def test_link_current_issues_a_new_link_once_the_old_one_expired(plan):
    first = link_current(plan=plan, now=NOW)
    assert link_current(plan=plan, now=first.expires_at) != first


def test_links_belong_to_one_plan():
    mine = plan_create(treatment=TreatmentFactory(performed_at=PERFORMED_AT), now=NOW)
    theirs = plan_create(treatment=TreatmentFactory(performed_at=PERFORMED_AT), now=NOW)
    link = link_current(plan=mine, now=NOW)
    assert link_current(plan=theirs, now=NOW) != link
    assert link_for_token(token_for(link), now=NOW).plan == mine


def test_the_url_is_built_from_site_url(plan, settings):
    settings.SITE_URL = "https://aftercare.example.com"
    link = link_issue(plan=plan)
    base = f"https://aftercare.example.com/p/{plan.treatment.clinic.slug}/{token_for(link)}/"
    assert link_url(link) == base
    assert link_url(link, "patient:one_click_unsubscribe") == f"{base}unsubscribe/"


def test_revoking_closes_every_link_to_any_of_the_patients_plans(plan):
    patient = plan.treatment.patient
    older = plan_create(
        treatment=TreatmentFactory(patient=patient, performed_at=PERFORMED_AT - timedelta(days=9)),
        now=NOW,
    )
    tokens = [token_for(link_issue(plan=plan)), token_for(link_issue(plan=older))]
    assert links_revoke(patient_id=patient.pk, now=NOW) == 2
    assert [link_for_token(token, now=NOW) for token in tokens] == [None, None]


def test_revoking_leaves_other_patients_links_alone(plan):
    other = plan_create(treatment=TreatmentFactory(performed_at=PERFORMED_AT), now=NOW)
    link = link_issue(plan=other)
    links_revoke(patient_id=plan.treatment.patient_id, now=NOW)
    assert link_for_token(token_for(link), now=NOW) == link


def test_hash_token_is_sha256_hex():
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


def test_a_link_emailed_after_a_secret_key_rotation_still_opens_the_plan(plan, settings):
    link_current(plan=plan, now=NOW)
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 32
    emailed = token_for(link_current(plan=plan, now=NOW + timedelta(days=1)))
    opened = link_for_token(emailed, now=NOW + timedelta(days=1))
    assert opened is not None
    assert opened.plan == plan


def test_a_links_status_is_active_then_expired(plan):
    link = link_issue(plan=plan, sending_at=NOW)
    assert link.status_at(NOW) == "active"
    assert link.status_at(link.expires_at) == "expired"


def test_a_revoked_link_says_revoked_even_before_it_expires(plan):
    link = link_issue(plan=plan, sending_at=NOW)
    link.revoked_at = NOW
    assert link.status_at(NOW) == "revoked"


def test_link_addresses_are_the_token_its_url_and_the_patients_unsubscribe_url(plan, settings):
    settings.SITE_URL = "https://aftercare.example.com"
    link = link_issue(plan=plan, sending_at=NOW)
    token, url, unsubscribe = link_addresses(link)
    assert (token, url) == (token_for(link), link_url(link))
    prefix = f"https://aftercare.example.com/p/{plan.treatment.clinic.slug}/unsubscribe/"
    assert unsubscribe.startswith(prefix)
    assert (
        patient_id_for_unsubscribe_token(unsubscribe[len(prefix) : -1]) == plan.treatment.patient_id
    )


def test_every_link_of_a_patient_has_an_unsubscribe_url_for_that_patient(plan):
    later = plan_create(
        treatment=TreatmentFactory(patient=plan.treatment.patient, performed_at=NOW), now=NOW
    )
    urls = [link_addresses(link_issue(plan=p))[2] for p in [plan, plan, later]]
    tokens = [url.rstrip("/").rsplit("/", 1)[1] for url in urls]
    assert len(set(tokens)) == 3
    assert {patient_id_for_unsubscribe_token(t) for t in tokens} == {plan.treatment.patient_id}


def test_the_unsubscribe_url_holds_the_link_token_which_the_kept_copy_masks(plan):
    # The clinic's copy of a sent email masks the link token (aftercare.delivery.dispatch.copy_of):
    # without it, what is left of the unsubscribe token unsubscribes nobody.
    link = link_issue(plan=plan)
    token = token_for(link)
    unsubscribe = link_addresses(link)[2].rstrip("/").rsplit("/", 1)[1]
    assert token in unsubscribe
    assert patient_id_for_unsubscribe_token(unsubscribe.replace(token, "[patient link]")) is None


def test_another_patient_has_another_unsubscribe_url(plan):
    other = plan_create(treatment=TreatmentFactory(performed_at=PERFORMED_AT), now=NOW)
    assert link_addresses(link_issue(plan=plan))[2] != link_addresses(link_issue(plan=other))[2]


def test_an_unsubscribe_token_is_one_url_safe_run_of_over_40_characters(plan):
    token = link_addresses(link_issue(plan=plan))[2].rstrip("/").rsplit("/", 1)[1]
    assert len(token) > 40
    assert token.replace("-", "").replace("_", "").isalnum()


def test_an_unsubscribe_token_made_under_a_key_no_longer_trusted_is_refused(plan, settings):
    unsubscribe = link_addresses(link_issue(plan=plan))[2]
    token = unsubscribe.rstrip("/").rsplit("/", 1)[1]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 32
    settings.SECRET_KEY_FALLBACKS = []
    assert patient_id_for_unsubscribe_token(token) is None


def test_a_link_is_found_by_its_token_whatever_its_state(plan):
    link = link_issue(plan=plan)
    PatientLink.objects.filter(pk=link.pk).update(revoked_at=NOW, expires_at=NOW)
    assert link_for_token_any_state(token_for(link)) == link
    assert link_for_token_any_state("not-a-token") is None
    assert link_for_token_any_state("") is None


def test_link_addresses_follow_a_change_of_site_url(plan, settings):
    link = link_issue(plan=plan, sending_at=NOW)
    settings.SITE_URL = "https://one.example.com"
    first = link_addresses(link)[1]
    settings.SITE_URL = "https://two.example.com"
    assert first.startswith("https://one.example.com/")
    assert link_addresses(link)[1].startswith("https://two.example.com/")
