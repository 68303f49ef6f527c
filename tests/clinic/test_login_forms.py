"""The login forms (clinic.login_forms) of the staff login page and the Django admin:
usernames no account can have are form errors, never a lookup; django-axes still counts
every failure it can record."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.login_forms import AdminLoginForm, StaffLoginForm
from tests.factories import STAFF_PASSWORD

USERNAME_MAX_LENGTH = get_user_model()._meta.get_field("username").max_length


LOGIN_PAGES = ["login", "admin:login"]


def _log_in(client: Client, username: str, password: str, page: str = "login"):
    return client.post(reverse(page), {"username": username, "password": password})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "form"), [("login", StaffLoginForm), ("admin:login", AdminLoginForm)]
)
def test_each_login_page_uses_the_form_that_limits_usernames(page, form):
    assert isinstance(Client().get(reverse(page)).context["form"], form)


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_256_character_username_is_a_form_error_not_a_server_error(page):
    # Found by an outside tester: axes stored the username in a 255-character column.
    response = _log_in(Client(), "a" * 256, "whatever-password", page)
    assert response.status_code == 200
    assert response.context["form"].has_error("username", "max_length")
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_username_as_long_as_the_user_model_allows_is_still_counted_as_a_failure():
    response = _log_in(Client(), "a" * USERNAME_MAX_LENGTH, "whatever-password")
    assert response.status_code == 200
    assert response.context["form"].has_error("__all__", "invalid_login")
    assert AccessAttempt.objects.get().username == "a" * USERNAME_MAX_LENGTH


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["jo\x1b[2Jdy", "jo\tdy", "jo\ndy", "jo\x7fdy"])
def test_a_username_with_a_control_character_is_refused(username):
    response = _log_in(Client(), username, "whatever-password")
    assert response.status_code == 200
    assert response.context["form"].has_error("username", "control_characters")
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize(("username", "password"), [("jo\x00dy", "pw"), ("jody", "p\x00w")])
def test_a_nul_byte_in_either_field_is_refused(username, password):
    response = _log_in(Client(), username, password)
    assert response.status_code == 200
    assert response.context["form"].has_error(
        "username" if "\x00" in username else "password", "null_characters_not_allowed"
    )


@pytest.mark.django_db
def test_the_right_username_and_password_still_log_in(practitioner):
    response = _log_in(Client(), practitioner.username, STAFF_PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("home")


# Any text, with the shapes testers reach for first: NUL, escape sequences, lengths
# either side of the limits (150 for the user model, 255 for axes' column).
TRICKY = ["\x00", "a\x00", "\x1b[31m", "\r\n", "a" * 150, "a" * 151, "a" * 256, "x" * 10_000]
any_text = st.one_of(
    st.sampled_from(TRICKY), st.text(alphabet=st.characters(exclude_categories=["Cs"]))
)


@settings(max_examples=200, deadline=None)
@given(username=any_text)
def test_a_username_that_passes_the_field_fits_every_column_it_reaches(username):
    field = StaffLoginForm().fields["username"]
    try:
        cleaned = field.clean(username)
    except ValidationError:
        return
    assert len(cleaned) <= USERNAME_MAX_LENGTH
    assert "\x00" not in cleaned


@pytest.mark.django_db
@pytest.mark.postgres
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    page=st.sampled_from(LOGIN_PAGES),
    username=any_text,
    password=any_text,
    next_url=st.one_of(st.none(), any_text),
)
def test_no_login_attempt_fails_with_a_server_error(page, username, password, next_url):
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    response = Client().post(reverse(page), data)
    # A form with its error, or axes' lockout page once one username fails too often.
    assert response.status_code in {200, 429}
