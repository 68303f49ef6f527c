"""`Cache-Control: no-store` (clinic.middleware.NoStoreMiddleware) on every page Django
renders: staff pages, the admin, the login page, patients' pages. Static files keep theirs."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from aftercare.links import link_current, token_for
from aftercare.plans.services import plan_create
from clinic.middleware import NoStoreMiddleware
from clinic.models import StaffRole
from tests.clinic import test_url_access as url_table
from tests.factories import TreatmentFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db

# One of each object a staff URL points at (a fixture, shared with the access matrix).
records = url_table.records


def _no_store(response) -> bool:
    if response.streaming:
        # Read to the end, as a server would: the client then closes the file.
        b"".join(response.streaming_content)
    directives = {part.strip().split("=")[0] for part in response["Cache-Control"].split(",")}
    return "no-store" in directives


@pytest.mark.parametrize("name", list(url_table.STAFF_URLS))
def test_every_staff_page_forbids_caching(name, clinic, records):
    client = url_table._client_for(clinic, StaffRole.CLINIC_ADMIN)
    response = url_table._request(client, name, records)
    assert response.status_code in {200, 302}
    assert _no_store(response)


def test_a_staff_page_refused_to_a_role_forbids_caching_too(clinic):
    response = url_table._client_for(clinic, StaffRole.FRONT_DESK).get(reverse("staff:list"))
    assert response.status_code == 403
    assert _no_store(response)


def test_the_login_page_and_the_redirect_to_it_forbid_caching():
    client = Client()
    redirect = client.get(reverse("patients:list"))
    assert redirect.status_code == 302
    assert _no_store(redirect)
    assert _no_store(client.get(reverse("login")))


@pytest.mark.parametrize(
    "name", ["admin:index", "admin:patients_patient_changelist", "admin:login"]
)
def test_the_admin_forbids_caching(name, admin_user):
    response = verified_client(admin_user).get(reverse(name))
    assert response.status_code in {200, 302}
    assert _no_store(response)


def test_patient_pages_forbid_caching(client, clinic):
    cache.clear()
    plan = plan_create(treatment=TreatmentFactory(patient__clinic=clinic), now=timezone.now())
    token = token_for(link_current(plan=plan, now=timezone.now()))
    opened = client.get(reverse("patient:open", args=[clinic.slug, token]))
    assert opened.status_code == 302
    today = client.get(reverse("patient:today", args=[clinic.slug]))
    assert today.status_code == 200
    assert today["Cache-Control"] == "no-store"


def test_a_static_file_keeps_its_own_caching(settings, tmp_path):
    # WhiteNoise, listed above the middleware, answers before it runs.
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "probe.css").write_text("body { color: black; }")
    settings.STATIC_ROOT = tmp_path
    response = Client().get(settings.STATIC_URL + "css/probe.css")
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    assert not _no_store(response)


def _through_middleware(response: HttpResponse) -> HttpResponse:
    return NoStoreMiddleware(lambda request: response)(RequestFactory().get("/"))


def test_a_view_that_already_says_no_store_keeps_exactly_that():
    response = HttpResponse()
    response["Cache-Control"] = "no-store"
    assert _through_middleware(response)["Cache-Control"] == "no-store"


def test_a_view_that_allows_caching_is_overruled():
    response = HttpResponse()
    response["Cache-Control"] = "public, max-age=3600"
    assert _no_store(_through_middleware(response))
