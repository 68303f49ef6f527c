"""Security properties over the whole URLconf (every staff URL, every staff form) and of
what reaches patients (admin-written guidance, email headers).

The staff URLs are found by walking django.urls.get_resolver(), so URLs added later are
covered without touching this file. A URL whose keyword argument has no value in
URL_KWARG_VALUES fails `test_every_url_argument_has_a_test_value`: add one there. A
public URL must be listed in PUBLIC_URL_NAMES or PUBLIC_NAMESPACES, with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from csp.utils import build_policy
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from aftercare.delivery.dispatch import dispatch_due
from aftercare.guidance.clinic import guidance_install
from aftercare.links import link_current, token_for
from aftercare.models import (
    GuidanceItem,
    RecoveryPhase,
    ReminderMoment,
    RestrictionRule,
    SentMessage,
)
from aftercare.plans.services import plan_create
from clinic.models import StaffMembership, StaffRole
from tests.factories import (
    ClinicFactory,
    PatientFactory,
    StaffMembershipFactory,
    TreatmentFactory,
)
from tests.two_factor import verified_client

pytestmark = pytest.mark.django_db

# Values used to build a URL for each keyword argument a pattern takes. Staff views check
# login before they look anything up, so any well-formed value will do.
URL_KWARG_VALUES: dict[str, object] = {
    "pk": 1,
    "id": 1,
    "key": "sun",
    "clinic_slug": "glow-clinic",
    "token": "x" * 43,
    # the admin's own URLs
    "app_label": "clinic",
    "object_id": "1",
    "content_type_id": 1,
    "url": "missing/",
}
# Reachable without a staff login, and why. (Static files are served by WhiteNoise's
# middleware, outside the URLconf.)
PUBLIC_NAMESPACES = {
    "patient": "patient pages: the emailed link (a token) is the key, not a login",
    "webhooks": "email providers' delivery reports: basic auth and the provider's signature",
    "texts": "Twilio's delivery reports and replies: Twilio's signature (X-Twilio-Signature)",
}
PUBLIC_URL_NAMES = {
    "login": "the login page",
    "logout": "logging out",
    "password_reset": "password reset asks for an email address",
    "password_reset_done": "password reset",
    "password_reset_confirm": "password reset: the emailed token is the key",
    "password_reset_complete": "password reset",
    "healthz": "health checks for load balancers and monitors",
    "readyz": "health checks for load balancers and monitors",
    "favicon": "the site's icon, which browsers ask for without a login",
    "admin:login": "the admin's login page",
    "admin:view_on_site": "Django's view-on-site redirect; the page it leads to needs a login",
}
LOGIN_PATHS = {settings.LOGIN_URL, "login"}  # resolved in _login_paths()


@dataclass(frozen=True)
class Route:
    name: str | None
    pattern: str
    kwargs: tuple[str, ...]

    @property
    def namespace(self) -> str:
        return self.name.rpartition(":")[0] if self.name else ""

    @property
    def is_admin(self) -> bool:
        return self.pattern.startswith("admin/")

    @property
    def is_public(self) -> bool:
        return self.name in PUBLIC_URL_NAMES or self.namespace in PUBLIC_NAMESPACES

    def url(self, **values: object) -> str:
        missing = [kwarg for kwarg in self.kwargs if kwarg not in {**URL_KWARG_VALUES, **values}]
        if missing:
            pytest.fail(
                f"URL {self.name!r} ({self.pattern}) takes {missing}: add a value to "
                "URL_KWARG_VALUES in tests/clinic/test_security.py"
            )
        kwargs = {kwarg: values.get(kwarg, URL_KWARG_VALUES.get(kwarg)) for kwarg in self.kwargs}
        return reverse(self.name, kwargs=kwargs)


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in [namespace, entry.namespace or ""] if part)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            kwargs = tuple(entry.pattern.regex.groupindex)
            yield Route(name=name, pattern=prefix + str(entry.pattern), kwargs=kwargs)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def staff_routes() -> list[Route]:
    # The admin's unnamed catch-all is covered by test_an_unknown_admin_url_needs_a_login.
    return [route for route in all_routes() if not route.is_public and route.name]


def _login_paths() -> set[str]:
    return {reverse(settings.LOGIN_URL), reverse("admin:login")}


def _response(client: Client, url: str, **extra):
    """GET, or POST for a view that only takes POST."""
    response = client.get(url, **extra)
    if response.status_code == 405:
        response = client.post(url, **extra)
    return response


def _send_first_reminder(plan) -> None:
    dispatch_due(now=plan.reminders.order_by("due_at").first().due_at)


# Every staff URL needs a login


def test_the_url_walk_finds_the_staff_and_public_urls():
    names = {route.name for route in all_routes()}
    assert {"patients:list", "patients:detail", "aftercare:concern_list", "patient:open"} <= names
    assert "patients:detail" in {route.name for route in staff_routes()}
    assert "patient:open" not in {route.name for route in staff_routes()}


def test_every_url_argument_has_a_test_value():
    unknown = sorted(
        f"{route.name} ({route.pattern}): {kwarg}"
        for route in all_routes()
        for kwarg in route.kwargs
        if kwarg not in URL_KWARG_VALUES and route.name
    )
    assert unknown == [], "add these to URL_KWARG_VALUES in tests/clinic/test_security.py"


def test_every_staff_url_sends_an_anonymous_visitor_to_the_login_page(client):
    login_paths = _login_paths()
    wrong = {}
    for route in staff_routes():
        url = route.url()
        first = _response(client, url)
        response = _response(client, url, follow=True)
        final_path = response.request["PATH_INFO"]
        if first.status_code != 302 or final_path not in login_paths:
            wrong[route.name] = (first.status_code, final_path)
    assert wrong == {}


def test_the_login_redirect_brings_the_visitor_back(client):
    response = client.get(reverse("patients:detail", args=[1]))
    assert response.url == f"{reverse('login')}?next=/patients/1/"


def test_an_unknown_admin_url_needs_a_login(client):
    response = client.get("/admin/no-such-page/", follow=True)
    assert response.request["PATH_INFO"] == reverse("admin:login")


# A Content-Security-Policy without inline code on every page

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<[^>]+\son[a-z]+\s*=|<[^>]+\sstyle\s*=|<style", re.I
)


def test_every_url_answers_with_the_content_security_policy(client, clinic_admin):
    staff = verified_client(clinic_admin)
    policy = build_policy()
    missing = []
    for route in all_routes():
        if not route.name:
            continue
        for visitor in (client, staff):
            response = visitor.get(route.url())
            if response.get("Content-Security-Policy") != policy:
                missing.append((route.name, response.status_code))
    assert missing == []


def test_no_page_template_has_inline_script_or_style():
    # Emails are exempt: mail clients need inline styles, and they run no script.
    found = {
        str(path.relative_to(TEMPLATES_DIR)): INLINE_CODE.findall(path.read_text())
        for path in TEMPLATES_DIR.rglob("*.html")
        if "emails" not in path.parts
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


# Every staff form is protected against cross-site request forgery


@pytest.fixture
def clinic_admin(clinic):
    return StaffMembershipFactory(clinic=clinic, role=StaffRole.CLINIC_ADMIN).user


def test_every_staff_url_refuses_a_post_without_a_csrf_token(clinic_admin):
    client = verified_client(clinic_admin, enforce_csrf_checks=True)
    accepted = {}
    for route in staff_routes():
        response = client.post(route.url(), {"anything": "1"})
        if response.status_code != 403 or b"CSRF" not in response.content:
            accepted[route.name] = response.status_code
    assert accepted == {}


def test_a_staff_form_posted_with_its_csrf_token_is_accepted(clinic_admin):
    client = verified_client(clinic_admin, enforce_csrf_checks=True)
    client.get(reverse("patients:create"))
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        reverse("patients:create"),
        {"csrfmiddlewaretoken": token, "first_name": "Sam", "last_name": "Lee"},
    )
    assert response.status_code == 302


def test_the_login_form_refuses_a_post_without_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "a", "password": "b"})
    assert response.status_code == 403


# Another clinic's records: 404, whatever the id

OWN_ID = 10**9  # the staff member's own rows get ids no other row has


@pytest.fixture
def empty_cache():
    cache.clear()


@pytest.fixture
def other_clinic_ids(empty_cache, settings) -> set[int]:
    """Every id of every record another clinic holds, of any kind."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    other = ClinicFactory(name="Other Clinic")
    StaffMembershipFactory(clinic=other, role=StaffRole.CLINIC_ADMIN)
    plan = plan_create(treatment=TreatmentFactory(patient__clinic=other), now=timezone.now())
    _send_first_reminder(plan)
    link = link_current(plan=plan, now=timezone.now())
    from aftercare.concerns.services import concern_report_create

    concern_report_create(
        link=link, symptoms=["itching"], details="", photo=None, now=timezone.now()
    )
    assert SentMessage.objects.exists()
    ids: set[int] = set()
    for model in apps.get_models():
        if model._meta.app_label not in {"clinic", "patients", "aftercare", "auth"}:
            continue
        fields = {field.name for field in model._meta.get_fields()}
        if fields & {"clinic", "patient", "plan", "treatment", "reminder", "membership"}:
            ids |= set(model.objects.values_list("pk", flat=True))
    return ids


