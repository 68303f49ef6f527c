"""One Django group per staff role, with the permissions clinic.roles gives it."""

from django.db import migrations

from clinic.roles import ROLE_PERMISSIONS, role_groups_migrate


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0003_clinic_slug"),
        ("patients", "0002_staff_workspace"),
        ("aftercare", "0005_fewer_reminder_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(role_groups_migrate, remove_role_groups)]
