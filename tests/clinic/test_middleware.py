"""The Content-Security-Policy header (django-csp, configured in clinic.settings) on staff,
admin and patient pages."""

from __future__ import annotations

import re

import pytest
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from aftercare.links import link_current, token_for
from aftercare.plans.services import plan_create
from tests.factories import TreatmentFactory
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient_client(client, clinic):
    cache.clear()
    plan = plan_create(treatment=TreatmentFactory(patient__clinic=clinic), now=timezone.now())
    token = token_for(link_current(plan=plan, now=timezone.now()))
    assert client.get(reverse("patient:open", args=[clinic.slug, token])).status_code == 302
    return client


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for part in policy.split(";")
        if part.strip()
        for name, *values in [part.split()]
    }


def _staff_pages(clinic) -> list[str]:
    return [reverse("patients:list"), reverse("aftercare:concern_list")]


def _patient_pages(clinic) -> list[str]:
    return [
        reverse("patient:today", args=[clinic.slug]),
        reverse("patient:timeline", args=[clinic.slug]),
        reverse("patient:warning_signs", args=[clinic.slug]),
        reverse("patient:report", args=[clinic.slug]),
        reverse("patient:unsubscribe", args=[clinic.slug]),
    ]


def test_staff_pages_allow_scripts_from_this_site_only(practitioner_client, clinic):
    for url in _staff_pages(clinic):
        response = practitioner_client.get(url)
        assert (url, response.status_code) == (url, 200)
        assert (url, _directives(response)["script-src"]) == (url, ["'self'"])


def test_the_admin_allows_scripts_from_this_site_only(admin_user):
    admin_client = verified_client(admin_user)
    for url in [reverse("admin:index"), reverse("admin:aftercare_guidanceitem_changelist")]:
        response = admin_client.get(url)
        assert (url, response.status_code) == (url, 200)
        assert (url, _directives(response)["script-src"]) == (url, ["'self'"])


def test_the_admin_login_page_has_the_policy_too(client):
    response = client.get(reverse("admin:login"))
    assert "'unsafe-inline'" not in _directives(response)["script-src"]


def test_patient_pages_allow_scripts_from_this_site_only(patient_client, clinic):
    for url in _patient_pages(clinic):
        response = patient_client.get(url)
        assert (url, response.status_code) == (url, 200)
        assert (url, _directives(response)["script-src"]) == (url, ["'self'"])


def test_the_link_not_found_page_has_the_policy(client, clinic):
    cache.clear()
    response = client.get(reverse("patient:open", args=[clinic.slug, "x" * 43]))
    assert response.status_code == 404
    assert _directives(response)["script-src"] == ["'self'"]


def test_the_policy_allows_no_inline_or_eval_code_anywhere():
    policy = build_policy()
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert "http:" not in policy and "https:" not in policy and "*" not in policy


def test_the_policy_forbids_framing_plugins_and_base_tags(client):
    directives = _directives(client.get(reverse("login")))
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]


def test_forms_may_only_post_to_this_site(client):
    assert _directives(client.get(reverse("login")))["form-action"] == ["'self'"]


def test_a_policy_set_by_the_view_is_kept():
    own = "default-src 'none'"

    def view(request):
        response = HttpResponse("ok")
        response["Content-Security-Policy"] = own
        return response

    response = CSPMiddleware(view)(RequestFactory().get("/"))
    assert response["Content-Security-Policy"] == own


# A policy without 'unsafe-inline' breaks any inline code: there must be none to break.

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def _inline_code(html: str) -> dict[str, list[str]]:
    found = {
        "scripts": INLINE_SCRIPT.findall(html),
        "handlers": INLINE_HANDLER.findall(html),
        "style attributes": STYLE_ATTRIBUTE.findall(html),
    }
    return {kind: hits for kind, hits in found.items() if hits}


def test_patient_pages_have_no_inline_script_or_style(patient_client, clinic):
    found = {
        url: _inline_code(patient_client.get(url).content.decode())
        for url in _patient_pages(clinic)
    }
    assert found == dict.fromkeys(found, {})


def test_staff_pages_have_no_inline_script_or_style(practitioner_client, clinic):
    found = {
        url: _inline_code(practitioner_client.get(url).content.decode())
        for url in _staff_pages(clinic)
    }
    assert found == dict.fromkeys(found, {})
