"""Install the default guidance so a fresh system has complete aftercare content.

The content lives in aftercare/default_guidance.py; admins edit it afterwards.
"""

from types import SimpleNamespace

from django.db import migrations

MODEL_NAMES = [
    "RecoveryPhase",
    "GuidanceItem",
    "RestrictionRule",
    "ReminderMoment",
    "IntensityFactor",
    "IntensityLevel",
]


def install_defaults(apps, schema_editor):
    from aftercare.default_guidance import DEFAULT_GUIDANCE
    from aftercare.guidance import install_guidance

    models = SimpleNamespace(**{name: apps.get_model("aftercare", name) for name in MODEL_NAMES})
    if models.RecoveryPhase.objects.exists():
        return
    install_guidance(DEFAULT_GUIDANCE, models)


def remove_defaults(apps, schema_editor):
    for name in reversed(MODEL_NAMES):
        apps.get_model("aftercare", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("aftercare", "0001_guidance_and_plans")]

    operations = [migrations.RunPython(install_defaults, remove_defaults)]
