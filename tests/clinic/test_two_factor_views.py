"""The second step of logging in, setting up an authenticator and recovery codes
(clinic.two_factor_views), with real codes."""

from __future__ import annotations

import re
from base64 import b32decode
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import StaffRole
from clinic.two_factor import recovery_codes_regenerate
from tests.factories import STAFF_PASSWORD, StaffMembershipFactory, UserFactory
from tests.two_factor import authenticator_for, code_now, login_verified

pytestmark = pytest.mark.django_db

SETUP = reverse("two_factor:setup")
VERIFY = reverse("two_factor:verify")
RECOVERY = reverse("two_factor:recovery_codes")


@pytest.fixture
def admin(clinic):
    return StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user


@pytest.fixture
def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def _shown_secret(response) -> TOTPDevice:
    """A device holding the secret the set-up page shows, as the user's app would."""
    page = response.content.decode()
    secret = re.search(r'<code id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1)
    key = b32decode(secret.replace(" ", "")).hex()
    return TOTPDevice(key=key)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# Setting up


def test_set_up_shows_the_secret_the_otpauth_uri_and_a_qr_code(admin_client, admin):
    response = admin_client.get(SETUP)
    page = response.content.decode()
    assert response.status_code == 200
    assert f"otpauth://totp/Clinic%20aftercare%3A{admin.username}?secret=" in page
    assert "issuer=Clinic%20aftercare" in page
    # An image from a data: URI, which the Content-Security-Policy allows (img-src data:).
    assert '<img src="data:image/svg+xml' in page
    assert re.search(r'<code id="totp-secret"[^>]*>[A-Z2-7 ]{39}</code>', page)


def test_set_up_shows_the_same_secret_until_it_is_confirmed(admin_client):
    first = _shown_secret(admin_client.get(SETUP)).key
    assert _shown_secret(admin_client.get(SETUP)).key == first


def test_set_up_refuses_a_wrong_code(admin_client, admin):
    app = _shown_secret(admin_client.get(SETUP))
    response = admin_client.post(SETUP, {"code": _wrong(code_now(app))})
    assert response.status_code == 200
    assert "That code does not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=admin).exists()


def test_the_right_code_turns_it_on_and_shows_recovery_codes_once(admin_client, admin):
    app = _shown_secret(admin_client.get(SETUP + "?next=/patients/"))
    response = admin_client.post(SETUP, {"code": code_now(app), "next": "/patients/"})
    assert response.url == f"{RECOVERY}?next=/patients/"
    device = TOTPDevice.objects.get(user=admin, confirmed=True)
    assert device.key == app.key

    page = admin_client.get(response.url).content.decode()
    codes = re.findall(r'<li class="col">([a-z2-7]{8})</li>', page)
    assert len(codes) == 10
    assert 'href="/patients/"' in page
    assert not re.findall(r'<li class="col">', admin_client.get(RECOVERY).content.decode())
    # This session is verified: staff pages open.
    assert admin_client.get(reverse("home")).status_code == 200


def test_the_code_that_confirmed_the_app_cannot_log_in_again(admin_client, admin):
    app = _shown_secret(admin_client.get(SETUP))
    code = code_now(app)
    admin_client.post(SETUP, {"code": code})
    other = Client()
    other.force_login(admin)
    response = other.post(VERIFY, {"code": code})
    assert "not right" in response.content.decode()


def test_with_a_device_set_up_cannot_replace_it_before_the_code(admin_client, admin):
    device = authenticator_for(admin)
    assert admin_client.get(SETUP).url == f"{VERIFY}?next=/"
    assert admin_client.post(SETUP, {"code": "123456"}).url == f"{VERIFY}?next=/"
    assert list(TOTPDevice.objects.filter(user=admin)) == [device]


def test_a_verified_user_can_replace_their_authenticator(admin):
    client = Client()
    old = login_verified(client, admin)
    app = _shown_secret(client.get(SETUP))
    client.post(SETUP, {"code": code_now(app)})
    assert list(TOTPDevice.objects.filter(user=admin).values_list("key", flat=True)) == [app.key]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


# The code at login


def test_a_password_login_then_the_code_lets_a_clinic_admin_in(admin):
    device = authenticator_for(admin)
    client = Client()
    response = client.post(
        reverse("login"), {"username": admin.username, "password": STAFF_PASSWORD}
    )
    response = client.get(response.url)
    assert response.url == f"{VERIFY}?next=/"
    response = client.post(VERIFY, {"code": code_now(device), "next": "/"})
    assert response.url == "/"
    assert client.get("/").status_code == 200


def test_a_wrong_code_is_refused(admin_client, admin):
    device = authenticator_for(admin)
    response = admin_client.post(VERIFY, {"code": _wrong(code_now(device))})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert admin_client.get(reverse("home")).url.startswith(VERIFY)


def test_the_verified_session_gets_a_new_key(admin_client, admin):
    device = authenticator_for(admin)
    before = admin_client.session.session_key
    admin_client.post(VERIFY, {"code": code_now(device)})
    assert admin_client.session.session_key != before


def test_it_goes_back_only_to_a_page_of_this_site(admin_client, admin):
    device = authenticator_for(admin)
    response = admin_client.post(
        VERIFY, {"code": code_now(device), "next": "https://evil.example/"}
    )
    assert response.url == reverse("home")


def test_a_superuser_verifies_and_opens_the_admin(client):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    device = authenticator_for(superuser)
    client.force_login(superuser)
    assert client.get(reverse("admin:index")).url == f"{VERIFY}?next=/admin/"
    response = client.post(VERIFY, {"code": code_now(device), "next": "/admin/"})
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_repeated_wrong_codes_make_even_the_right_one_wait(admin_client, admin):
    device = authenticator_for(admin)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for wait in (1, 2, 0):
            admin_client.post(VERIFY, {"code": _wrong(code_now(device))})
            clock.shift(timedelta(seconds=wait))
        response = admin_client.post(VERIFY, {"code": code_now(device)})
        assert "Too many wrong codes. Wait 4 seconds" in response.content.decode()
        assert admin_client.get(reverse("home")).url.startswith(VERIFY)
        clock.shift(timedelta(seconds=4))
        response = admin_client.post(VERIFY, {"code": code_now(device)})
    assert response.url == reverse("home")


def test_a_recovery_code_works_once(admin):
    authenticator_for(admin)
    code = recovery_codes_regenerate(user=admin)[0]
    first, second = Client(), Client()
    first.force_login(admin)
    second.force_login(admin)
    response = first.post(VERIFY, {"code": code}, follow=True)
    assert "You used a recovery code; 9 left" in response.content.decode()
    assert first.get(reverse("home")).status_code == 200
    response = second.post(VERIFY, {"code": code})
    assert "not right" in response.content.decode()


def test_staff_who_need_no_second_factor_are_sent_on(practitioner_client):
    assert practitioner_client.get(VERIFY).url == reverse("home")
    assert practitioner_client.get(SETUP).url == reverse("home")
    assert practitioner_client.get(RECOVERY).url == reverse("home")


def test_the_pages_need_a_login(client):
    for url in (VERIFY, SETUP, RECOVERY):
        assert client.get(url).url.startswith(reverse("login"))


# Recovery codes


def test_the_recovery_page_counts_the_codes_left(admin):
    client = Client()
    login_verified(client, admin)
    recovery_codes_regenerate(user=admin)
    assert "<strong>10</strong> unused recovery codes" in client.get(RECOVERY).content.decode()


def test_new_recovery_codes_are_shown_once_and_the_old_ones_stop_working(admin):
    client = Client()
    login_verified(client, admin)
    old = recovery_codes_regenerate(user=admin)
    response = client.post(RECOVERY, follow=True)
    new = re.findall(r'<li class="col">([a-z2-7]{8})</li>', response.content.decode())
    assert len(new) == 10
    assert not set(new) & set(old)
    other = Client()
    other.force_login(admin)
    assert other.post(VERIFY, {"code": new[1]}).url == reverse("home")
    third = Client()
    third.force_login(admin)
    assert "not right" in third.post(VERIFY, {"code": old[1]}).content.decode()
