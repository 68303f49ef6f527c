"""The patient page's link lookup (aftercare.portal.page_link): the same answer the ORM gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Model

from aftercare.models import AftercarePlan, PatientLink
from aftercare.plans.services import plan_create
from aftercare.portal.links import link_issue
from aftercare.portal.page_link import link_for_page
from tests.factories import ClinicFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

PERFORMED_AT = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
NOW = PERFORMED_AT + timedelta(hours=1)


@pytest.fixture
def link() -> PatientLink:
    plan = plan_create(treatment=TreatmentFactory(performed_at=PERFORMED_AT), now=NOW)
    return link_issue(plan=plan, sending_at=NOW)


def _values(instance: Model, skip: tuple[str, ...] = ()) -> dict[str, object]:
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.attname not in skip
    }


def _slug(link: PatientLink) -> str:
    return link.plan.treatment.clinic.slug


def test_it_loads_the_link_as_the_orm_does(link):
    found = link_for_page(link_id=link.pk, clinic_slug=_slug(link), now=NOW)
    assert _values(found) == _values(PatientLink.objects.get(pk=link.pk))


def test_it_loads_the_plan_treatment_and_clinic_as_the_orm_does(link):
    found = link_for_page(link_id=link.pk, clinic_slug=_slug(link), now=NOW)
    plan = AftercarePlan.objects.select_related("treatment__clinic").get(pk=link.plan_id)
    assert _values(found.plan, skip=("content",)) == _values(plan, skip=("content",))
    assert _values(found.plan.treatment) == _values(plan.treatment)
    assert _values(found.plan.treatment.clinic) == _values(plan.treatment.clinic)


def test_it_leaves_the_plan_content_to_the_plan_cache(link):
    found = link_for_page(link_id=link.pk, clinic_slug=_slug(link), now=NOW)
    assert found.plan.get_deferred_fields() == {"content"}


def test_json_and_time_columns_come_back_as_python_values(link):
    found = link_for_page(link_id=link.pk, clinic_slug=_slug(link), now=NOW)
    assert isinstance(found.plan.treatment.areas, list)
    assert found.expires_at.tzinfo is not None


def test_a_revoked_link_is_not_found(link):
    PatientLink.objects.filter(pk=link.pk).update(revoked_at=NOW)
    assert link_for_page(link_id=link.pk, clinic_slug=_slug(link), now=NOW) is None


def test_an_expired_link_is_not_found(link):
    assert link_for_page(link_id=link.pk, clinic_slug=_slug(link), now=link.expires_at) is None


def test_a_link_is_not_found_under_another_clinics_address(link):
    other = ClinicFactory()
    assert link_for_page(link_id=link.pk, clinic_slug=other.slug, now=NOW) is None


def test_an_unknown_link_is_not_found(link):
    assert link_for_page(link_id=link.pk + 1000, clinic_slug=_slug(link), now=NOW) is None
