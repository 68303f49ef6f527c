"""Sending due reminders through email providers' APIs (django-anymail), end to end.

Django is configured from an EMAIL_URL (clinic.env.email_settings) for each provider,
pointing at a local stand-in of its send API (tests.aftercare.delivery.provider_api), and the real
dispatch (aftercare.delivery.dispatch.dispatch_due) runs over due reminders. Nothing between the
dispatch and the HTTP request is replaced.

What the provider answers decides the row: an answer about our account or the provider
(401, 403, 408, 429, 5xx, SES throttling or paused sending), or no answer at all, only
delays the whole batch; an answer about the message (other 4xx, a refused recipient)
fails that row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from aftercare.delivery.dispatch import dispatch_due
from aftercare.delivery.emails import TOKEN_MASK
from aftercare.models import AftercarePlan, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from clinic.env import email_settings
from tests.aftercare.delivery.provider_api import (
    MAILGUN_DOMAIN,
    PROVIDERS,
    SES_REGION,
    ApiRequest,
    ProviderApi,
    Reply,
    json_reply,
    postmark_error,
    sent_email,
    ses_error,
)
from tests.factories import TreatmentFactory

pytestmark = [
    pytest.mark.django_db,
    # Anymail warns that it no longer supports SendGrid officially; it still sends.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

LONDON = ZoneInfo("Europe/London")
# Each key has a character that must be percent-encoded in the URL, and is read back.
KEYS = {
    "postmark": "pm-server/token",
    "mailgun": "key-mailgun/123",
    "sendgrid": "SG.sendgrid/key",
    "brevo": "xkeysib-brevo/key",
    "ses": "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
}


@pytest.fixture
def now() -> datetime:
    """Noon today in London: a fixed moment of the day, on today's date so links are valid."""
    return timezone.localtime(timezone.now(), LONDON).replace(
        hour=12, minute=0, second=0, microsecond=0
    )


@pytest.fixture(autouse=True)
def one_aws_try(monkeypatch) -> None:
    # botocore itself retries throttling, 5xx and lost connections, up to 5 tries with
    # back-off: one try shows what reaches the transport, without the wait.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def api() -> Iterator[ProviderApi]:
    with ProviderApi() as server:
        yield server


@pytest.fixture(params=PROVIDERS)
def provider(request, api) -> Iterator[str]:
    """Django sending through `request.param` at the local API (its EMAIL_URL, as in prod)."""
    with sending_through(api, request.param):
        yield request.param


def sending_through(api: ProviderApi, provider: str, *, timeout: int = 5):
    config = email_settings(api.email_url(provider, KEYS[provider], timeout=timeout))
    return override_settings(**config)


def _plan(now: datetime) -> AftercarePlan:
    """A plan whose day-0 email is due at `now` (treated an hour earlier, in daytime)."""
    treatment = TreatmentFactory(performed_at=now - timedelta(hours=1))
    return plan_create(treatment=treatment, now=now)


def _day_0(plan: AftercarePlan) -> Reminder:
    return plan.reminders.get(day_number=0)


def _email(plan: AftercarePlan) -> str:
    return plan.treatment.patient.email


def _only_request(api: ProviderApi) -> ApiRequest:
    [request] = api.requests
    return request


def _assert_held_back(row: Reminder) -> None:
    """Left for a later pass: not failed, and not counted as a refusal of the message."""
    assert (row.status, row.first_refused_at, row.lease_token) == (
        ReminderStatus.PENDING,
        None,
        None,
    )
    assert row.last_error.startswith(("the email provider cannot take mail now", "cannot reach"))


# Sending


def test_each_provider_is_asked_once_to_send_the_due_reminder_to_the_patient(provider, api, now):
    plan = _plan(now)
    first = dispatch_due(now=now)
    second = dispatch_due(now=now + timedelta(minutes=1))
    request = _only_request(api)
    assert (first.sent, second.sent) == (1, 0)
    assert request.provider == provider
    assert sent_email(request).to == [_email(plan)]


