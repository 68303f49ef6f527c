"""When the mail server first refused a reminder (4xx): the retry window starts there."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("aftercare", "0009_guidance_belongs_to_a_clinic")]

    operations = [
        migrations.AddField(
            model_name="reminder",
            name="first_refused_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
