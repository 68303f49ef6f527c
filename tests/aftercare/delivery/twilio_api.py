"""A local stand-in for Twilio's Programmable Messaging REST API, for tests.

A stdlib HTTP server in a thread (like `provider_api.ProviderApi`), so the real twilio SDK
can be driven end to end without the network or an account. It answers:

- POST /2010-04-01/Accounts/{AccountSid}/Messages.json      201, the Message resource
- GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json  200, the Message resource

checking HTTP basic auth (account sid : auth token; otherwise 401, code 20003) and the form
fields as Twilio does (To, From or MessagingServiceSid, Body, StatusCallback). Errors come as
Twilio's JSON error body {"code", "message", "more_info", "status"}, which the SDK turns into
`TwilioRestException(status, uri, msg, code)`.

Pointing the SDK here (what `TwilioApi.client()` does)::

    client = twilio.rest.Client(api.account_sid, api.auth_token)
    client.api.base_url = api.url  # Domain.absolute_url joins base_url and the resource uri

`base_url` is an attribute of each Twilio domain (`client.api` is the one that serves
Messages), not a documented setting. The SDK's documented extension point is `http_client=`:
`api.http_client()` is a `TwilioHttpClient` that sends every https://*.twilio.com request
here instead, for code that builds its own Client and only lets a test pass an HttpClient in.
Either way TWILIO_EDGE / TWILIO_REGION (or edge=/region=) must not be set: the SDK would then
rewrite the host name, "127.0.0.1:PORT" included.

What the SDK raises (see test_twilio_api.py): connection refused (`refuse_connections`) ->
requests.exceptions.ConnectionError; a reply slower than TwilioHttpClient(timeout=...) ->
requests.exceptions.ReadTimeout. Neither is wrapped in a TwilioException.

Replies: `answer_next` (the next requests, in order), `answer_for` (every message to one
number), `answer_always`; build them with `invalid_number`, `unsubscribed_recipient`,
`not_a_mobile`, `rate_limited`, `server_error`, `twilio_error`, `success`. Every request is
recorded (`requests`, `accepted`, `sent_to`). `send_status_callback` posts a signed status
callback as Twilio does; `signed_form_post` and `inbound_message_params` post an inbound
message to the app's webhook.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.local_server import LocalServer, QuietServer

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
DEFAULT_AUTH_TOKEN = "fedcba9876543210fedcba9876543210"
# The sender Twilio picks from a Messaging Service, as reported in status callbacks.
SERVICE_SENDER = "+15005550006"
# Twilio's message statuses (Message resource `status`, callbacks' MessageStatus).
MESSAGE_STATUSES = frozenset(
    {
        "queued",
        "sending",
        "sent",
        "failed",
        "delivered",
        "undelivered",
        "receiving",
        "received",
        "accepted",
        "scheduled",
        "read",
        "partially_delivered",
        "canceled",
    }
)
OPT_OUT_TYPES = frozenset({"STOP", "START", "HELP"})
# In an error message, replaced by the request's To when the reply is given.
TO = "{to}"

_MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
_MESSAGE_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$"
)
# What Twilio takes as a phone number without asking a carrier: E.164 (or a channel address).
_E164 = re.compile(r"^(?:whatsapp:|messenger:)?\+[1-9]\d{6,14}$")
_MAX_BODY = 1600


def new_sid(prefix: str) -> str:
    """A Twilio SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


# Replies