@pytest.fixture
def own_admin_client(other_clinic_ids) -> Client:
    clinic = ClinicFactory(pk=OWN_ID, slug="own-clinic")
    user = get_user_model().objects.create_user(pk=OWN_ID, username="own-admin")
    StaffMembership.objects.create(pk=OWN_ID, user=user, clinic=clinic, role=StaffRole.CLINIC_ADMIN)
    return verified_client(user)


def test_another_clinics_ids_are_not_found_on_any_staff_url(own_admin_client, other_clinic_ids):
    assert len(other_clinic_ids) > 5
    routes = [route for route in staff_routes() if "pk" in route.kwargs and not route.is_admin]
    found = {}
    for route in routes:
        for pk in sorted(other_clinic_ids):
            url = route.url(pk=pk)
            statuses = {own_admin_client.get(url).status_code}
            statuses.add(own_admin_client.post(url, {}).status_code)
            statuses.discard(405)
            if statuses != {404}:
                found[url] = statuses
    assert found == {}


def test_the_id_check_would_see_a_leak(own_admin_client):
    # The same walk finds the staff member's own records: so a 404 above means "not yours".
    assert own_admin_client.get(reverse("staff:edit", args=[OWN_ID])).status_code != 404


# Admin-written guidance cannot put script on a patient's page or in an email

