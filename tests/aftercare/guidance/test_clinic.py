"""Each clinic's own guidance: its copy of the default, its edits, resets and updates."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from aftercare.delivery.dispatch import dispatch_due
from aftercare.guidance.clinic import (
    guidance_for_clinic,
    guidance_install,
    guidance_offer_update,
    row_differences,
    value_fingerprint,
)
from aftercare.guidance.rows import guidance_fingerprint, json_default
from aftercare.links import link_current, token_for
from aftercare.models import GuidanceItem, IntensityFactor, RestrictionRule
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import Restriction
from aftercare.plans.services import plan_create
from clinic.models import StaffRole
from tests.factories import ClinicFactory, StaffMembershipFactory, TreatmentFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db


def _makeup(clinic) -> RestrictionRule:
    guidance_install(clinic=clinic)
    return RestrictionRule.objects.get(clinic=clinic, key="makeup")


def _relabel(rule: RestrictionRule, label: str) -> None:
    rule.label = label
    rule.save()


def _admin_client(clinic):
    return verified_client(StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user)


def _plan(clinic):
    return plan_create(treatment=TreatmentFactory(patient__clinic=clinic), now=timezone.now())


def _restriction_labels(plan) -> set[str]:
    return {restriction["label"] for restriction in plan.content["restrictions"]}


@pytest.fixture
def two_clinics():
    north, south = ClinicFactory(name="North"), ClinicFactory(name="South")
    _relabel(_makeup(north), "Makeup (North)")
    _relabel(_makeup(south), "Foundation and concealer")
    return north, south


def test_a_clinic_gets_the_shipped_default_when_its_guidance_is_first_needed(clinic):
    guidance = guidance_for_clinic(clinic)
    assert guidance_fingerprint(guidance) == guidance_fingerprint(DEFAULT_GUIDANCE)


def test_installing_twice_makes_one_copy(clinic):
    assert guidance_install(clinic=clinic) is True
    assert guidance_install(clinic=clinic) is False
    assert RestrictionRule.objects.filter(clinic=clinic, key="makeup").count() == 1


def test_two_clinics_plans_carry_their_own_edit_of_the_same_restriction(two_clinics):
    north, south = two_clinics
    assert "Makeup (North)" in _restriction_labels(_plan(north))
    assert "Foundation and concealer" not in _restriction_labels(_plan(north))
    assert "Foundation and concealer" in _restriction_labels(_plan(south))
    assert "Makeup (North)" not in _restriction_labels(_plan(south))


def test_each_clinics_patient_page_shows_only_its_own_edit(client, two_clinics):
    north, south = two_clinics
    for clinic, own, other in [
        (north, "Makeup (North)", "Foundation and concealer"),
        (south, "Foundation and concealer", "Makeup (North)"),
    ]:
        plan = _plan(clinic)
        token = token_for(link_current(plan=plan, now=timezone.now()))
        client.get(reverse("patient:open", args=[clinic.slug, token]))
        page = client.get(reverse("patient:today", args=[clinic.slug])).content.decode()
        assert own in page
        assert other not in page


def test_each_clinics_emails_carry_only_its_own_edit(settings, two_clinics):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    north, south = two_clinics
    for clinic in (north, south):
        plan = _plan(clinic)
        dispatch_due(now=plan.reminders.order_by("due_at").first().due_at)
    by_clinic = {message.from_email.split(" <")[0]: message.body for message in mail.outbox}
    assert "Makeup (North)" in by_clinic["North"]
    assert "Foundation and concealer" not in by_clinic["North"]
    assert "Foundation and concealer" in by_clinic["South"]
    assert "Makeup (North)" not in by_clinic["South"]


def test_each_clinics_print_sheet_shows_only_its_own_edit(two_clinics):
    north, south = two_clinics
    plan = _plan(north)
    sheet = _admin_client(north).get(reverse("aftercare:sheet", args=[plan.pk])).content.decode()
    assert "Makeup (North)" in sheet
    assert "Foundation and concealer" not in sheet


def test_the_admins_plan_preview_uses_the_admins_clinics_guidance(two_clinics):
    north, south = two_clinics
    facts = {
        "depth_mm": "1.0",
        "passes": "2",
        "areas": ["cheeks"],
        "device": "pen",
        "skin_type": "3",
        "performed_on": "2027-01-15",
        "performed_time": "10:00",
        "timezone": "Europe/London",
    }
    page = _admin_client(south).get(reverse("admin:aftercare_plan_preview"), facts)
    assert "<strong>Foundation and concealer</strong>: allowed again from" in page.content.decode()
    assert "Makeup (North)" not in page.content.decode()


def test_a_clinic_admin_edits_only_their_own_clinics_row(two_clinics):
    north, south = two_clinics
    souths_rule = _makeup(south)
    url = reverse("admin:aftercare_restrictionrule_change", args=[souths_rule.pk])
    response = _admin_client(north).post(url, {"label": "Taken over", "key": "makeup"})
    assert response.status_code == 302
    souths_rule.refresh_from_db()
    assert souths_rule.label == "Foundation and concealer"


def test_a_row_added_in_the_admin_belongs_to_the_admins_clinic(clinic):
    guidance_install(clinic=clinic)
    other = ClinicFactory()
    response = _admin_client(clinic).post(
        reverse("admin:aftercare_restrictionrule_add"),
        {
            "clinic": other.pk,
            "key": "sauna",
            "label": "Sauna",
            "body": "Skip the sauna for a while.",
            "hours_light": 48,
            "hours_moderate": 48,
            "hours_intense": 72,
            "hours_per_point": 0,
            "order": 50,
            "is_active": "on",
            "fact_ids": "",
        },
    )
    assert response.status_code == 302
    assert RestrictionRule.objects.get(key="sauna").clinic == clinic


def test_the_same_key_cannot_be_added_twice_in_one_clinic(clinic):
    guidance_install(clinic=clinic)
    response = _admin_client(clinic).post(
        reverse("admin:aftercare_restrictionrule_add"),
        {
            "key": "makeup",
            "label": "Again",
            "body": "x",
            "hours_light": 1,
            "hours_moderate": 1,
            "hours_intense": 1,
            "order": 1,
            "fact_ids": "",
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_the_list_says_which_rows_differ_from_the_shipped_default(clinic):
    _relabel(_makeup(clinic), "Cosmetics")
    page = _admin_client(clinic).get(reverse("admin:aftercare_restrictionrule_changelist"))
    text = page.content.decode()
    assert "Changed by the clinic" in text
    assert "As shipped" in text


def test_the_change_page_lists_the_fields_that_differ(clinic):
    rule = _makeup(clinic)
    _relabel(rule, "Cosmetics")
    page = _admin_client(clinic).get(
        reverse("admin:aftercare_restrictionrule_change", args=[rule.pk])
    )
    text = page.content.decode()
    assert "<td>Label</td><td>Cosmetics</td><td>Makeup</td>" in text
    assert "Reset to the shipped default" in text


def test_an_untouched_row_has_no_differences(clinic):
    assert row_differences(_makeup(clinic)) == []


def test_switching_a_row_off_counts_as_a_difference(clinic):
    rule = _makeup(clinic)
    rule.is_active = False
    rule.save()
    assert [d.field for d in row_differences(rule)] == ["is_active"]


def test_reset_puts_the_shipped_default_back(clinic):
    rule = _makeup(clinic)
    _relabel(rule, "Cosmetics")
    url = reverse("admin:aftercare_restrictionrule_change", args=[rule.pk])
    response = _admin_client(clinic).post(url, {"_reset": "1"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.label == "Makeup"
    assert row_differences(rule) == []


def test_the_reset_action_resets_the_selected_rows(clinic):
    rule = _makeup(clinic)
    _relabel(rule, "Cosmetics")
    _admin_client(clinic).post(
        reverse("admin:aftercare_restrictionrule_changelist"),
        {"action": "reset_to_default", "_selected_action": [rule.pk]},
    )
    rule.refresh_from_db()
    assert rule.label == "Makeup"


def test_a_row_from_the_default_cannot_be_deleted_only_switched_off(clinic):
    rule = _makeup(clinic)
    response = _admin_client(clinic).post(
        reverse("admin:aftercare_restrictionrule_delete", args=[rule.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert RestrictionRule.objects.filter(pk=rule.pk).exists()


def test_a_row_the_clinic_added_can_be_deleted(clinic):
    guidance_install(clinic=clinic)
    own = RestrictionRule.objects.create(
        clinic=clinic,
        key="sauna",
        label="Sauna",
        body="x",
        hours_light=1,
        hours_moderate=1,
        hours_intense=1,
    )
    response = _admin_client(clinic).post(
        reverse("admin:aftercare_restrictionrule_delete", args=[own.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not RestrictionRule.objects.filter(pk=own.pk).exists()


# A new version of the shipped default


def _new_version():
    """The shipped default with three edits: makeup longer, sun reworded, a new restriction."""
    restrictions = []
    for rule in DEFAULT_GUIDANCE.restrictions:
        if rule.key == "makeup":
            rule = replace(rule, hours_light=72, hours_moderate=72, hours_intense=96)
        elif rule.key == "sun":
            rule = replace(rule, label="Sun and tanning beds")
        restrictions.append(rule)
    pool = replace(DEFAULT_GUIDANCE.restrictions[0], key="pool", label="Pools", order=99)
    return replace(DEFAULT_GUIDANCE, restrictions=(*restrictions, pool))


def test_an_update_takes_the_new_default_for_rows_the_clinic_never_changed(clinic):
    _makeup(clinic)
    changes = guidance_offer_update(clinic=clinic, apply=True, guidance=_new_version())
    rule = RestrictionRule.objects.get(clinic=clinic, key="makeup")
    assert (rule.hours_light, rule.hours_intense) == (72, 96)
    assert ("updated", "Makeup") in {(change.action, change.name) for change in changes}


def test_an_update_keeps_a_row_the_clinic_changed_and_says_so(clinic):
    rule = _makeup(clinic)
    rule.hours_intense = 120
    rule.save()
    changes = guidance_offer_update(clinic=clinic, apply=True, guidance=_new_version())
    rule.refresh_from_db()
    assert (rule.hours_light, rule.hours_intense) == (48, 120)
    kept = [change for change in changes if change.action == "kept"]
    assert [change.name for change in kept] == ["Makeup"]
    assert "changed by the clinic" in str(kept[0])


def test_an_update_adds_rows_new_in_the_default(clinic):
    guidance_install(clinic=clinic)
    guidance_offer_update(clinic=clinic, apply=True, guidance=_new_version())
    pool = RestrictionRule.objects.get(clinic=clinic, key="pool")
    assert pool.default_key == "pool"
    assert row_differences(pool) is None  # not in the shipped default of this version


def test_an_update_never_brings_back_a_row_the_clinic_switched_off(clinic):
    rule = _makeup(clinic)
    rule.is_active = False
    rule.save()
    guidance_offer_update(clinic=clinic, apply=True, guidance=_new_version())
    rule.refresh_from_db()
    assert rule.is_active is False


def test_an_update_leaves_alone_a_clinics_own_row_with_a_new_default_key(clinic):
    guidance_install(clinic=clinic)
    RestrictionRule.objects.create(
        clinic=clinic,
        key="pool",
        label="Our pool rule",
        body="x",
        hours_light=1,
        hours_moderate=1,
        hours_intense=1,
    )
    changes = guidance_offer_update(clinic=clinic, apply=True, guidance=_new_version())
    assert RestrictionRule.objects.get(clinic=clinic, key="pool").label == "Our pool rule"
    assert any(c.action == "kept" and "its own row" in c.why for c in changes)


def test_an_update_without_apply_writes_nothing(clinic):
    _makeup(clinic)
    changes = guidance_offer_update(clinic=clinic, apply=False, guidance=_new_version())
    assert {change.action for change in changes} == {"updated", "added"}
    assert RestrictionRule.objects.get(clinic=clinic, key="makeup").hours_light == 48
    assert not RestrictionRule.objects.filter(clinic=clinic, key="pool").exists()


def test_an_update_with_an_unchanged_default_changes_nothing(clinic):
    guidance_install(clinic=clinic)
    assert guidance_offer_update(clinic=clinic, apply=True) == []


def test_an_intensity_row_whose_threshold_the_clinic_moved_is_not_added_again(clinic):
    guidance_install(clinic=clinic)
    row = IntensityFactor.objects.filter(clinic=clinic, factor="depth").order_by("threshold")[0]
    row.threshold = row.threshold + 1
    row.save()
    before = IntensityFactor.objects.filter(clinic=clinic).count()
    guidance_offer_update(clinic=clinic, apply=True)
    assert IntensityFactor.objects.filter(clinic=clinic).count() == before


def test_the_command_says_what_it_would_change_and_changes_nothing(clinic):
    _relabel(_makeup(clinic), "Cosmetics")
    GuidanceItem.objects.filter(clinic=clinic).first().delete()
    out = StringIO()
    call_command("guidance_update", stdout=out)
    assert f"{clinic.name}: Would change (run again with --apply):" in out.getvalue()
    assert "added item" in out.getvalue()
    assert GuidanceItem.objects.filter(clinic=clinic).count() == len(DEFAULT_GUIDANCE.items) - 1


def test_the_command_applies_when_asked(clinic):
    guidance_install(clinic=clinic)
    GuidanceItem.objects.filter(clinic=clinic).first().delete()
    out = StringIO()
    call_command("guidance_update", "--apply", stdout=out)
    assert "Changed:" in out.getvalue()
    assert GuidanceItem.objects.filter(clinic=clinic).count() == len(DEFAULT_GUIDANCE.items)
    out = StringIO()
    call_command("guidance_update", "--apply", stdout=out)
    assert "up to date with the shipped default" in out.getvalue()


def test_the_command_explains_an_unknown_clinic():
    with pytest.raises(Exception, match="No clinic with the slug 'nowhere'"):
        call_command("guidance_update", "--clinic", "nowhere")


def test_a_row_fingerprinted_before_fields_were_added_still_counts_as_unchanged():
    # Rows copied before restrictions had areas and growth were fingerprinted without them.
    value = Restriction("sauna", "Sauna", "Skip it.", 48, 48, 72, ("R2",), order=5)
    before = {k: v for k, v in asdict(value).items() if k not in {"areas", "hours_per_point"}}
    encoded = json.dumps({"value": before, "active": True}, default=json_default, sort_keys=True)
    assert value_fingerprint(value) == hashlib.sha256(encoded.encode()).hexdigest()
    assert value_fingerprint(replace(value, hours_per_point=6)) != value_fingerprint(value)
