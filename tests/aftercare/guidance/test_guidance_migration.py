"""Migrations 0007-0009: the global guidance becomes each existing clinic's own copy."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from aftercare.guidance.clinic import KINDS, row_differences
from aftercare.models import AftercarePlan, RestrictionRule
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [
    ("aftercare", "0006_adjustments_and_courses"),
    ("clinic", "0007_clinic_require_two_factor"),
]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] in {"aftercare", "clinic"}]


def _known_to(model, fields: dict) -> dict:
    """The fields the model had at that migration (later ones did not exist yet)."""
    names = {field.name for field in model._meta.get_fields()}
    return {name: value for name, value in fields.items() if name in names}


def test_every_existing_clinic_gets_a_copy_of_the_guidance_it_used(django_db_blocker):
    executor = _migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    clinic_model = apps.get_model("clinic", "Clinic")
    clinics = [
        clinic_model.objects.create(
            name=name, slug=name.lower(), phone="1", email="a@example.com", sender_name=name
        )
        for name in ("North", "South")
    ]
    for kind in KINDS:
        model = apps.get_model("aftercare", kind.model_name)
        model.objects.bulk_create(
            [
                model(**_known_to(model, kind.fields(value)))
                for value in getattr(DEFAULT_GUIDANCE, kind.collection)
                # History rows of the intensity table came later (migration 0013).
                if getattr(value, "factor", "") != "history"
            ]
        )
    apps.get_model("aftercare", "RestrictionRule").objects.filter(key="makeup").update(
        label="Cosmetics"
    )

    _migrate(_latest())

    for clinic in clinics:
        makeup = RestrictionRule.objects.get(clinic_id=clinic.pk, key="makeup")
        assert makeup.label == "Cosmetics"
        # Copies keep what the clinic used; what the default gained since (growth per
        # point, areas: migration 0013) shows as a difference the admin can take.
        added_since = {"hours_per_point", "areas"}
        assert {d.field for d in row_differences(makeup)} == {"label"} | added_since
        sun = RestrictionRule.objects.get(clinic_id=clinic.pk, key="sun")
        assert {d.field for d in row_differences(sun)} == {"hours_per_point"}
    assert not RestrictionRule.objects.filter(clinic__isnull=True).exists()
    assert RestrictionRule.objects.count() == 2 * len(DEFAULT_GUIDANCE.restrictions)
    assert AftercarePlan.objects.count() == 0  # nothing else touched
