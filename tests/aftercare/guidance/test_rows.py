from dataclasses import replace

import pytest

from aftercare.guidance.clinic import guidance_install
from aftercare.guidance.rows import guidance_fingerprint, guidance_with, load_guidance
from aftercare.models import GuidanceItem, RestrictionRule
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE


@pytest.mark.django_db
def test_a_new_clinics_guidance_is_the_shipped_default(clinic):
    guidance_install(clinic=clinic)
    assert guidance_fingerprint(load_guidance(clinic)) == guidance_fingerprint(DEFAULT_GUIDANCE)


@pytest.mark.django_db
def test_inactive_rows_are_left_out(clinic):
    guidance_install(clinic=clinic)
    GuidanceItem.objects.filter(clinic=clinic, kind="product").update(is_active=False)
    assert not [item for item in load_guidance(clinic).items if item.kind == "product"]


@pytest.mark.django_db
def test_the_fingerprint_changes_when_an_admin_edits_a_restriction(clinic):
    guidance_install(clinic=clinic)
    before = guidance_fingerprint(load_guidance(clinic))
    RestrictionRule.objects.filter(clinic=clinic, key="makeup").update(hours_intense=96)
    assert guidance_fingerprint(load_guidance(clinic)) != before


def test_the_fingerprint_ignores_row_order():
    shuffled = replace(DEFAULT_GUIDANCE, items=tuple(reversed(DEFAULT_GUIDANCE.items)))
    assert guidance_fingerprint(shuffled) == guidance_fingerprint(DEFAULT_GUIDANCE)


def test_guidance_with_replaces_a_row_by_its_original_key():
    makeup = next(r for r in DEFAULT_GUIDANCE.restrictions if r.key == "makeup")
    renamed = replace(makeup, key="cosmetics", hours_light=72, hours_moderate=72)
    changed = guidance_with(DEFAULT_GUIDANCE, row=renamed, replacing="makeup")
    keys = [r.key for r in changed.restrictions]
    assert "makeup" not in keys
    assert keys.count("cosmetics") == 1


def test_guidance_with_drops_a_row_being_deactivated():
    makeup = next(r for r in DEFAULT_GUIDANCE.restrictions if r.key == "makeup")
    changed = guidance_with(DEFAULT_GUIDANCE, row=makeup, replacing="makeup", active=False)
    assert "makeup" not in [r.key for r in changed.restrictions]
