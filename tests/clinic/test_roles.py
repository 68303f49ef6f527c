"""Roles as Django groups (clinic.roles, clinic.receivers, migration clinic 0004)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from clinic.models import StaffMembership, StaffRole
from clinic.roles import ROLE_PERMISSIONS, role_group
from tests.factories import StaffMembershipFactory, UserFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_a_new_membership_puts_the_user_in_their_roles_group():
    membership = StaffMembershipFactory(role=StaffRole.FRONT_DESK)
    assert list(membership.user.groups.values_list("name", flat=True)) == ["front_desk"]


def test_changing_the_role_moves_the_user_to_the_new_group_only():
    membership = StaffMembershipFactory(role=StaffRole.FRONT_DESK)
    membership.role = StaffRole.PRACTITIONER
    membership.save()
    assert list(membership.user.groups.values_list("name", flat=True)) == ["practitioner"]
    assert _fresh(membership.user).has_perm("patients.add_treatment")


def test_other_groups_of_the_user_are_left_alone():
    user = UserFactory()
    user.groups.add(Group.objects.create(name="newsletter editors"))
    StaffMembershipFactory(user=user, role=StaffRole.PRACTITIONER)
    assert set(user.groups.values_list("name", flat=True)) == {"newsletter editors", "practitioner"}


def test_front_desk_cannot_treat_or_edit_clinical_details():
    user = _fresh(StaffMembershipFactory(role=StaffRole.FRONT_DESK).user)
    assert user.has_perm("patients.change_patient")
    assert user.has_perm("aftercare.change_patientlink")
    assert not user.has_perm("patients.add_treatment")
    assert not user.has_perm("patients.change_clinical_details")
    assert not user.membership.can_treat


def test_practitioners_treat_but_do_not_manage_staff_or_erase():
    user = _fresh(StaffMembershipFactory(role=StaffRole.PRACTITIONER).user)
    assert user.has_perms(["patients.add_treatment", "patients.change_clinical_details"])
    assert not user.has_perm("clinic.add_staffmembership")
    assert not user.has_perm("patients.erase_patient")
    assert user.membership.can_treat


def test_clinic_admins_may_edit_guidance_in_the_admin_and_manage_staff():
    user = _fresh(StaffMembershipFactory(role=StaffRole.CLINIC_ADMIN).user)
    assert user.is_staff
    assert user.has_perms(
        ["aftercare.change_guidanceitem", "clinic.change_staffmembership", "patients.erase_patient"]
    )
    assert not user.has_perm("auth.change_user")


def test_leaving_the_admin_role_removes_admin_site_access():
    membership = StaffMembershipFactory(role=StaffRole.CLINIC_ADMIN)
    membership.role = StaffRole.PRACTITIONER
    membership.save()
    assert not _fresh(membership.user).is_staff


def test_a_superuser_keeps_admin_site_access_whatever_the_role():
    user = UserFactory(is_superuser=True, is_staff=True)
    StaffMembershipFactory(user=user, role=StaffRole.FRONT_DESK)
    assert _fresh(user).is_staff


def test_deleting_the_membership_removes_the_role_group():
    membership = StaffMembershipFactory(role=StaffRole.PRACTITIONER)
    user = membership.user
    StaffMembership.objects.filter(pk=membership.pk).first().delete()
    assert not user.groups.exists()


def test_the_migration_made_one_group_per_role_with_its_permissions():
    for role, names in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == names


def test_role_group_repairs_a_group_whose_permissions_were_changed():
    Group.objects.get(name="front_desk").permissions.clear()
    group = role_group(StaffRole.FRONT_DESK)
    assert group.permissions.count() == len(ROLE_PERMISSIONS[StaffRole.FRONT_DESK])


def test_a_clinic_admin_opens_the_guidance_in_the_admin_but_not_users_or_the_audit():
    client = verified_client(StaffMembershipFactory(role=StaffRole.CLINIC_ADMIN).user)
    assert client.get(reverse("admin:aftercare_guidanceitem_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 403


def test_a_practitioner_cannot_open_the_admin():
    client = Client()
    client.force_login(StaffMembershipFactory(role=StaffRole.PRACTITIONER).user)
    response = client.get(reverse("admin:aftercare_guidanceitem_changelist"))
    assert response.status_code == 302
