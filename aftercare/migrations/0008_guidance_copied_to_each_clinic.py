"""Guidance per clinic, step 2: every clinic gets a copy of the guidance it used so far.

The global rows (the shipped default as installed by 0002, with whatever admins
changed since) are copied to each clinic, so plans made tomorrow say what they say
today; then the global rows go. A copied row that matches a row of the shipped
default records it (`default_key`, `default_fingerprint`), so an edited row shows as
"changed by the clinic" and later updates of the default leave it alone. Plans and
their guidance snapshots are not touched.
"""

from django.db import migrations

MODEL_NAMES = [
    "RecoveryPhase",
    "GuidanceItem",
    "RestrictionRule",
    "ReminderMoment",
    "IntensityFactor",
    "IntensityLevel",
]
COPIED = {"id", "clinic", "default_key", "default_fingerprint"}


def copy_to_each_clinic(apps, schema_editor):
    from aftercare.guidance.clinic import KINDS, default_key, default_values, value_fingerprint

    clinics = list(apps.get_model("clinic", "Clinic").objects.all())
    for kind in KINDS:
        model = apps.get_model("aftercare", kind.model_name)
        shipped = default_values(kind)
        global_rows = list(model.objects.filter(clinic__isnull=True))
        names = [field.attname for field in model._meta.concrete_fields if field.name not in COPIED]
        copies = []
        for row in global_rows:
            key = default_key(kind.from_row(row))
            default = shipped.get(key)
            for clinic in clinics:
                copies.append(
                    model(
                        clinic=clinic,
                        default_key=key if default is not None else "",
                        default_fingerprint=value_fingerprint(default) if default is not None else "",
                        **{name: getattr(row, name) for name in names},
                    )
                )
        model.objects.bulk_create(copies)
        model.objects.filter(clinic__isnull=True).delete()


def back_to_one_copy(apps, schema_editor):
    first = apps.get_model("clinic", "Clinic").objects.order_by("pk").first()
    for name in MODEL_NAMES:
        model = apps.get_model("aftercare", name)
        model.objects.exclude(clinic=first).delete()
        model.objects.update(clinic=None, default_key="", default_fingerprint="")


class Migration(migrations.Migration):
    dependencies = [("aftercare", "0007_guidance_clinic_columns")]

    operations = [migrations.RunPython(copy_to_each_clinic, back_to_one_copy)]
