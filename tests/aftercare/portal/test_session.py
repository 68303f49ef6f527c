"""Staff and patient sessions in one browser (aftercare.portal.session).

Patient pages keep their session in their own cookie, which staff pages never read or
write, and the other way round. Django's test client sends every cookie it holds with
every request, whatever the cookie's path, so these tests also show that each kind of
page ignores the other's cookie when a browser does send it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from django.utils import timezone

from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, PatientLink, ReminderStatus
from aftercare.plans.services import plan_create
from aftercare.portal.session import LINK_SESSION_KEY, PATIENT_COOKIE_NAME
from tests.factories import STAFF_PASSWORD, TreatmentFactory

pytestmark = pytest.mark.django_db

STAFF_COOKIE_NAME = settings.SESSION_COOKIE_NAME


@pytest.fixture(autouse=True)
def fresh_rate_limit() -> None:
    cache.clear()


@pytest.fixture
def plan() -> AftercarePlan:
    return plan_create(treatment=TreatmentFactory(), now=timezone.now())


def _open_url(plan: AftercarePlan) -> str:
    token = token_for(link_current(plan=plan, now=timezone.now()))
    return reverse("patient:open", args=[plan.treatment.clinic.slug, token])


def _page_url(plan: AftercarePlan, name: str = "today") -> str:
    return reverse(f"patient:{name}", args=[plan.treatment.clinic.slug])


def _log_in(client: Client, username: str) -> None:
    """Through the login page, as a browser does (a CSRF-checking client needs its token)."""
    client.get(reverse("login"))
    response = client.post(
        reverse("login"),
        {
            "username": username,
            "password": STAFF_PASSWORD,
            "csrfmiddlewaretoken": client.cookies[settings.CSRF_COOKIE_NAME].value,
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]


def _cookie(client: Client, name: str) -> str:
    cookie = client.cookies.get(name)
    return cookie.value if cookie is not None else ""


def _session(client: Client, name: str) -> SessionStore:
    key = _cookie(client, name)
    assert key, f"no {name} cookie"
    return SessionStore(key)


def _assert_staff_expiry(session: SessionStore) -> None:
    assert session.get_expire_at_browser_close()
    assert abs(session.get_expiry_age() - settings.SESSION_COOKIE_AGE) < 60


def _logged_in_user_id(client: Client) -> int | None:
    response = client.get(reverse("home"))
    user = response.wsgi_request.user
    return user.pk if user.is_authenticated else None


# Staff logged in, then a patient link opened in the same browser


def test_opening_a_patient_link_leaves_the_staff_session_alone(plan, practitioner):
    client = Client(enforce_csrf_checks=True)
    _log_in(client, practitioner.username)
    staff_key = _cookie(client, STAFF_COOKIE_NAME)
    expires = Session.objects.get(pk=staff_key).expire_date

    response = client.get(_open_url(plan))

    assert response.status_code == 302
    assert STAFF_COOKIE_NAME not in response.cookies
    assert _cookie(client, STAFF_COOKIE_NAME) == staff_key
    assert Session.objects.get(pk=staff_key).expire_date == expires
    staff = _session(client, STAFF_COOKIE_NAME)
    _assert_staff_expiry(staff)
    assert LINK_SESSION_KEY not in staff
    assert _logged_in_user_id(client) == practitioner.pk


def test_the_patient_pages_work_beside_a_staff_login(plan, practitioner):
    client = Client(enforce_csrf_checks=True)
    _log_in(client, practitioner.username)
    client.get(_open_url(plan))
    assert client.get(_page_url(plan)).status_code == 200
    assert client.get(_page_url(plan, "timeline")).status_code == 200
    patient = _session(client, PATIENT_COOKIE_NAME)
    assert patient.session_key != _cookie(client, STAFF_COOKIE_NAME)
    assert patient[LINK_SESSION_KEY] == PatientLink.objects.get(plan=plan).pk
    assert patient.get_expiry_date() == PatientLink.objects.get(plan=plan).expires_at


@pytest.mark.parametrize("name", ["open", "today", "unsubscribe"])
def test_a_patient_page_never_sees_the_staff_login(plan, practitioner_client, name):
    practitioner_client.get(_open_url(plan))
    url = _open_url(plan) if name == "open" else _page_url(plan, name)
    response = practitioner_client.get(url)
    assert response.status_code in (200, 302)
    assert response.wsgi_request.user.is_anonymous


def test_a_patient_page_without_a_patient_session_is_not_found_even_for_staff(
    plan, practitioner_client
):
    assert practitioner_client.get(_page_url(plan)).status_code == 404


def test_the_patient_cookie_is_sent_only_to_the_patient_pages(plan):
    response = Client().get(_open_url(plan))
    cookie = response.cookies[PATIENT_COOKIE_NAME]
    assert cookie["path"] == "/p/"
    assert cookie["httponly"]
    assert cookie["samesite"] == settings.SESSION_COOKIE_SAMESITE
    assert STAFF_COOKIE_NAME not in response.cookies


def test_staff_logging_out_leaves_the_patient_session(plan, practitioner):
    client = Client(enforce_csrf_checks=True)
    _log_in(client, practitioner.username)
    client.get(_open_url(plan))
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    client.post(reverse("logout"), {"csrfmiddlewaretoken": token})
    assert _logged_in_user_id(client) is None
    assert client.get(_page_url(plan)).status_code == 200


# A patient link opened, then a staff login in the same browser


def test_logging_in_after_opening_a_patient_link_starts_a_fresh_staff_session(plan, practitioner):
    client = Client(enforce_csrf_checks=True)
    client.get(_open_url(plan))
    patient_key = _cookie(client, PATIENT_COOKIE_NAME)

    _log_in(client, practitioner.username)

    staff = _session(client, STAFF_COOKIE_NAME)
    assert staff.session_key != patient_key
    assert LINK_SESSION_KEY not in staff
    _assert_staff_expiry(staff)
    assert staff.get_expiry_date() < timezone.now() + timedelta(days=1)
    assert _logged_in_user_id(client) == practitioner.pk


def test_after_a_staff_login_the_patient_pages_still_work_from_their_own_cookie(plan, practitioner):
    client = Client(enforce_csrf_checks=True)
    client.get(_open_url(plan))
    patient_key = _cookie(client, PATIENT_COOKIE_NAME)
    _log_in(client, practitioner.username)

    assert client.get(_page_url(plan)).status_code == 200
    assert _cookie(client, PATIENT_COOKIE_NAME) == patient_key
    # The patient's forms carry their own session-bound token, not the staff CSRF cookie
    # (which the login rotated): the unsubscribe form still works.
    form = client.get(_page_url(plan, "unsubscribe"))
    response = client.post(
        _page_url(plan, "unsubscribe"), {"form_token": form.context["form_token"]}
    )
    assert response.status_code == 302
    assert not plan.reminders.filter(status=ReminderStatus.PENDING).exists()


def test_a_staff_form_does_not_take_the_patient_form_token(plan, practitioner):
    client = Client(enforce_csrf_checks=True)
    client.get(_open_url(plan))
    form_token = client.get(_page_url(plan, "unsubscribe")).context["form_token"]
    response = client.post(
        reverse("login"),
        {"username": practitioner.username, "password": STAFF_PASSWORD, "form_token": form_token},
    )
    assert response.status_code == 403  # Django's CSRF check, as for any staff form
    assert _logged_in_user_id(client) is None


# Sessions from before the patient pages had their own cookie


def _old_patient_session(plan: AftercarePlan, **data: object) -> str:
    session = SessionStore()
    session[LINK_SESSION_KEY] = PatientLink.objects.get(plan=plan).pk
    session.update(data)
    session.set_expiry(PatientLink.objects.get(plan=plan).expires_at)
    session.save()
    return session.session_key


def test_an_old_patient_session_in_the_staff_cookie_is_dropped_before_a_login(plan, practitioner):
    client = Client(enforce_csrf_checks=True)
    link_current(plan=plan, now=timezone.now())
    old_key = _old_patient_session(plan)
    client.cookies[STAFF_COOKIE_NAME] = old_key

    _log_in(client, practitioner.username)

    assert not Session.objects.filter(pk=old_key).exists()
    staff = _session(client, STAFF_COOKIE_NAME)
    assert staff.session_key != old_key
    assert LINK_SESSION_KEY not in staff
    _assert_staff_expiry(staff)


def test_a_staff_session_that_took_in_a_patient_link_is_logged_out(plan, practitioner):
    client = Client()
    link_current(plan=plan, now=timezone.now())
    client.cookies[STAFF_COOKIE_NAME] = _old_patient_session(
        plan,
        _auth_user_id=str(practitioner.pk),
        _auth_user_backend="django.contrib.auth.backends.ModelBackend",
        _auth_user_hash=practitioner.get_session_auth_hash(),
    )
    assert _logged_in_user_id(client) is None
    assert _cookie(client, STAFF_COOKIE_NAME) == ""


# The middleware on its own: which session each kind of page gets


def _remember(request: HttpRequest) -> HttpResponse:
    request.session["seen"] = request.path
    if not request.path.startswith("/p/"):
        # Patient pages send no messages: the messages cookie (path /) is not theirs alone.
        messages.info(request, f"Noted on {request.path}")
    return HttpResponse("noted")


def _recall(request: HttpRequest) -> HttpResponse:
    shown = [str(message) for message in messages.get_messages(request)]
    user = request.user.get_username() if request.user.is_authenticated else "anonymous"
    return HttpResponse(f"{user} | {request.session.get('seen')} | {shown}")


urlpatterns = [
    path("staff-page/remember/", _remember),
    path("staff-page/recall/", _recall),
    path("p/clinic/remember/", _remember),
    path("p/clinic/recall/", _recall),
]


@pytest.mark.urls(__name__)
def test_staff_pages_keep_their_login_session_data_and_messages_beside_a_patient_session(
    practitioner_client, practitioner
):
    practitioner_client.get("/p/clinic/remember/")
    practitioner_client.get("/staff-page/remember/")
    recalled = practitioner_client.get("/staff-page/recall/").content.decode()
    assert (
        recalled
        == f"{practitioner.username} | /staff-page/remember/ | ['Noted on /staff-page/remember/']"
    )


@pytest.mark.urls(__name__)
def test_patient_pages_keep_their_own_session_data_and_never_the_staff_login(
    practitioner_client,
):
    practitioner_client.get("/staff-page/remember/")
    practitioner_client.get("/p/clinic/remember/")
    recalled = practitioner_client.get("/p/clinic/recall/").content.decode()
    assert recalled.startswith("anonymous | /p/clinic/remember/ | ")