def test_each_provider_is_given_the_subject_and_one_click_unsubscribe(provider, api, now):
    plan = _plan(now)
    dispatch_due(now=now)
    sent = sent_email(_only_request(api))
    copy = _day_0(plan).sent_messages.get()
    # The copy masks the patient's token; the provider is given the real one.
    unsubscribe = re.escape(copy.headers["List-Unsubscribe"]).replace(
        re.escape(TOKEN_MASK), r"[^/>]+"
    )
    assert sent.subject == copy.subject
    assert re.fullmatch(unsubscribe, sent.headers["List-Unsubscribe"])
    assert TOKEN_MASK not in sent.headers["List-Unsubscribe"]
    assert sent.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_sent_row_is_marked_sent(provider, api, now):
    plan = _plan(now)
    dispatch_due(now=now)
    row = _day_0(plan)
    assert (row.status, row.sent_at, row.last_error) == (ReminderStatus.SENT, now, "")


@pytest.mark.parametrize("provider", ["postmark", "mailgun", "brevo", "ses"], indirect=True)
def test_the_message_id_the_provider_answers_is_stored_on_the_sent_copy(provider, api, now):
    plan = _plan(now)
    dispatch_due(now=now)
    answered = _only_request(api).message_id
    assert answered
    assert _day_0(plan).sent_messages.get().provider_message_id == answered


@pytest.mark.parametrize("provider", ["sendgrid"], indirect=True)
def test_sendgrid_messages_are_stored_under_the_id_anymail_gives_them(provider, api, now):
    # SendGrid's reply has no id for the message; anymail sends its own (custom_args
    # anymail_id), which SendGrid's event webhook quotes back.
    plan = _plan(now)
    dispatch_due(now=now)
    [personalization] = _only_request(api).json()["personalizations"]
    stored = _day_0(plan).sent_messages.get().provider_message_id
    assert stored == personalization["custom_args"]["anymail_id"]


# The API key from EMAIL_URL, sent as each provider expects


@pytest.mark.parametrize("provider", ["postmark"], indirect=True)
def test_postmark_gets_the_server_token_in_its_header(provider, api, now):
    _plan(now)
    dispatch_due(now=now)
    assert _only_request(api).headers["X-Postmark-Server-Token"] == KEYS["postmark"]


@pytest.mark.parametrize("provider", ["sendgrid"], indirect=True)
def test_sendgrid_gets_the_api_key_as_a_bearer_token(provider, api, now):
    _plan(now)
    dispatch_due(now=now)
    assert _only_request(api).headers["Authorization"] == f"Bearer {KEYS['sendgrid']}"


@pytest.mark.parametrize("provider", ["mailgun"], indirect=True)
def test_mailgun_gets_the_api_key_by_basic_auth_as_user_api(provider, api, now):
    _plan(now)
    dispatch_due(now=now)
    assert _only_request(api).basic_auth() == ("api", KEYS["mailgun"])


@pytest.mark.parametrize("provider", ["mailgun"], indirect=True)
def test_mailgun_sends_from_the_domain_in_the_url(provider, api, now):
    _plan(now)
    dispatch_due(now=now)
    assert _only_request(api).path == f"/v3/{MAILGUN_DOMAIN}/messages"


@pytest.mark.parametrize("provider", ["brevo"], indirect=True)
def test_brevo_gets_the_api_key_in_its_api_key_header(provider, api, now):
    _plan(now)
    dispatch_due(now=now)
    assert _only_request(api).headers["api-key"] == KEYS["brevo"]


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_ses_requests_are_signed_with_the_access_key_and_region_from_the_url(provider, api, now):
    _plan(now)
    dispatch_due(now=now)
    authorization = _only_request(api).headers["Authorization"]
    access_key = KEYS["ses"].split(":")[0]
    assert re.match(
        rf"AWS4-HMAC-SHA256 Credential={access_key}/\d{{8}}/{SES_REGION}/ses/aws4_request,",
        authorization,
    )


# The provider cannot take mail now: rows wait, never fail

