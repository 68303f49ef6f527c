"""Guidance per clinic, step 1: the columns, empty (0008 fills them, 0009 requires them)."""

import django.db.models.deletion
from django.db import migrations, models

DEFAULT_KEY_HELP = (
    "The shipped default row this row comes from; empty when the clinic added it "
    "(see aftercare.guidance.clinic)."
)
DEFAULT_FINGERPRINT_HELP = "Fingerprint of that default row, as it was when last taken."


class Migration(migrations.Migration):
    dependencies = [
        ("aftercare", "0006_adjustments_and_courses"),
        ("clinic", "0006_role_permissions_for_adjustments"),
    ]

    operations = [
        migrations.AddField(
            model_name="recoveryphase",
            name="clinic",
            field=models.ForeignKey(
                null=True,
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="recoveryphase",
            name="default_key",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=100,
                help_text=DEFAULT_KEY_HELP,
            ),
        ),
        migrations.AddField(
            model_name="recoveryphase",
            name="default_fingerprint",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=64,
                help_text=DEFAULT_FINGERPRINT_HELP,
            ),
        ),
        migrations.AddField(
            model_name="guidanceitem",
            name="clinic",
            field=models.ForeignKey(
                null=True,
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="guidanceitem",
            name="default_key",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=100,
                help_text=DEFAULT_KEY_HELP,
            ),
        ),
        migrations.AddField(
            model_name="guidanceitem",
            name="default_fingerprint",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=64,
                help_text=DEFAULT_FINGERPRINT_HELP,
            ),
        ),
        migrations.AddField(
            model_name="restrictionrule",
            name="clinic",
            field=models.ForeignKey(
                null=True,
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="restrictionrule",
            name="default_key",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=100,
                help_text=DEFAULT_KEY_HELP,
            ),
        ),
        migrations.AddField(
            model_name="restrictionrule",
            name="default_fingerprint",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=64,
                help_text=DEFAULT_FINGERPRINT_HELP,
            ),
        ),
        migrations.AddField(
            model_name="remindermoment",
            name="clinic",
            field=models.ForeignKey(
                null=True,
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="remindermoment",
            name="default_key",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=100,
                help_text=DEFAULT_KEY_HELP,
            ),
        ),
        migrations.AddField(
            model_name="remindermoment",
            name="default_fingerprint",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=64,
                help_text=DEFAULT_FINGERPRINT_HELP,
            ),
        ),
        migrations.AddField(
            model_name="intensityfactor",
            name="clinic",
            field=models.ForeignKey(
                null=True,
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="intensityfactor",
            name="default_key",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=100,
                help_text=DEFAULT_KEY_HELP,
            ),
        ),
        migrations.AddField(
            model_name="intensityfactor",
            name="default_fingerprint",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=64,
                help_text=DEFAULT_FINGERPRINT_HELP,
            ),
        ),
        migrations.AddField(
            model_name="intensitylevel",
            name="clinic",
            field=models.ForeignKey(
                null=True,
                help_text="The clinic whose patients this guidance is for.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="intensitylevel",
            name="default_key",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=100,
                help_text=DEFAULT_KEY_HELP,
            ),
        ),
        migrations.AddField(
            model_name="intensitylevel",
            name="default_fingerprint",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=64,
                help_text=DEFAULT_FINGERPRINT_HELP,
            ),
        ),
        migrations.AlterField(model_name="recoveryphase", name="key", field=models.SlugField()),
        migrations.AlterField(model_name="guidanceitem", name="key", field=models.SlugField()),
        migrations.AlterField(model_name="restrictionrule", name="key", field=models.SlugField()),
        migrations.AlterField(model_name="remindermoment", name="key", field=models.SlugField()),
        migrations.RemoveConstraint(model_name="intensityfactor", name="intensity_factor_unique"),
        migrations.AlterField(
            model_name="intensitylevel",
            name="rank",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "Light"), (2, "Moderate"), (3, "Intense")]
            ),
        ),
    ]
