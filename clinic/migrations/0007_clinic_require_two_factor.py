from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0006_role_permissions_for_adjustments"),
    ]

    operations = [
        migrations.AddField(
            model_name="clinic",
            name="require_two_factor",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Every staff member must enter a code from an authenticator app after "
                    "their password. Clinic admins always must."
                ),
            ),
        ),
    ]