SCRIPT = '<script>alert("x")</script>'
PAYLOAD = (
    f'{SCRIPT} <img src=x onerror="alert(1)"> [click](javascript:alert(1)) '
    '<a href="javascript:alert(2)">more</a> <svg onload=alert(3)></svg>'
)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "img", "svg", "iframe", "object"}:
            src = dict(attrs).get("src") or ""
            if not (tag == "script" and src.startswith("/static/")):
                self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}=")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}=javascript:")


def _hostile_html(html: str) -> list[str]:
    """Elements and attributes that would run script, as the browser parses the page."""
    parser = _Elements()
    parser.feed(html)
    return parser.found


def test_the_check_finds_the_payload_when_it_is_not_escaped():
    assert _hostile_html(PAYLOAD.replace("[click](javascript:alert(1))", "")) == [
        "<script>",
        "<img>",
        "img onerror=",
        "a href=javascript:",
        "<svg>",
        "svg onload=",
    ]


def _make_guidance_hostile(clinic) -> None:
    guidance_install(clinic=clinic)
    GuidanceItem.objects.filter(clinic=clinic).update(title=SCRIPT, body=PAYLOAD)
    RecoveryPhase.objects.filter(clinic=clinic).update(name=SCRIPT, summary=PAYLOAD)
    RestrictionRule.objects.filter(clinic=clinic).update(label=SCRIPT, body=PAYLOAD)
    ReminderMoment.objects.filter(clinic=clinic).update(label=SCRIPT, summary=PAYLOAD)


