"""The Twilio stand-in (twilio_api.py) driven by the real twilio SDK.

If these pass, tests that send texts through the SDK against TwilioApi see what they would
see from Twilio: the same resource, the same exceptions, the same signed callbacks.
No database: plain functions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.aftercare.delivery.twilio_api import (
    Reply,
    TwilioApi,
    inbound_message_params,
    invalid_number,
    not_a_mobile,
    num_segments,
    rate_limited,
    server_error,
    signed_form_post,
    success,
    twilio_api,
    twilio_signature,
    unsubscribed_recipient,
)

SENDER = "+15005550006"
PATIENT = "+447700900123"
OTHER_PATIENT = "+447700900456"
SERVICE = "MG" + "ab" * 16


@pytest.fixture
def api() -> Iterator[TwilioApi]:
    with twilio_api() as running:
        yield running


@pytest.fixture
def client(api: TwilioApi) -> Client:
    return api.client()


# A stand-in for the app's webhook: records what Twilio would have posted to it.


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.posts: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.answer_status = 204

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:  # noqa: N802
        content = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = {name: values[-1] for name, values in parse_qs(content.decode()).items()}
        self.server.posts.append((self.path, dict(self.headers.items()), form))
        self.send_response(self.server.answer_status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _error(exc_info: pytest.ExceptionInfo[TwilioRestException]) -> tuple[int, int | None]:
    return exc_info.value.status, exc_info.value.code


# Pointing the SDK here


def test_base_url_routes_the_sdk_to_the_server(api: TwilioApi) -> None:
    client = Client(api.account_sid, api.auth_token)
    client.api.base_url = api.url

    message = client.messages.create(to=PATIENT, from_=SENDER, body="Hello")

    expected = f"{api.url}/2010-04-01/Accounts/{api.account_sid}/Messages.json"
    assert client.api.v2010.absolute_url(f"Accounts/{api.account_sid}/Messages.json") == (expected)
    assert [r.path for r in api.requests] == [expected.removeprefix(api.url)]
    assert message.sid == api.requests[0].sid


def test_an_injected_http_client_routes_the_sdk_to_the_server(api: TwilioApi) -> None:
    client = Client(api.account_sid, api.auth_token, http_client=api.http_client())

    message = client.messages.create(to=PATIENT, from_=SENDER, body="Hello")

    assert client.api.base_url == "https://api.twilio.com"
    assert message.sid == api.accepted[0].sid


# Creating a message


def test_create_returns_the_recorded_sid_and_the_message_resource(
    api: TwilioApi, client: Client
) -> None:
    message = client.messages.create(
        to=PATIENT,
        from_=SENDER,
        body="Your wound check is tomorrow at 10:00.",
        status_callback="https://clinic.example/twilio/status",
    )

    [request] = api.requests
    assert message.sid == request.sid
    assert message.sid is not None and message.sid.startswith("SM") and len(message.sid) == 34
    assert message.num_segments == "1"
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert (message.to, message.from_) == (PATIENT, SENDER)
    assert message.account_sid == api.account_sid
    assert message.api_version == "2010-04-01"
    assert message.error_code is None and message.error_message is None
    assert message.price is None and message.messaging_service_sid is None
    assert isinstance(message.date_created, datetime)
    assert message.uri == f"/2010-04-01/Accounts/{api.account_sid}/Messages/{message.sid}.json"
    assert message.subresource_uris == {"media": message.uri.removesuffix(".json") + "/Media.json"}
    assert request.status == 201 and request.error is None
    assert request.status_callback == "https://clinic.example/twilio/status"
    assert request.basic_auth() == (api.account_sid, api.auth_token)
    assert api.sent_to(PATIENT) == ["Your wound check is tomorrow at 10:00."]
    assert api.sent_to(OTHER_PATIENT) == []


def test_num_segments_counts_as_twilio_does(api: TwilioApi, client: Client) -> None:
    long_gsm = client.messages.create(to=PATIENT, from_=SENDER, body="a" * 161)
    unicode = client.messages.create(to=PATIENT, from_=SENDER, body="Bonjour 😊 " * 8)

    assert long_gsm.num_segments == "2"
    assert unicode.num_segments == "2"
    assert (num_segments("a" * 160), num_segments("€" * 80), num_segments("é" * 160)) == (1, 1, 1)
    assert (num_segments("€" * 81), num_segments("ł" * 70), num_segments("ł" * 71)) == (2, 1, 2)


def test_through_a_messaging_service_the_message_is_accepted_without_a_sender(
    api: TwilioApi, client: Client
) -> None:
    message = client.messages.create(to=PATIENT, messaging_service_sid=SERVICE, body="Hi")

    assert (message.status, message.num_segments, message.from_) == ("accepted", "0", None)
    assert message.messaging_service_sid == SERVICE
    assert api.accepted[0].messaging_service_sid == SERVICE


def test_a_message_without_a_body_is_refused(api: TwilioApi, client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PATIENT, from_=SENDER)

    assert _error(caught) == (400, 21602)
    assert api.accepted == []


# Errors


def test_a_wrong_auth_token_is_401_code_20003(api: TwilioApi) -> None:
    client = TwilioApi(api.account_sid, "0" * 32).client()
    client.api.base_url = api.url

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PATIENT, from_=SENDER, body="Hi")

    assert _error(caught) == (401, 20003)
    assert api.requests[0].error_code == 20003
    assert api.accepted == []


def test_an_invalid_number_is_400_code_21211(api: TwilioApi, client: Client) -> None:
    api.answer_next(invalid_number())

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PATIENT, from_=SENDER, body="Hi")

    assert _error(caught) == (400, 21211)
    assert f"The 'To' number {PATIENT} is not a valid phone number." in caught.value.msg
    assert api.requests[0].error == {
        "code": 21211,
        "message": f"The 'To' number {PATIENT} is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    # Then the next request is answered as Twilio would.
    assert client.messages.create(to=PATIENT, from_=SENDER, body="Hi").status == "queued"


def test_a_number_twilio_cannot_read_is_21211_without_canned_replies(client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="07700 900123", from_=SENDER, body="Hi")

    assert _error(caught) == (400, 21211)


def test_one_patients_number_fails_while_others_succeed(api: TwilioApi, client: Client) -> None:
    api.answer_for(PATIENT, unsubscribed_recipient())

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PATIENT, from_=SENDER, body="Hi")
    client.messages.create(to=OTHER_PATIENT, from_=SENDER, body="Hi")
    with pytest.raises(TwilioRestException):
        client.messages.create(to=PATIENT, from_=SENDER, body="Again")

    assert _error(caught) == (400, 21610)
    assert api.sent_to(PATIENT) == [] and api.sent_to(OTHER_PATIENT) == ["Hi"]
    api.answer_for(PATIENT, None)
    client.messages.create(to=PATIENT, from_=SENDER, body="Back")
    assert api.sent_to(PATIENT) == ["Back"]


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (unsubscribed_recipient(), 400, 21610),
        (not_a_mobile(), 400, 21614),
        (rate_limited(), 429, 20429),
        (server_error(), 500, 20500),
        (server_error(503), 503, 20503),
    ],
)
def test_twilio_errors_reach_the_sdk_with_their_status_and_code(
    api: TwilioApi, client: Client, reply: Reply, status: int, code: int
) -> None:
    api.answer_next(reply)

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PATIENT, from_=SENDER, body="Hi")

    assert _error(caught) == (status, code)
    assert api.accepted == []


def test_answer_next_answers_in_order_then_normally(api: TwilioApi, client: Client) -> None:
    api.answer_next(rate_limited(), server_error(503))
    codes = []
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=PATIENT, from_=SENDER, body="Hi")
        codes.append(caught.value.code)
    client.messages.create(to=PATIENT, from_=SENDER, body="Hi")

    assert codes == [20429, 20503]
    assert [r.status for r in api.requests] == [429, 503, 201]


# Outages and time-outs


def test_refused_connections_raise_requests_connection_error(
    api: TwilioApi, client: Client
) -> None:
    port = api.port
    api.refuse_connections()

    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        client.messages.create(to=PATIENT, from_=SENDER, body="Hi")

    assert type(caught.value) is requests.exceptions.ConnectionError
    assert not isinstance(caught.value, requests.exceptions.Timeout)
    api.accept_connections()
    assert api.port == port
    assert client.messages.create(to=PATIENT, from_=SENDER, body="Hi").status == "queued"
    assert len(api.requests) == 1


def test_a_reply_slower_than_the_client_timeout_raises_read_timeout(api: TwilioApi) -> None:
    client = api.client(timeout=0.1)
    api.answer_next(success(delay=0.4))

    with pytest.raises(requests.exceptions.ReadTimeout) as caught:
        client.messages.create(to=PATIENT, from_=SENDER, body="Hi")

    assert type(caught.value) is requests.exceptions.ReadTimeout
    # Twilio created the message all the same: the client never learnt its sid.
    assert api.sent_to(PATIENT) == ["Hi"]


def test_a_late_error_also_times_out(api: TwilioApi) -> None:
    client = Client(api.account_sid, api.auth_token, http_client=TwilioHttpClient(timeout=0.1))
    client.api.base_url = api.url
    api.answer_for(PATIENT, rate_limited(delay=0.4))

    with pytest.raises(requests.exceptions.Timeout):
        client.messages.create(to=PATIENT, from_=SENDER, body="Hi")

    assert api.accepted == []


# Status callbacks and inbound messages


def test_the_status_callback_is_signed_as_twilio_signs_it(
    api: TwilioApi, client: Client, receiver: _Receiver
) -> None:
    callback = receiver.url("/twilio/status/?token=abc")
    message = client.messages.create(to=PATIENT, from_=SENDER, body="Hi", status_callback=callback)

    status = api.send_status_callback(message.sid or "", "undelivered", error_code=30003)

    assert status == 204
    [(path, headers, form)] = receiver.posts
    assert path == "/twilio/status/?token=abc"
    assert form == {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "MessageStatus": "undelivered",
        "SmsStatus": "undelivered",
        "AccountSid": api.account_sid,
        "From": SENDER,
        "To": PATIENT,
        "ApiVersion": "2010-04-01",
        "ErrorCode": "30003",
    }
    signature = headers["X-Twilio-Signature"]
    validator = RequestValidator(api.auth_token)
    assert validator.validate(callback, form, signature)
    assert not validator.validate(callback, {**form, "MessageStatus": "delivered"}, signature)
    assert not validator.validate(callback, form, twilio_signature(callback, form, "x" * 32))
    assert api.message(message.sid or "")["status"] == "undelivered"


def test_fetching_a_message_shows_the_status_its_callbacks_reported(
    api: TwilioApi, client: Client, receiver: _Receiver
) -> None:
    sent = client.messages.create(
        to=PATIENT, from_=SENDER, body="Hi", status_callback=receiver.url("/status")
    )
    receiver.answer_status = 500

    assert api.send_status_callback(api.accepted[0], "delivered") == 500
    fetched = client.messages(sent.sid or "").fetch()
    assert (fetched.status, fetched.body, fetched.error_code) == ("delivered", "Hi", None)
    assert isinstance(fetched.date_sent, datetime)


def test_an_inbound_stop_is_posted_signed(api: TwilioApi, receiver: _Receiver) -> None:
    url = receiver.url("/twilio/inbound/")
    params = inbound_message_params(
        account_sid=api.account_sid, from_=PATIENT, to=SENDER, body="STOP", opt_out_type="STOP"
    )

    status, _ = signed_form_post(url, params, api.auth_token)

    assert status == 204
    [(_, headers, form)] = receiver.posts
    assert form == params
    assert form["OptOutType"] == "STOP" and form["MessageSid"].startswith("SM")
    assert {"SmsSid", "AccountSid", "From", "To", "Body", "NumMedia"} <= form.keys()
    assert RequestValidator(api.auth_token).validate(url, form, headers["X-Twilio-Signature"])
    with pytest.raises(ValueError):
        inbound_message_params(
            account_sid=api.account_sid, from_=PATIENT, to=SENDER, body="x", opt_out_type="NO"
        )
