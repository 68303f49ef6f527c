"""Who needs a second factor, the gate in front of every staff page, and code checks
(clinic.two_factor). The pages themselves: test_two_factor_views.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import StaffRole
from clinic.two_factor import (
    code_verify,
    recovery_codes_regenerate,
    two_factor_required,
    two_factor_set_up,
)
from tests.factories import ClinicFactory, StaffMembershipFactory, UserFactory
from tests.two_factor import authenticator_for, code_now, login_verified

pytestmark = pytest.mark.django_db

SETUP = reverse("two_factor:setup")
VERIFY = reverse("two_factor:verify")


def _member(role: str, *, require_two_factor: bool = False):
    clinic = ClinicFactory(require_two_factor=require_two_factor)
    return StaffMembershipFactory(clinic=clinic, role=role).user


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# Who needs it


@pytest.mark.parametrize("role", [StaffRole.PRACTITIONER, StaffRole.FRONT_DESK])
def test_staff_need_it_only_where_their_clinic_asks(role):
    assert not two_factor_required(_member(role))
    assert two_factor_required(_member(role, require_two_factor=True))


def test_clinic_admins_always_need_it():
    assert two_factor_required(_member(StaffRole.CLINIC_ADMIN))


def test_superusers_and_anyone_who_may_open_the_admin_need_it():
    assert two_factor_required(UserFactory(is_superuser=True, is_staff=True))
    assert two_factor_required(UserFactory(is_staff=True))


def test_a_user_without_a_clinic_or_admin_rights_does_not():
    assert not two_factor_required(UserFactory())


def test_recovery_codes_alone_count_as_set_up():
    # Otherwise someone with only the password could put their own phone on the account.
    user = _member(StaffRole.CLINIC_ADMIN)
    assert not two_factor_set_up(user)
    recovery_codes_regenerate(user=user)
    assert two_factor_set_up(user)


# The gate


def test_a_clinic_admin_without_a_device_is_sent_to_set_up():
    response = _logged_in(_member(StaffRole.CLINIC_ADMIN)).get(reverse("home"))
    assert response.status_code == 302
    assert response.url == f"{SETUP}?next=/"


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/patients/",
        "/patients/new/",
        "/staff/",
        "/aftercare/concerns/",
        "/admin/",
        "/admin/aftercare/guidanceitem/",
        "/admin/auth/user/",
        "/admin/no-such-page/",
        "/accounts/two-factor/recovery-codes/",
    ],
)
def test_until_then_no_staff_page_or_admin_page_opens(url):
    client = _logged_in(_member(StaffRole.CLINIC_ADMIN))
    response = client.get(url)
    assert response.status_code == 302, url
    assert response.url.startswith(SETUP), url


def test_a_superuser_is_asked_before_the_admin_opens():
    superuser = UserFactory(is_superuser=True, is_staff=True)
    authenticator_for(superuser)
    response = _logged_in(superuser).get(reverse("admin:index"))
    assert response.url == f"{VERIFY}?next=/admin/"


def test_a_clinic_admin_with_a_device_is_asked_for_a_code():
    admin = _member(StaffRole.CLINIC_ADMIN)
    authenticator_for(admin)
    response = _logged_in(admin).get(reverse("patients:list"))
    assert response.url == f"{VERIFY}?next=/patients/"


def test_a_form_posted_before_the_code_is_not_kept_for_later():
    admin = _member(StaffRole.CLINIC_ADMIN)
    authenticator_for(admin)
    response = _logged_in(admin).post(reverse("patients:create"), {"first_name": "Sam"})
    assert response.url == VERIFY


def test_a_practitioner_at_a_clinic_without_the_setting_is_not_asked():
    response = _logged_in(_member(StaffRole.PRACTITIONER)).get(reverse("home"))
    assert response.status_code == 200


@pytest.mark.parametrize("role", [StaffRole.PRACTITIONER, StaffRole.FRONT_DESK])
def test_with_the_setting_on_every_role_is_asked(role):
    response = _logged_in(_member(role, require_two_factor=True)).get(reverse("home"))
    assert response.url.startswith(SETUP)


def test_a_clinic_turning_the_setting_on_catches_sessions_already_open():
    user = _member(StaffRole.PRACTITIONER)
    client = _logged_in(user)
    assert client.get(reverse("home")).status_code == 200
    user.membership.clinic.require_two_factor = True
    user.membership.clinic.save()
    assert client.get(reverse("home")).url.startswith(SETUP)


def test_a_verified_session_opens_staff_pages_and_the_admin():
    client = Client()
    login_verified(client, _member(StaffRole.CLINIC_ADMIN))
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_device_of_another_user_does_not_verify_a_session():
    admin = _member(StaffRole.CLINIC_ADMIN)
    client = Client()
    login_verified(client, UserFactory())
    other_device = TOTPDevice.objects.get()
    client.force_login(admin)
    session = client.session
    session["otp_device_id"] = other_device.persistent_id
    session.save()
    assert client.get(reverse("home")).url.startswith(SETUP)


def test_patient_pages_never_ask(clinic):
    cache.clear()
    client = _logged_in(_member(StaffRole.CLINIC_ADMIN))
    response = client.get(reverse("patient:open", args=[clinic.slug, "x" * 43]))
    # The patient's "link not found" page, not the second factor.
    assert response.status_code == 404
    assert "two-factor" not in response.get("Location", "")


def test_the_health_checks_and_logout_never_ask():
    client = _logged_in(_member(StaffRole.CLINIC_ADMIN))
    assert client.get(reverse("readyz")).status_code in {200, 503}
    response = client.post(reverse("logout"))
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_the_gate_answers_with_the_content_security_policy():
    response = _logged_in(_member(StaffRole.CLINIC_ADMIN)).get(reverse("home"))
    assert "Content-Security-Policy" in response


# Checking codes


def test_a_right_code_is_accepted_once():
    admin = _member(StaffRole.CLINIC_ADMIN)
    device = authenticator_for(admin)
    code = code_now(device)
    assert code_verify(user=admin, code=code).device == device
    assert code_verify(user=admin, code=code).device is None


def test_spaces_in_a_code_do_not_matter():
    admin = _member(StaffRole.CLINIC_ADMIN)
    device = authenticator_for(admin)
    code = code_now(device)
    assert code_verify(user=admin, code=f" {code[:3]} {code[3:]} ").device == device


def test_throttling_is_on_for_both_kinds_of_device():
    admin = _member(StaffRole.CLINIC_ADMIN)
    recovery_codes_regenerate(user=admin)
    assert authenticator_for(admin).throttling_enabled
    assert StaticDevice.objects.get(user=admin).throttling_enabled


def test_after_a_wrong_code_even_the_right_one_waits():
    admin = _member(StaffRole.CLINIC_ADMIN)
    device = authenticator_for(admin)
    wrong = f"{(int(code_now(device)) + 1) % 10**6:06d}"
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for failures in range(1, 4):
            assert code_verify(user=admin, code=wrong).device is None
            check = code_verify(user=admin, code=code_now(device))
            assert check.device is None
            # 1, 2, 4 seconds: each wrong code doubles the wait.
            assert check.locked_until == timezone.now() + timedelta(seconds=2 ** (failures - 1))
            clock.shift(timedelta(seconds=2 ** (failures - 1)))
        assert code_verify(user=admin, code=code_now(device)).device == device


def test_a_recovery_code_works_once():
    admin = _member(StaffRole.CLINIC_ADMIN)
    code = recovery_codes_regenerate(user=admin)[0]
    check = code_verify(user=admin, code=code.upper())
    assert check.used_recovery_code
    assert code_verify(user=admin, code=code).device is None


def test_new_recovery_codes_replace_the_old_ones():
    admin = _member(StaffRole.CLINIC_ADMIN)
    old = recovery_codes_regenerate(user=admin)
    new = recovery_codes_regenerate(user=admin)
    assert len(new) == 10
    assert len(set(new)) == 10
    assert code_verify(user=admin, code=new[0]).device is not None
    assert code_verify(user=admin, code=old[0]).device is None