UNAVAILABLE: list[tuple[str, Reply]] = [
    ("postmark", postmark_error(401, 10, "No Account or Server API tokens were supplied.")),
    ("postmark", postmark_error(429, 429, "Rate limit exceeded.")),
    ("postmark", postmark_error(500, 0, "Internal server error.")),
    ("mailgun", Reply(401, b"Forbidden")),
    ("mailgun", json_reply(429, {"message": "Too many requests"})),
    ("mailgun", Reply(503, b"Service Unavailable")),
    ("sendgrid", json_reply(401, {"errors": [{"message": "Permission denied, wrong key"}]})),
    ("sendgrid", json_reply(403, {"errors": [{"message": "The from address does not match"}]})),
    ("sendgrid", json_reply(429, {"errors": [{"message": "too many requests"}]})),
    ("sendgrid", Reply(502, b"<html>Bad Gateway</html>")),
    ("brevo", json_reply(401, {"code": "unauthorized", "message": "Key not found"})),
    ("brevo", json_reply(429, {"code": "too_many_requests", "message": "Too many requests"})),
    ("brevo", json_reply(500, {"code": "internal_error", "message": "Internal error"})),
    ("ses", ses_error(429, "TooManyRequestsException", "Maximum sending rate exceeded.")),
    ("ses", ses_error(400, "SendingPausedException", "Sending is paused for this account.")),
    ("ses", ses_error(403, "UnrecognizedClientException", "The security token is invalid.")),
    ("ses", ses_error(500, "InternalFailure")),
    ("ses", ses_error(503, "ServiceUnavailable")),
]


def _case_ids(cases: list[tuple[str, Reply]]) -> list[str]:
    """provider-status and the error's code: "postmark-422-405", "ses-429-TooManyRequests..."."""
    ids = []
    for provider, reply in cases:
        code = reply.headers.get("x-amzn-ErrorType", "").rstrip(":")
        if provider == "postmark":
            code = str(json.loads(reply.body)["ErrorCode"])
        ids.append("-".join(part for part in (provider, str(reply.status), code) if part))
    return ids


@pytest.mark.parametrize(
    ("provider", "reply"), UNAVAILABLE, indirect=["provider"], ids=_case_ids(UNAVAILABLE)
)
def test_a_provider_that_cannot_take_mail_leaves_the_row_pending(provider, reply, api, now):
    plan = _plan(now)
    api.answer_always(reply)
    result = dispatch_due(now=now)
    assert (result.sent, result.failed, result.retried, result.unreachable) == (0, 0, 1, True)
    _assert_held_back(_day_0(plan))


def test_a_provider_that_cannot_take_mail_holds_back_the_rest_of_the_batch(provider, api, now):
    plans = [_plan(now), _plan(now)]
    api.answer_always(_unavailable(provider))
    result = dispatch_due(now=now)
    assert len(api.requests) == 1
    assert (result.retried, result.failed) == (2, 0)
    assert {_day_0(plan).status for plan in plans} == {ReminderStatus.PENDING}


def test_a_row_held_back_by_the_provider_is_sent_once_it_takes_mail_again(
    provider, api, now, settings
):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    plan = _plan(now)
    api.answer_next(_unavailable(provider))
    dispatch_due(now=now)
    assert dispatch_due(now=now + timedelta(seconds=59)).sent == 0
    assert dispatch_due(now=now + timedelta(seconds=60)).sent == 1
    assert _day_0(plan).status == ReminderStatus.SENT
    assert len(api.requests) == 2


def test_a_provider_that_refuses_connections_leaves_the_row_pending(provider, api, now):
    plan = _plan(now)
    api.refuse_connections()
    result = dispatch_due(now=now)
    assert (result.sent, result.failed, result.unreachable) == (0, 0, True)
    _assert_held_back(_day_0(plan))
    assert api.requests == []


def test_rows_held_back_by_refused_connections_are_sent_once_the_provider_is_back(
    provider, api, now, settings
):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    plans = [_plan(now), _plan(now)]
    api.refuse_connections()
    dispatch_due(now=now)
    api.accept_connections()
    assert dispatch_due(now=now + timedelta(seconds=60)).sent == 2
    assert sorted(to for r in api.requests for to in sent_email(r).to) == sorted(
        _email(plan) for plan in plans
    )


