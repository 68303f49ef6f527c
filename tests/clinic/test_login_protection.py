"""Login protection: django-axes lockout, password validation, session expiry (settings)."""

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.factories import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


def _log_in(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_a_correct_login_lands_on_the_dashboard(practitioner):
    response = _log_in(Client(), practitioner.username, STAFF_PASSWORD)
    assert response.url == reverse("home")


def test_repeated_failures_lock_the_username_even_with_the_right_password(practitioner):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, practitioner.username, "wrong-password-guess")
    response = _log_in(client, practitioner.username, STAFF_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_from_one_address_does_not_lock_the_user_out_elsewhere(practitioner):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(attacker, practitioner.username, "wrong-password-guess")
    response = _log_in(Client(REMOTE_ADDR="198.51.100.4"), practitioner.username, STAFF_PASSWORD)
    assert response.url == reverse("home")


def test_fewer_failures_than_the_limit_do_not_lock(practitioner):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, practitioner.username, "wrong-password-guess")
    assert _log_in(client, practitioner.username, STAFF_PASSWORD).url == reverse("home")


@pytest.mark.parametrize("password", ["short1", "password1234", "123456789012", "jordanstaff01"])
def test_weak_passwords_are_refused(password):
    from tests.factories import UserFactory

    with pytest.raises(ValidationError):
        validate_password(password, user=UserFactory.build(username="jordanstaff"))


def test_staff_sessions_expire_by_default_within_a_working_day():
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
