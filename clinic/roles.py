"""Staff roles as Django groups: the one place that says what each role may do.

`StaffMembership.role` is the source of truth; each role has a group of the same
name holding the permissions below, and `membership_groups_sync` keeps a user's
groups in step with their role (it runs whenever a membership is saved). Views
check the permissions, never the role.

After changing ROLE_PERMISSIONS, add a migration that runs
`migrations.RunPython(role_groups_migrate, migrations.RunPython.noop)` so existing
groups get the new permissions (as clinic migration 0004 does).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Q

from clinic.models import StaffMembership, StaffRole

# Everyone at the desk or in the treatment room: the patient's record, links,
# reminders and the reports patients send.
_SHARED = frozenset(
    {
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_treatment",
        "aftercare.view_aftercareplan",
        "aftercare.view_reminder",
        "aftercare.change_reminder",
        "aftercare.view_sentmessage",
        "aftercare.view_patientlink",
        "aftercare.change_patientlink",
        "aftercare.view_concernreport",
        "aftercare.change_concernreport",
        "aftercare.view_planadjustment",
        "aftercare.view_treatmentcourse",
    }
)

_CLINICAL = frozenset(
    {
        "patients.change_clinical_details",
        "patients.add_treatment",
        "patients.change_treatment",
        "aftercare.add_aftercareplan",
        "aftercare.add_planadjustment",
        "aftercare.add_treatmentcourse",
        "aftercare.change_treatmentcourse",
    }
)

_GUIDANCE = frozenset(
    f"aftercare.{action}_{model}"
    for action in ("view", "add", "change", "delete")
    for model in (
        "recoveryphase",
        "guidanceitem",
        "restrictionrule",
        "remindermoment",
        "intensityfactor",
        "intensitylevel",
    )
)

_CLINIC_ADMIN = frozenset(
    {
        # Their own clinic's details, opening hours and who patients call (ClinicAdmin).
        "clinic.view_clinic",
        "clinic.change_clinic",
        "clinic.view_openinghours",
        "clinic.add_openinghours",
        "clinic.change_openinghours",
        "clinic.delete_openinghours",
        "clinic.view_staffmembership",
        "clinic.add_staffmembership",
        "clinic.change_staffmembership",
        "patients.export_patient",
        "patients.erase_patient",
        "patients.view_audit_trail",
    }
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    StaffRole.FRONT_DESK: _SHARED,
    StaffRole.PRACTITIONER: _SHARED | _CLINICAL,
    StaffRole.CLINIC_ADMIN: _SHARED | _CLINICAL | _GUIDANCE | _CLINIC_ADMIN,
}

# Roles that may use the Django admin (for the clinic's guidance).
ADMIN_SITE_ROLES = frozenset({StaffRole.CLINIC_ADMIN})


def role_groups_migrate(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Data migration: each role's group with exactly its permissions, users in their group.

    Runs on the migration's historical models; permissions of apps not migrated yet are
    skipped (the groups are completed again when a membership is saved).
    """
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        # create_permissions() skips an app whose models_module is unset; any true value will do.
        app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    groups = {}
    for role, names in ROLE_PERMISSIONS.items():
        query = Q(pk__in=[])
        for name in names:
            app_label, codename = name.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        group, _ = group_model.objects.get_or_create(name=str(role))
        group.permissions.set(permission_model.objects.filter(query))
        groups[str(role)] = group
    membership_model = apps.get_model("clinic", "StaffMembership")
    for membership in membership_model.objects.select_related("user"):
        user = membership.user
        user.groups.remove(*[g for role, g in groups.items() if role != membership.role])
        user.groups.add(groups[membership.role])
        if membership.role in ADMIN_SITE_ROLES and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])


def _permissions(codenames: frozenset[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in codenames:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query))
    missing = codenames - {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if missing:
        raise LookupError(f"Unknown permissions in clinic.roles: {', '.join(sorted(missing))}")
    return found


def role_group(role: str) -> Group:
    """The role's group with exactly the permissions above (made again after a flush)."""
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.set(_permissions(ROLE_PERMISSIONS[role]))
    return group


def membership_groups_sync(*, membership: StaffMembership) -> None:
    user = membership.user
    role_groups = Group.objects.filter(name__in=StaffRole.values)
    user.groups.remove(*role_groups.exclude(name=membership.role))
    user.groups.add(role_group(membership.role))
    is_staff = user.is_superuser or membership.role in ADMIN_SITE_ROLES
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    # ModelBackend caches permissions on the user object.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def membership_groups_clear(*, membership: StaffMembership) -> None:
    user = membership.user
    user.groups.remove(*Group.objects.filter(name__in=StaffRole.values))
    if user.is_staff and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])
