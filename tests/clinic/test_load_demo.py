import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from clinic.management.commands.load_demo import DEMO_LOGINS
from clinic.models import Clinic
from patients.models import Patient, Treatment


@pytest.mark.django_db
def test_it_creates_a_clinic_logins_patients_and_treatments(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    output = capsys.readouterr().out
    assert Clinic.objects.count() == 1
    assert Patient.objects.count() == 3
    assert Treatment.objects.count() == 3
    for username, (password, *_rest) in DEMO_LOGINS.items():
        assert f"{username} / {password}" in output
        # django-axes needs the request a login comes with.
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=username, password=password) is not None


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
