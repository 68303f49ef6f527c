"""Keeps a staff member's Django groups in step with their role (see clinic.roles).

A receiver rather than a service call because memberships are also saved by the
admin's inlines and by fixtures: the groups must follow the role wherever it is set.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from clinic.models import StaffMembership
from clinic.roles import membership_groups_clear, membership_groups_sync


@receiver(post_save, sender=StaffMembership, dispatch_uid="clinic_membership_groups_sync")
def _sync_groups(
    sender: type[StaffMembership], instance: StaffMembership, raw: bool = False, **kwargs: Any
) -> None:
    if not raw:
        membership_groups_sync(membership=instance)


@receiver(post_delete, sender=StaffMembership, dispatch_uid="clinic_membership_groups_clear")
def _clear_groups(sender: type[StaffMembership], instance: StaffMembership, **kwargs: Any) -> None:
    membership_groups_clear(membership=instance)
