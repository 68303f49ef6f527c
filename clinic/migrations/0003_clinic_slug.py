from django.db import migrations, models
from django.utils.text import slugify


def fill_slugs(apps, schema_editor):
    Clinic = apps.get_model("clinic", "Clinic")
    taken = set()
    for clinic in Clinic.objects.order_by("pk"):
        base = slugify(clinic.name)[:40] or "clinic"
        slug = base
        while slug in taken:
            slug = f"{base}-{clinic.pk}"
        taken.add(slug)
        clinic.slug = slug
        clinic.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [("clinic", "0002_reminder_hour")]

    operations = [
        migrations.AddField(
            model_name="clinic",
            name="slug",
            field=models.SlugField(null=True, db_index=False),
        ),
        migrations.RunPython(fill_slugs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="clinic",
            name="slug",
            field=models.SlugField(
                help_text="Short name used in patients' links, e.g. harbour-lane.", unique=True
            ),
        ),
    ]
