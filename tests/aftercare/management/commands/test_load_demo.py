from base64 import b32decode

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django_otp.plugins.otp_totp.models import TOTPDevice

from aftercare.management.commands.load_demo import (
    DEMO_LOGINS,
    DEMO_PLATFORM_LOGIN,
    DEMO_RECOVERY_CODES,
    DEMO_TOTP_SECRET,
)
from clinic.models import Clinic
from clinic.two_factor import code_verify, two_factor_required
from patients.models import Patient, Treatment
from tests.two_factor import code_now


@pytest.mark.django_db
def test_it_creates_a_clinic_logins_patients_and_treatments(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    output = capsys.readouterr().out
    assert Clinic.objects.count() == 1
    assert Patient.objects.count() == 3
    assert Treatment.objects.count() == 3
    logins = {username: password for username, (password, *_rest) in DEMO_LOGINS.items()}
    logins.update([DEMO_PLATFORM_LOGIN])
    for username, password in logins.items():
        assert f"{username} / {password}" in output
        # django-axes needs the request a login comes with.
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=username, password=password) is not None


@pytest.mark.django_db
def test_the_clinic_admin_is_not_a_superuser_and_the_platform_login_is(settings):
    settings.DEBUG = True
    call_command("load_demo")
    users = get_user_model().objects
    admin = users.get(username="admin")
    assert admin.is_staff
    assert not admin.is_superuser
    platform = users.get(username=DEMO_PLATFORM_LOGIN[0])
    assert platform.is_superuser
    assert platform.is_staff
    assert not hasattr(platform, "membership")


@pytest.mark.django_db
def test_an_older_demo_admin_stops_being_a_superuser(settings):
    settings.DEBUG = True
    call_command("load_demo")
    get_user_model().objects.filter(username="admin").update(is_superuser=True)
    call_command("load_demo")
    assert not get_user_model().objects.get(username="admin").is_superuser


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["admin", DEMO_PLATFORM_LOGIN[0]])
def test_the_printed_second_factor_works_for_the_admin_logins(settings, capsys, username):
    settings.DEBUG = True
    call_command("load_demo")
    output = capsys.readouterr().out
    user = get_user_model().objects.get(username=username)
    assert two_factor_required(user)
    assert f"otpauth://totp/Clinic%20aftercare%3A{username}?secret={DEMO_TOTP_SECRET}" in output
    assert " ".join(DEMO_RECOVERY_CODES) in output
    device = TOTPDevice.objects.get(user=user)
    assert device.key == b32decode(DEMO_TOTP_SECRET).hex()
    assert code_verify(user=user, code=code_now(device)).device == device
    assert code_verify(user=user, code=DEMO_RECOVERY_CODES[0]).used_recovery_code


@pytest.mark.django_db
def test_running_again_restores_used_recovery_codes(settings):
    settings.DEBUG = True
    call_command("load_demo")
    admin = get_user_model().objects.get(username="admin")
    assert code_verify(user=admin, code=DEMO_RECOVERY_CODES[0]).device is not None
    call_command("load_demo")
    assert code_verify(user=admin, code=DEMO_RECOVERY_CODES[0]).device is not None


@pytest.mark.django_db
def test_only_the_admin_logins_get_a_second_factor(settings):
    settings.DEBUG = True
    call_command("load_demo")
    assert set(TOTPDevice.objects.values_list("user__username", flat=True)) == {
        "admin",
        DEMO_PLATFORM_LOGIN[0],
    }


@pytest.mark.django_db
def test_it_can_run_twice_without_duplicating(settings):
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    assert Clinic.objects.count() == 1
    assert Patient.objects.count() == 3


@pytest.mark.django_db
def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="known passwords"):
        call_command("load_demo")