@dataclass(frozen=True)
class Reply:
    """A canned answer. `normal`: answer as Twilio would (a Message), only after `delay`."""

    status: int
    data: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (longer than the client's timeout: no answer).
    delay: float = 0.0
    normal: bool = False


def success(*, delay: float = 0.0) -> Reply:
    """Twilio's usual answer (the message is created), e.g. late: `success(delay=2)`."""
    return Reply(201, normal=True, delay=delay)


def twilio_error(
    status: int,
    code: int,
    message: str,
    *,
    delay: float = 0.0,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Twilio's error reply. "{to}" in `message` becomes the request's To number."""
    data = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Reply(status, data, dict(headers or {}), delay)


def invalid_number(number: str = TO, *, delay: float = 0.0) -> Reply:
    """400, 21211: Twilio cannot read the To number as a phone number."""
    return twilio_error(
        400, 21211, f"The 'To' number {number} is not a valid phone number.", delay=delay
    )


def unsubscribed_recipient(*, delay: float = 0.0) -> Reply:
    """400, 21610: the recipient texted STOP to this sender (Twilio blocks the send)."""
    return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient", delay=delay)


def not_a_mobile(number: str = TO, *, delay: float = 0.0) -> Reply:
    """400, 21614: the To number is a landline (cannot receive texts)."""
    return twilio_error(400, 21614, f"To number: {number}, is not a mobile number", delay=delay)


def rate_limited(*, delay: float = 0.0) -> Reply:
    """429, 20429: too many concurrent requests for the account."""
    return twilio_error(429, 20429, "Too Many Requests", delay=delay)


def server_error(status: int = 500, *, delay: float = 0.0) -> Reply:
    """Twilio failing: 500 (code 20500) or 503 (code 20503)."""
    known = {500: (20500, "Internal Server Error"), 503: (20503, "Service Unavailable")}
    if status not in known:
        raise ValueError(f"server_error takes 500 or 503, not {status}")
    code, message = known[status]
    return twilio_error(status, code, message, delay=delay)


def authentication_error() -> Reply:
    """401, 20003: what Twilio answers to a wrong account sid or auth token."""
    reply = twilio_error(401, 20003, "Authenticate")
    data = {**(reply.data or {}), "detail": "Your AccountSid or AuthToken was incorrect."}
    return Reply(401, data, {"WWW-Authenticate": 'Basic realm="Twilio API"'})


def not_found(path: str) -> Reply:
    """404, 20404: Twilio's answer for a path it has no resource at."""
    return twilio_error(404, 20404, f"The requested resource {path} was not found")


# Requests


@dataclass
class TwilioRequest:
    """One request the server received, and how it was answered (sid, or Twilio's error)."""

    method: str
    path: str
    headers: Message
    content: bytes
    form: dict[str, list[str]]
    status: int = 0
    sid: str = ""
    error: dict[str, Any] | None = None

    def field(self, name: str) -> str | None:
        """A form field's (last) value: To, From, Body, StatusCallback..."""
        values = self.form.get(name)
        return values[-1] if values else None

    @property
    def to(self) -> str | None:
        return self.field("To")

    @property
    def from_(self) -> str | None:
        return self.field("From")

    @property
    def body(self) -> str | None:
        return self.field("Body")

    @property
    def messaging_service_sid(self) -> str | None:
        return self.field("MessagingServiceSid")

    @property
    def status_callback(self) -> str | None:
        return self.field("StatusCallback")

    @property
    def error_code(self) -> int | None:
        return self.error["code"] if self.error else None

    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, password


# Segments: GSM-7 texts take 160 characters in one SMS, 153 a part when split; anything
# else goes as UCS-2, 70 UTF-16 units in one SMS, 67 a part. Extension characters take two.
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def num_segments(body: str) -> int:
    """How many SMS Twilio splits `body` into (its num_segments)."""
    if all(c in _GSM7 or c in _GSM7_EXTENSION for c in body):
        length = sum(2 if c in _GSM7_EXTENSION else 1 for c in body)
        single, part = 160, 153
    else:
        length = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if length <= single else -(-length // part)


def _rfc2822(moment: datetime) -> str:
    """Twilio's date format: "Thu, 24 Aug 2023 05:01:45 +0000"."""
    return format_datetime(moment.replace(microsecond=0))


class TwilioApi(LocalServer):
    """The server. Use as a context manager, or start()/stop()."""

    def __init__(
        self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        super().__init__(_Handler)
        self._lock = threading.Lock()
        self._requests: list[TwilioRequest] = []
        self._messages: dict[str, dict[str, Any]] = {}
        self._by_sid: dict[str, TwilioRequest] = {}
        self._canned: list[Reply] = []
        self._for_number: dict[str, Reply] = {}
        self._always: Reply | None = None

    # Running

    # Configuring clients

    @property
    def url(self) -> str:
        """What replaces https://api.twilio.com (the SDK's `client.api.base_url`)."""
        return f"http://127.0.0.1:{self.port}"

    def client(self, *, timeout: float | None = None) -> Client:
        """A twilio SDK Client sending here (via base_url), with this account's credentials."""
        client = Client(
            self.account_sid,
            self.auth_token,
            http_client=TwilioHttpClient(timeout=timeout),
            # Non-empty, so the SDK does not read TWILIO_EDGE / TWILIO_REGION from os.environ.
            environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
        )
        client.api.base_url = self.url
        return client

    def http_client(self, *, timeout: float | None = None) -> TwilioHttpClient:
        """For `Client(..., http_client=...)`: every https://*.twilio.com request comes here."""
        return _LocalHttpClient(self.url, timeout=timeout)

    # Replies

    def answer_next(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order, then as Twilio would."""
        with self._lock:
            self._canned.extend(replies)

    def answer_for(self, number: str, reply: Reply | None) -> None:
        """Answer every message to `number` with `reply` (None: as Twilio would again)."""
        with self._lock:
            if reply is None:
                self._for_number.pop(number, None)
            else:
                self._for_number[number] = reply

    def answer_always(self, reply: Reply | None) -> None:
        """Answer every request with `reply` (None: as Twilio would again)."""
        with self._lock:
            self._always = reply

    # What was received

    @property
    def requests(self) -> list[TwilioRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def accepted(self) -> list[TwilioRequest]:
        """The message-create requests Twilio accepted (201, with a sid)."""
        return [r for r in self.requests if r.sid and r.method == "POST"]

    def sent_to(self, number: str) -> list[str]:
        """Bodies of the messages accepted for `number`, in order."""
        return [r.body or "" for r in self.accepted if r.to == number]

    def message(self, sid: str) -> dict[str, Any]:
        """The Message resource as Twilio holds it now (status moved by callbacks)."""
        with self._lock:
            return dict(self._messages[sid])

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    # Status callbacks

    def send_status_callback(
        self,
        request_or_sid: TwilioRequest | str,
        status: str,
        error_code: int | str | None = None,
        *,
        timeout: float = 5.0,
    ) -> int:
        """POST the message's StatusCallback as Twilio does, signed; the HTTP status got."""
        if status not in MESSAGE_STATUSES:
            raise ValueError(f"not a Twilio message status: {status!r}")
        sid = request_or_sid if isinstance(request_or_sid, str) else request_or_sid.sid
        with self._lock:
            request = self._by_sid[sid]
            message = self._messages[sid]
            message["status"] = status
            message["date_updated"] = _rfc2822(datetime.now(UTC))
            if status in {"sent", "delivered"} and message["date_sent"] is None:
                message["date_sent"] = message["date_updated"]
            if error_code is not None:
                message["error_code"] = int(error_code)
            message = dict(message)
        url = request.status_callback
        if not url:
            raise ValueError(f"message {sid} was sent without a StatusCallback")
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": message["account_sid"],
            "From": message["from"] or SERVICE_SENDER,
            "To": message["to"],
            "ApiVersion": API_VERSION,
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return signed_form_post(url, params, self.auth_token, timeout=timeout)[0]

    # Answering

    def _answer(self, request: TwilioRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            reply = self._canned.pop(0) if self._canned else self._always
        if reply is None or reply.normal:
            # Twilio's own answer (possibly late): auth, then the resource.
            twilio = self._twilio_answer(request)
            reply = twilio if reply is None else _delayed(twilio, max(twilio.delay, reply.delay))
        elif reply.data is not None:
            reply = _fill_to(reply, request.to or "")
        request.status = reply.status
        if reply.status >= 400 and reply.data is not None:
            request.error = dict(reply.data)
        return reply

    def _twilio_answer(self, request: TwilioRequest) -> Reply:
        if request.basic_auth() != (self.account_sid, self.auth_token):
            return authentication_error()
        create = _MESSAGES_PATH.match(request.path)
        fetch = _MESSAGE_PATH.match(request.path)
        match = create or fetch
        if match is None or match["account"] != self.account_sid:
            return not_found(request.path)
        if fetch and request.method == "GET":
            with self._lock:
                message = self._messages.get(fetch["sid"])
            return _json(200, message) if message else not_found(request.path)
        if not (create and request.method == "POST"):
            return twilio_error(405, 20004, "Method not allowed")
        invalid = _invalid_create(request)
        if invalid is not None:
            return _fill_to(invalid, request.to or "")
        with self._lock:
            per_number = self._for_number.get(request.to or "")
        if per_number is not None and not per_number.normal:
            return _fill_to(per_number, request.to or "")
        reply = _json(201, self._create(request))
        return _delayed(reply, per_number.delay) if per_number else reply

    def _create(self, request: TwilioRequest) -> dict[str, Any]:
        sid = new_sid("SM")
        service = request.messaging_service_sid
        sender = request.from_
        # Through a Messaging Service alone Twilio has not picked a sender yet: "accepted".
        pending = bool(service) and not sender
        body = request.body or ""
        now = _rfc2822(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": "0" if pending else str(num_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if pending else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": request.to,
            "uri": f"{uri}.json",
        }
        request.sid = sid
        with self._lock:
            self._messages[sid] = message
            self._by_sid[sid] = request
        return message


def _invalid_create(request: TwilioRequest) -> Reply | None:
    """Twilio's answer to a create request missing what it needs (None: nothing missing)."""
    if not request.to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not request.from_ and not request.messaging_service_sid:
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not request.body and not request.field("MediaUrl") and not request.field("ContentSid"):
        return twilio_error(400, 21602, "Message body is required.")
    if len(request.body or "") > _MAX_BODY:
        return twilio_error(
            400, 21617, "The concatenated message body exceeds the 1600 character limit."
        )
    if not _E164.match(request.to):
        return invalid_number()
    return None


def _json(status: int, data: Mapping[str, Any]) -> Reply:
    return Reply(status, data)


def _delayed(reply: Reply, delay: float) -> Reply:
    return Reply(reply.status, reply.data, reply.headers, delay)


def _fill_to(reply: Reply, to: str) -> Reply:
    data = reply.data or {}
    message = data.get("message")
    if isinstance(message, str) and TO in message:
        data = {**data, "message": message.replace(TO, to)}
    return Reply(reply.status, data, reply.headers, reply.delay, reply.normal)


class _Handler(BaseHTTPRequestHandler):
    server: QuietServer

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        content = self.rfile.read(length)
        self._handle("POST", content)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET", b"")

    def _handle(self, method: str, content: bytes) -> None:
        path, _, query = self.path.partition("?")
        form = parse_qs(query, keep_blank_values=True)
        if content:
            form.update(parse_qs(content.decode(), keep_blank_values=True))
        request = TwilioRequest(method, path, self.headers, content, form)
        reply = self.server.api._answer(request)
        if reply.delay:
            time.sleep(reply.delay)
        body = b"" if reply.data is None else json.dumps(reply.data).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Twilio-Request-Id", new_sid("RQ"))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _LocalHttpClient(TwilioHttpClient):
    """A TwilioHttpClient sending https://<anything>.twilio.com/... to the local server."""

    def __init__(self, base_url: str, *, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            base = urlsplit(self.base_url)
            url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


# Webhooks (Twilio -> the app)


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio sends with a form POST of `params` to `url`."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def signed_form_post(
    url: str, params: Mapping[str, str], auth_token: str, *, timeout: float = 5.0
) -> tuple[int, bytes]:
    """POST `params` to `url` as Twilio posts a webhook, signed; (HTTP status, body)."""
    request = urllib.request.Request(
        url,
        data=urlencode(params).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": twilio_signature(url, params, auth_token),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def inbound_message_params(
    *,
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    opt_out_type: str | None = None,
    messaging_service_sid: str | None = None,
    message_sid: str | None = None,
) -> dict[str, str]:
    """The form Twilio posts to a number's incoming-message webhook.

    `opt_out_type` (STOP, START or HELP) is set by Advanced Opt-Out when the text was an
    opt-out, opt-in or help keyword; MessagingServiceSid only when the number is in a service.
    """
    sid = message_sid or new_sid("SM")
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": str(num_segments(body)),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    if opt_out_type is not None:
        if opt_out_type not in OPT_OUT_TYPES:
            raise ValueError(f"OptOutType is STOP, START or HELP, not {opt_out_type!r}")
        params["OptOutType"] = opt_out_type
    return params


@contextmanager
def twilio_api(
    account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN
) -> Iterator[TwilioApi]:
    """A running TwilioApi, stopped afterwards (for a pytest fixture: `with twilio_api()`)."""
    with TwilioApi(account_sid, auth_token) as api:
        yield api
