"""Unsubscribe links (aftercare.links, aftercare.portal.views): they outlive the plan link.

The List-Unsubscribe URL of an email (/p/<clinic>/unsubscribe/<patient token>/) keeps
working for as long as the patient exists, whatever became of the plan link sent in
the same email. The older form (/p/<clinic>/<link token>/unsubscribe/) keeps working
for emails already sent.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import int_to_base36

from aftercare.delivery.reminders import link_reissue
from aftercare.links import (
    link_addresses,
    link_current,
    links_revoke,
    patient_id_for_unsubscribe_token,
    token_for,
)
from aftercare.models import AftercarePlan, PatientLink, ReminderStatus
from aftercare.plans.services import plan_create
from clinic.logging import redact
from patients.data_rights import patient_erase
from patients.models import Patient
from tests.clinic.test_logging import log_output  # noqa: F401 (a fixture, used below)
from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"
NOT_FOUND = "This link does not work"
STOPPED = "Reminders stopped"


@pytest.fixture(autouse=True)
def fresh_rate_limit(settings):
    settings.PATIENT_LINK_FAILURE_LIMIT = 3
    cache.clear()
    yield
    cache.clear()


def _plan(clinic=None) -> AftercarePlan:
    treatment = TreatmentFactory(
        patient=PatientFactory(clinic=clinic or ClinicFactory()),
        performed_at=timezone.now() - timedelta(hours=1),
    )
    return plan_create(treatment=treatment, now=timezone.now())


def _emailed_unsubscribe_path(plan: AftercarePlan) -> str:
    """The path of the List-Unsubscribe URL dispatch puts in an email for the plan."""
    link = link_current(plan=plan, now=timezone.now())
    return urlsplit(link_addresses(link)[2]).path


def _post(path: str):
    # As a mail provider sends it: no cookies, no CSRF token, no redirect followed.
    return Client(enforce_csrf_checks=True).post(path, ONE_CLICK, content_type=FORM)


def _consents(plan: AftercarePlan) -> bool:
    return Patient.objects.get(pk=plan.treatment.patient_id).email_consent


def _waiting(plan: AftercarePlan) -> int:
    return plan.treatment.patient.reminders.filter(
        status__in=[ReminderStatus.PENDING, ReminderStatus.FAILED]
    ).count()


def _assert_unsubscribed(plan: AftercarePlan, response) -> None:
    assert response.status_code == 200
    assert STOPPED in response.content.decode()
    assert not _consents(plan)
    assert _waiting(plan) == 0


def test_the_emailed_url_is_the_patients_own(settings):
    settings.SITE_URL = "https://aftercare.example.com"
    plan = _plan()
    url = link_addresses(link_current(plan=plan, now=timezone.now()))[2]
    slug = plan.treatment.clinic.slug
    assert url.startswith(f"https://aftercare.example.com/p/{slug}/unsubscribe/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert patient_id_for_unsubscribe_token(token) == plan.treatment.patient_id


def test_it_unsubscribes_with_a_one_click_post():
    plan = _plan()
    assert _waiting(plan) > 0
    _assert_unsubscribed(plan, _post(_emailed_unsubscribe_path(plan)))


def test_it_unsubscribes_after_the_link_is_revoked():
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    links_revoke(patient_id=plan.treatment.patient_id, now=timezone.now())
    _assert_unsubscribed(plan, _post(path))


def test_it_unsubscribes_after_a_new_link_is_emailed():
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    assert link_reissue(patient=plan.treatment.patient, now=timezone.now()) is not None
    _assert_unsubscribed(plan, _post(path))


def test_it_unsubscribes_after_the_link_expired():
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    [expires_at] = PatientLink.objects.filter(plan=plan).values_list("expires_at", flat=True)
    with time_machine.travel(expires_at + timedelta(days=400), tick=False):
        _assert_unsubscribed(plan, _post(path))


def test_it_unsubscribes_after_a_secret_key_rotation_with_the_old_key_as_fallback(settings):
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 32
    _assert_unsubscribed(plan, _post(path))


def test_for_an_erased_patient_it_says_unsubscribed_and_changes_nothing(practitioner):
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    patient = plan.treatment.patient
    patient_erase(patient=patient, by=practitioner, now=timezone.now())
    before = Patient.objects.filter(pk=patient.pk).values().get()
    for response in [Client().get(path), _post(path)]:
        assert response.status_code == 200
        assert STOPPED in response.content.decode()
    assert Patient.objects.filter(pk=patient.pk).values().get() == before
    assert not patient.consent_changes.exists()


def test_a_get_shows_a_confirm_form_and_changes_nothing(client):
    plan = _plan()
    waiting = _waiting(plan)
    response = client.get(_emailed_unsubscribe_path(plan))
    assert response.status_code == 200
    assert '<form method="post">' in response.content.decode()
    assert (_waiting(plan), _consents(plan)) == (waiting, True)
    assert response.cookies == {}


def test_a_post_answers_without_cookies_or_redirect_and_is_private():
    response = _post(_emailed_unsubscribe_path(_plan()))
    assert response.status_code == 200
    assert response.cookies == {}
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_a_post_twice_is_fine():
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    assert [_post(path).status_code, _post(path).status_code] == [200, 200]
    assert not _consents(plan)


def test_a_post_withdraws_only_that_patients_consent():
    clinic = ClinicFactory()
    mine, neighbour, elsewhere = _plan(clinic), _plan(clinic), _plan()
    waiting = {plan.pk: _waiting(plan) for plan in [neighbour, elsewhere]}
    _assert_unsubscribed(mine, _post(_emailed_unsubscribe_path(mine)))
    for plan in [neighbour, elsewhere]:
        assert _consents(plan)
        assert _waiting(plan) == waiting[plan.pk] > 0


def test_a_tampered_token_is_not_found_and_changes_nothing():
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    response = _post(tampered)
    assert response.status_code == 404
    assert NOT_FOUND in response.content.decode()
    assert _consents(plan)


def test_another_patients_id_with_this_signature_is_not_found():
    plan, other = _plan(), _plan()
    path = _emailed_unsubscribe_path(plan)
    token = path.rstrip("/").rsplit("/", 1)[1]
    signature = token.partition("-")[2]
    forged_token = f"{int_to_base36(other.treatment.patient_id)}-{signature}"
    forged = reverse("patient:list_unsubscribe", args=[other.treatment.clinic.slug, forged_token])
    assert _post(forged).status_code == 404
    assert _consents(other)


@pytest.mark.parametrize(
    "token", ["", "-", "zzzzzzzzzzzzzz-abc", "1-" + "A" * 86, "1-" + "A" * 43, "x" * 200]
)
def test_a_token_of_the_wrong_shape_is_refused(token):
    assert patient_id_for_unsubscribe_token(token) is None


def test_bad_tokens_count_towards_the_rate_limit_and_good_ones_still_work():
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    slug = plan.treatment.clinic.slug
    bad = [reverse("patient:list_unsubscribe", args=[slug, f"{n}-{'A' * 86}"]) for n in range(4)]
    assert [_post(url).status_code for url in bad] == [404, 404, 404, 429]
    _assert_unsubscribed(plan, _post(path))


def test_a_valid_token_under_another_clinics_slug_is_not_found():
    plan = _plan()
    other_slug = ClinicFactory().slug
    path = _emailed_unsubscribe_path(plan).replace(
        f"/p/{plan.treatment.clinic.slug}/", f"/p/{other_slug}/"
    )
    assert _post(path).status_code == 404
    assert Client().get(path).status_code == 404
    assert _consents(plan)


# The older URL, /p/<clinic>/<link token>/unsubscribe/, in emails already sent


def _old_style_path(plan: AftercarePlan) -> str:
    token = token_for(link_current(plan=plan, now=timezone.now()))
    return reverse("patient:one_click_unsubscribe", args=[plan.treatment.clinic.slug, token])


def test_the_old_url_of_a_revoked_link_still_unsubscribes():
    plan = _plan()
    path = _old_style_path(plan)
    links_revoke(patient_id=plan.treatment.patient_id, now=timezone.now())
    _assert_unsubscribed(plan, _post(path))


def test_the_old_url_of_an_expired_link_still_unsubscribes():
    plan = _plan()
    path = _old_style_path(plan)
    PatientLink.objects.filter(plan=plan).update(expires_at=timezone.now() - timedelta(days=1))
    _assert_unsubscribed(plan, _post(path))


def test_the_old_url_under_another_clinics_slug_is_not_found():
    plan = _plan()
    path = _old_style_path(plan).replace(
        f"/p/{plan.treatment.clinic.slug}/", f"/p/{ClinicFactory().slug}/"
    )
    assert _post(path).status_code == 404
    assert _consents(plan)


# Logs


def test_the_token_is_masked_in_any_log_line_of_its_path():
    path = _emailed_unsubscribe_path(_plan())
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert token not in redact(f'"POST {path} HTTP/1.1" 200 512')
    assert redact(path).endswith("/unsubscribe/[token]/")


def test_a_refused_token_is_logged_without_it(log_output):  # noqa: F811 (the fixture)
    plan = _plan()
    path = _emailed_unsubscribe_path(plan)
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    token = tampered.rstrip("/").rsplit("/", 1)[1]
    output = log_output()
    assert _post(tampered).status_code == 404
    written = output.getvalue()
    assert f"Not Found: /p/{plan.treatment.clinic.slug}/unsubscribe/[token]/" in written
    assert token not in written
    # Not even its start: the patient id and the first characters after it. (The id and
    # its dash alone, "1-", can be part of the log line's date.)
    assert token[: token.index("-") + 9] not in written