@pytest.fixture
def hostile_guidance(empty_cache, clinic):
    _make_guidance_hostile(clinic)


@pytest.fixture
def hostile_plan(empty_cache):
    clinic = ClinicFactory(name=SCRIPT, sender_name="Glow Clinic", address=PAYLOAD)
    _make_guidance_hostile(clinic)
    return plan_create(treatment=TreatmentFactory(patient__clinic=clinic), now=timezone.now())


def test_hostile_guidance_is_shown_as_text_on_every_patient_page(client, hostile_plan):
    slug = hostile_plan.treatment.clinic.slug
    token = token_for(link_current(plan=hostile_plan, now=timezone.now()))
    assert client.get(reverse("patient:open", args=[slug, token])).status_code == 302
    found = {}
    for name in ["today", "timeline", "warning_signs", "report", "unsubscribe"]:
        response = client.get(reverse(f"patient:{name}", args=[slug]))
        assert response.status_code == 200, name
        found[name] = _hostile_html(response.content.decode())
    assert found == dict.fromkeys(found, [])


def test_hostile_guidance_is_escaped_not_dropped(client, hostile_plan):
    slug = hostile_plan.treatment.clinic.slug
    client.get(
        reverse(
            "patient:open",
            args=[slug, token_for(link_current(plan=hostile_plan, now=timezone.now()))],
        )
    )
    page = client.get(reverse("patient:today", args=[slug])).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_hostile_guidance_never_reaches_an_emails_html(hostile_plan, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _send_first_reminder(hostile_plan)
    assert mail.outbox
    for message in mail.outbox:
        (html, mimetype) = message.alternatives[0]
        assert mimetype == "text/html"
        assert _hostile_html(html) == []


def test_hostile_guidance_on_the_staff_plan_page_is_shown_as_text(
    clinic_admin, hostile_guidance, clinic
):
    client = verified_client(clinic_admin)
    plan = plan_create(treatment=TreatmentFactory(patient__clinic=clinic), now=timezone.now())
    for url in [
        reverse("patients:treatment_detail", args=[plan.treatment_id]),
        reverse("aftercare:sheet", args=[plan.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _hostile_html(response.content.decode()) == [], url


# No header injection through what staff type about a patient

INJECTED = "Jo\r\nBcc: attacker@evil.example\r\nSubject: hacked"


def test_a_patient_name_with_line_breaks_cannot_add_email_headers(empty_cache, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    patient = PatientFactory(first_name=INJECTED, last_name=INJECTED, email="jo@example.com")
    _send_first_reminder(
        plan_create(treatment=TreatmentFactory(patient=patient), now=timezone.now())
    )
    assert mail.outbox
    for message in mail.outbox:
        assert message.recipients() == ["jo@example.com"]
        headers = message.message()
        assert headers.get_all("Bcc") is None
        assert "hacked" not in headers["Subject"]
        assert "evil.example" not in "".join(f"{k}: {v}" for k, v in headers.items())


def test_a_clinic_sender_name_with_line_breaks_sends_nothing_it_did_not_mean_to(
    empty_cache, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clinic = ClinicFactory(sender_name=INJECTED)
    _send_first_reminder(
        plan_create(treatment=TreatmentFactory(patient__clinic=clinic), now=timezone.now())
    )
    for message in mail.outbox:
        assert message.recipients() == [message.to[0]]
        assert message.message().get_all("Bcc") is None


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_the_patient_form_refuses_a_name_with_line_breaks(practitioner_client, field):
    data = {"first_name": "Sam", "last_name": "Lee", field: INJECTED}
    response = practitioner_client.post(reverse("patients:create"), data)
    assert response.status_code == 200
    assert response.context["form"].has_error(field, code="control_characters")


def test_the_patient_form_refuses_an_email_address_with_headers(practitioner_client):
    data = {
        "first_name": "Sam",
        "last_name": "Lee",
        "email": "sam@example.com\r\nBcc: x@evil.example",
    }
    response = practitioner_client.post(reverse("patients:create"), data)
    assert response.status_code == 200
    assert response.context["form"].has_error("email")
