import pytest
from django.core.exceptions import ValidationError

from tests.factories import ClinicFactory


@pytest.mark.django_db
def test_clinic_refuses_an_unknown_timezone():
    clinic = ClinicFactory.build(timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as excinfo:
        clinic.full_clean()
    assert "not a known time zone" in str(excinfo.value.message_dict["timezone"])


@pytest.mark.django_db
def test_clinic_accepts_an_iana_timezone():
    ClinicFactory.build(timezone="Australia/Sydney").full_clean()
