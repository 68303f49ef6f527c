"""Give the role groups the permissions for plan adjustments and treatment courses."""

from django.db import migrations

from clinic.roles import role_groups_migrate


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0005_clinic_booking_url"),
        ("aftercare", "0006_adjustments_and_courses"),
    ]

    operations = [migrations.RunPython(role_groups_migrate, migrations.RunPython.noop)]
