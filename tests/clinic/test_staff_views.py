"""Clinic admins manage their clinic's staff (clinic.staff_views)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from clinic.models import StaffRole
from tests.factories import ClinicFactory, StaffMembershipFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(clinic):
    return StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user


@pytest.fixture
def admin_client(admin) -> Client:
    return verified_client(admin)


def _new_staff(password: str) -> dict[str, str]:
    return {
        "username": "jo.rivera",
        "first_name": "Jo",
        "last_name": "Rivera",
        "email": "jo@example.com",
        "role": StaffRole.FRONT_DESK,
        "password1": password,
        "password2": password,
    }


def test_an_admin_adds_a_staff_member_to_their_own_clinic(admin_client, clinic):
    response = admin_client.post(reverse("staff:create"), _new_staff("plum-orbit-canvas-9"))
    user = get_user_model().objects.get(username="jo.rivera")
    assert response.url == reverse("staff:list")
    assert user.membership.clinic == clinic
    assert user.membership.role == StaffRole.FRONT_DESK
    assert user.groups.filter(name="front_desk").exists()


def test_a_weak_password_is_refused_with_a_reason(admin_client):
    response = admin_client.post(reverse("staff:create"), _new_staff("password1"))
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not get_user_model().objects.filter(username="jo.rivera").exists()


def test_the_list_shows_only_this_clinics_staff(admin_client):
    other = StaffMembershipFactory(clinic=ClinicFactory(), user__username="elsewhere-staff")
    assert other.user.username not in admin_client.get(reverse("staff:list")).content.decode()


def test_an_admin_changes_a_role_and_the_permissions_follow(admin_client, clinic):
    member = StaffMembershipFactory(clinic=clinic, role=StaffRole.FRONT_DESK).user
    admin_client.post(
        reverse("staff:edit", args=[member.pk]), {"role": StaffRole.PRACTITIONER, "is_active": "on"}
    )
    member = get_user_model().objects.get(pk=member.pk)
    assert member.membership.role == StaffRole.PRACTITIONER
    assert member.has_perm("patients.add_treatment")


def test_an_admin_can_disable_a_login(admin_client, clinic):
    member = StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user
    admin_client.post(reverse("staff:edit", args=[member.pk]), {"role": StaffRole.PRACTITIONER})
    assert not get_user_model().objects.get(pk=member.pk).is_active


def test_an_admin_cannot_demote_themselves(admin_client, admin):
    response = admin_client.post(
        reverse("staff:edit", args=[admin.pk]), {"role": StaffRole.FRONT_DESK, "is_active": "on"}
    )
    assert "ask another clinic admin" in response.content.decode()
    assert get_user_model().objects.get(pk=admin.pk).membership.role == StaffRole.CLINIC_ADMIN


def test_another_clinics_staff_member_is_not_found(admin_client):
    other = StaffMembershipFactory(clinic=ClinicFactory()).user
    assert admin_client.get(reverse("staff:edit", args=[other.pk])).status_code == 404
