"""Guidance per clinic, step 3: every row belongs to a clinic, names unique within it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("aftercare", "0008_guidance_copied_to_each_clinic")]

    operations = [
        migrations.AlterField(
            model_name="recoveryphase",
            name="clinic",
            field=models.ForeignKey(
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddConstraint(
            model_name="recoveryphase",
            constraint=models.UniqueConstraint(
                fields=["clinic", "key"], name="phase_unique_per_clinic"
            ),
        ),
        migrations.AlterField(
            model_name="guidanceitem",
            name="clinic",
            field=models.ForeignKey(
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddConstraint(
            model_name="guidanceitem",
            constraint=models.UniqueConstraint(
                fields=["clinic", "key"], name="guidance_item_unique_per_clinic"
            ),
        ),
        migrations.AlterField(
            model_name="restrictionrule",
            name="clinic",
            field=models.ForeignKey(
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddConstraint(
            model_name="restrictionrule",
            constraint=models.UniqueConstraint(
                fields=["clinic", "key"], name="restriction_unique_per_clinic"
            ),
        ),
        migrations.AlterField(
            model_name="remindermoment",
            name="clinic",
            field=models.ForeignKey(
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddConstraint(
            model_name="remindermoment",
            constraint=models.UniqueConstraint(
                fields=["clinic", "key"], name="reminder_moment_unique_per_clinic"
            ),
        ),
        migrations.AlterField(
            model_name="intensityfactor",
            name="clinic",
            field=models.ForeignKey(
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddConstraint(
            model_name="intensityfactor",
            constraint=models.UniqueConstraint(
                fields=["clinic", "factor", "threshold", "value"],
                name="intensity_factor_unique_per_clinic",
            ),
        ),
        migrations.AlterField(
            model_name="intensitylevel",
            name="clinic",
            field=models.ForeignKey(
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddConstraint(
            model_name="intensitylevel",
            constraint=models.UniqueConstraint(
                fields=["clinic", "rank"], name="intensity_level_unique_per_clinic"
            ),
        ),
    ]