@pytest.mark.parametrize("provider_name", PROVIDERS)
def test_a_provider_that_does_not_answer_in_time_leaves_the_row_pending(provider_name, api, now):
    plan = _plan(now)
    api.answer_always(Reply(200, delay=3))
    with sending_through(api, provider_name, timeout=1):
        result = dispatch_due(now=now)
    assert (result.sent, result.failed, result.unreachable) == (0, 0, True)
    _assert_held_back(_day_0(plan))


# The provider refuses the message: that row fails, the batch goes on

REFUSALS: dict[str, Callable[[str], Reply]] = {
    "postmark": lambda to: postmark_error(422, 300, f"Invalid 'To' address: '{to}'."),
    "mailgun": lambda to: json_reply(400, {"message": "to parameter is not a valid address."}),
    "sendgrid": lambda to: json_reply(
        400,
        {
            "errors": [
                {
                    "message": "Does not contain a valid address.",
                    "field": "personalizations.0.to.0.email",
                }
            ]
        },
    ),
    "brevo": lambda to: json_reply(400, {"code": "invalid_parameter", "message": "to is invalid"}),
    "ses": lambda to: ses_error(400, "MessageRejected", "Email address is not verified."),
}
REFUSED = [(provider, REFUSALS[provider]) for provider in PROVIDERS] + [
    (
        "postmark",
        lambda to: postmark_error(
            422,
            406,
            "You tried to send to a recipient that has been marked as inactive.\n"
            f"Found inactive addresses: {to}.\n"
            "Inactive recipients are ones that have generated a hard bounce or a spam "
            "complaint. ",
        ),
    ),
    ("ses", lambda to: ses_error(400, "BadRequestException", "Missing final '@domain'")),
]


@pytest.mark.parametrize(
    ("provider", "refusal"),
    REFUSED,
    indirect=["provider"],
    ids=[f"{p}-{i}" for i, (p, _) in enumerate(REFUSED)],
)
def test_a_message_the_provider_refuses_fails_its_row(provider, refusal, api, now):
    plan = _plan(now)
    api.answer_always(refusal(_email(plan)))
    result = dispatch_due(now=now)
    row = _day_0(plan)
    assert (result.sent, result.failed, result.unreachable) == (0, 1, False)
    assert row.status == ReminderStatus.FAILED
    assert row.last_error
    assert not row.sent_messages.exists()


def test_a_refused_message_does_not_hold_up_the_rest_of_the_batch(provider, api, now):
    refused, other = _plan(now), _plan(now)
    api.answer_next(REFUSALS[provider](_email(refused)))
    result = dispatch_due(now=now)
    assert (result.sent, result.failed) == (1, 1)
    assert (_day_0(refused).status, _day_0(other).status) == (
        ReminderStatus.FAILED,
        ReminderStatus.SENT,
    )
    assert [sent_email(r).to for r in api.requests] == [[_email(refused)], [_email(other)]]


# Account problems that providers report with a 4xx other than 401/403/408/429: the
# transport takes them for a refused message and fails every row sent meanwhile.
ACCOUNT_PROBLEMS = [
    ("postmark", postmark_error(422, 405, "Not allowed to send: you have run out of credits.")),
    ("postmark", postmark_error(422, 412, "Account pending approval.")),
    ("mailgun", json_reply(404, {"message": "Domain not found: mg.clinic.example"})),
    ("brevo", json_reply(402, {"code": "not_enough_credits", "message": "Not enough credits"})),
]


@pytest.mark.parametrize(
    ("provider", "reply"), ACCOUNT_PROBLEMS, indirect=["provider"], ids=_case_ids(ACCOUNT_PROBLEMS)
)
def test_an_account_problem_reported_as_a_4xx_only_delays(provider, reply, api, now):
    plan = _plan(now)
    api.answer_always(reply)
    dispatch_due(now=now)
    assert _day_0(plan).status == ReminderStatus.PENDING


def _unavailable(provider: str) -> Reply:
    if provider == "ses":
        return ses_error(503, "ServiceUnavailable")
    if provider == "postmark":
        return postmark_error(503, 0, "Service unavailable")
    return json_reply(503, {"message": "Service unavailable"})
