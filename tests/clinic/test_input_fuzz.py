"""Whatever is in the query string or typed into a form, no staff page answers with a 500.

Every staff URL of tests/clinic/test_url_access.py is requested by a clinic admin on
PostgreSQL (which refuses NUL bytes in text: it is the database that turns a NUL into a
crash) with fuzzed GET parameters: the ones the page reads (GET_PARAMETERS, which the
test checks is complete), names a later filter might read, an arbitrary one, and raw query
strings with broken percent-escapes. Then every form on the page is posted with NUL,
escape sequences and very long text in each field. The login page and the Django admin's
pages that read a query string are fuzzed the same way.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftercare.guidance.forms import PlanPreviewForm
from clinic.models import StaffRole
from tests.clinic import test_url_access as url_table
from tests.factories import PatientFactory
from tests.two_factor import verified_client

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# One of each object a staff URL points at (a fixture, shared with the access matrix).
records = url_table.records

# The GET parameters each page reads, from request.GET or a form bound to it; a page
# not named reads none.
GET_PARAMETERS: dict[str, list[str]] = {
    "patients:list": ["q", "page"],
}
# Names a search or filter added later would likely read: every page gets them too.
LIKELY_NAMES = ["q", "page", "p", "o", "sort", "status", "date", "from", "to", "next", "id"]

# Values that have broken pages elsewhere: NUL (PostgreSQL refuses it), other control
# characters, huge or non-finite numbers, impossible dates, very long text.
TRICKY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\x7f",
    "\t",
    "a\r\nb",
    "\u2028",
    "\ufeff",
    "-1",
    "0",
    "1e309",
    "NaN",
    "9" * 5000,
    "2026-02-30",
    "2026-13-45",
    "0000-00-00",
    "9999-12-31",
    "%00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "🙂" * 50,
    "x" * 10_000,
]
# Query strings no browser sends: NUL and broken or overlong UTF-8 escapes, bare keys.
RAW_QUERIES = [
    "q=%00",
    "page=%00",
    "q=%ff%fe",
    "q=%C0%80",
    "q=%",
    "q=%zz",
    "q",
    "&&==&",
    "q=a&q=%00",
    "=x",
]

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)
value = st.one_of(st.sampled_from(TRICKY), text)
values = st.one_of(value, st.lists(value, min_size=2, max_size=3))
# WSGI hands Django the query string as latin-1 text, undecoded.
raw_text = st.text(alphabet="%0123456789abcdefABCDEF&=;+?#qp \x00\x1b\xe9\xff", max_size=60)


def query_strings(names: list[str]) -> st.SearchStrategy[str]:
    """Each named parameter present or not, tricky or random, once or repeated; or raw junk."""
    named = st.fixed_dictionaries({}, optional=dict.fromkeys([*names, *LIKELY_NAMES], values))
    extra = st.dictionaries(text, values, max_size=2)
    encoded = st.builds(lambda a, b: urlencode({**b, **a}, doseq=True), named, extra)
    return st.one_of(encoded, st.sampled_from(RAW_QUERIES), raw_text)


def _path(name: str, records: dict) -> str:
    kind = url_table.STAFF_URLS[name][0]
    args = [records[kind].pk, *url_table.EXTRA_ARGS.get(name, [])] if kind else []
    return reverse(name, args=args)


def _send(client: Client, method: str, path: str, query: str):
    # QUERY_STRING as given: the test client would otherwise re-encode it.
    response = getattr(client, method)(path, QUERY_STRING=query)
    if response.streaming:
        # Read to the end, as a server would: the client then closes the file (the photo).
        b"".join(response.streaming_content)
    return response


@pytest.fixture
def admin_of_clinic(clinic) -> Client:
    return url_table._client_for(clinic, StaffRole.CLINIC_ADMIN)


@pytest.fixture
def query_reads(monkeypatch) -> set[str]:
    """The keys any QueryDict (request.GET, or a form bound to it) is asked for."""
    read: set[str] = set()
    for method in ("get", "getlist", "__getitem__", "__contains__"):
        original = getattr(QueryDict, method)

        def spy(self, key, *args, _original=original, **kwargs):
            read.add(key)
            return _original(self, key, *args, **kwargs)

        monkeypatch.setattr(QueryDict, method, spy)
    return read


class PostForms(HTMLParser):
    """The POST forms of a page: where each one is sent, and the names of its fields."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: list[tuple[str, set[str]]] = []
        self._fields: set[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and (found.get("method") or "").lower() == "post":
            self._fields = set()
            self.forms.append((found.get("action") or "", self._fields))
        elif tag in {"input", "textarea", "select"} and self._fields is not None:
            name = found.get("name")
            if name and name != "csrfmiddlewaretoken":
                self._fields.add(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None


# Typed or pasted into a form: PostgreSQL refuses only NUL; the rest must be stored or
# refused with a form error.
HOSTILE_TEXT = [
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m\x07\x7f",
    "Jo\r\nBcc: x@evil.example",
    "x" * 10_000,
]


@pytest.mark.parametrize("name", list(url_table.STAFF_URLS))
def test_no_staff_page_fails_on_bad_input(name, admin_of_clinic, records, query_reads):
    # One test per page, in steps, so the records are made once per page.
    method = url_table.STAFF_URLS[name][1]
    path = _path(name, records)

    # 1. The page answers a plain request: were the admin sent elsewhere (to log in, or
    # to a second factor), the steps below would test nothing.
    response = _send(admin_of_clinic, method, path, "")
    assert response.status_code in {200, 302}
    if response.status_code == 302:
        assert resolve(urlsplit(response.url).path).view_name in url_table.STAFF_URLS
    is_html = method == "get" and response["Content-Type"].startswith("text/html")
    page = response.content.decode() if is_html else ""

    # 2. Every GET parameter the page reads is in GET_PARAMETERS, so it is fuzzed by name.
    listed = GET_PARAMETERS.get(name, [])
    if method == "get":
        unlisted = query_reads - set(listed)
        assert not unlisted, f"add {sorted(unlisted)} to GET_PARAMETERS[{name!r}]"

    # 3. Whatever the query string, no 500. Pages that read parameters get more tries.
    @settings(FUZZ, max_examples=50 if listed else 15)
    @given(query=query_strings(listed))
    def fuzz(query: str) -> None:
        assert _send(admin_of_clinic, method, path, query).status_code < 500

    fuzz()

    # 4. Each form on the page, every field the same hostile text: no 500. (The patient
    # and treatment forms are fuzzed field by field in tests/clinic/test_fuzz.py.)
    for action, fields in PostForms(page).forms:
        if action == reverse("logout") or not fields:
            continue  # logging out would end the steps; a bare button has nothing to type in
        for text in HOSTILE_TEXT:
            posted = admin_of_clinic.post(action or path, dict.fromkeys(fields, text))
            assert posted.status_code < 500, (action or path, sorted(fields), text[:20])


@FUZZ
@given(query=query_strings(["next"]))
def test_the_login_page_never_fails_on_a_bad_query_string(query):
    assert _send(Client(), "get", reverse("login"), query).status_code < 500


# The Django admin's own pages that read a query string: the plan preview (a form bound to
# request.GET), and change lists with search, ordering, paging, filters and dates.
ADMIN_PAGES: dict[str, list[str]] = {
    "admin:aftercare_plan_preview": list(PlanPreviewForm.base_fields),
    "admin:patients_patient_changelist": ["q", "o", "p", "e", "all", "skin_type__exact"],
    "admin:patients_treatment_changelist": [
        "q",
        "performed_at__year",
        "performed_at__month",
        "performed_at__day",
        "performed_at__gte",
        "performed_at__lt",
        "device__exact",
        "clinic__id__exact",
        "_popup",
        "_to_field",
    ],
    "admin:aftercare_reminder_changelist": ["q", "status__exact", "due_at__year", "due_at__gte"],
    "admin:aftercare_concernreport_changelist": ["q", "is_red_flag__exact", "handled_at__isnull"],
}


@pytest.fixture
def superuser(admin_user) -> Client:
    return verified_client(admin_user)


@pytest.mark.parametrize("name", list(ADMIN_PAGES))
def test_no_admin_page_fails_on_a_bad_query_string(name, superuser):
    path = reverse(name)
    assert superuser.get(path).status_code == 200  # or the fuzz would test nothing

    @FUZZ
    @given(query=query_strings(ADMIN_PAGES[name]))
    def fuzz(query: str) -> None:
        assert _send(superuser, "get", path, query).status_code < 500

    fuzz()


def test_control_characters_other_than_nul_are_stored_in_postgresql(admin_of_clinic, clinic):
    # Only NUL is refused by PostgreSQL; free text such as clinical notes may hold the rest.
    patient = PatientFactory(clinic=clinic)
    notes = "Pasted from a terminal: \x1b[31mred\x1b[0m\x07\x7f\x0b\x1f end"
    response = admin_of_clinic.post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "first_name": "Sam",
            "last_name": "Lee",
            "email": "sam@example.com",
            "skin_type": "3",
            "history_notes": notes,
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.history_notes == notes
