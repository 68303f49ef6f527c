"""Writes to the clinic's staff. Role changes reach the user's groups through clinic.receivers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from clinic.models import Clinic, StaffMembership


@transaction.atomic
def staff_member_create(*, clinic: Clinic, user: User, role: str) -> StaffMembership:
    """Save a new user (an unsaved instance with its password set) as staff of `clinic`."""
    user.full_clean()
    user.save()
    membership = StaffMembership(user=user, clinic=clinic, role=role)
    membership.full_clean()
    membership.save()
    return membership


@transaction.atomic
def staff_member_update(*, membership: StaffMembership, role: str, is_active: bool) -> None:
    user = membership.user
    user.is_active = is_active
    user.full_clean()
    user.save()
    membership.role = role
    membership.full_clean()
    membership.save()


def staff_for(clinic: Clinic) -> QuerySet[User]:
    return (
        get_user_model()
        .objects.filter(membership__clinic=clinic)
        .select_related("membership")
        .order_by("-is_active", "first_name", "last_name", "username")
    )
