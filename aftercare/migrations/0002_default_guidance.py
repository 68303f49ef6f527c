"""Formerly installed one global copy of the default guidance.

Guidance now belongs to each clinic (migration 0008, `aftercare.guidance.clinic`):
a fresh database has no clinic yet, and each clinic gets its copy of the shipped
default when its guidance is first needed. Databases that ran this migration before
keep their global rows until 0008 copies them to every clinic.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("aftercare", "0001_guidance_and_plans")]

    operations = []
