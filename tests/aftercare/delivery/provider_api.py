"""A local stand-in for email providers' send APIs, for tests (stdlib HTTP server in a thread).

It answers as each provider's REST send endpoint does, at the paths django-anymail 15
calls when its api_url (endpoint_url for SES) points here, see `email_url`:

- Postmark   POST /email                     200 {"MessageID": ..., "ErrorCode": 0, ...}
- Mailgun    POST /v3/<domain>/messages      200 {"id": "<...>", "message": "Queued. Thank you."}
- SendGrid   POST /v3/mail/send              202, empty body, X-Message-Id header
- Brevo      POST /v3/smtp/email             201 {"messageId": "<...>"}
- Amazon SES POST /v2/email/outbound-emails  200 {"MessageId": ...} (boto3 sesv2 SendEmail)

Every request is recorded (`requests`), with the id the server gave the message.
`answer_next` makes it answer the next requests with a canned reply instead (see
`postmark_error`, `ses_error`), `refuse_connections` makes it stop listening.
`sent_email` reads recipient, subject and headers out of any provider's request.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote

from tests.local_server import LocalServer, QuietServer

PROVIDERS = ("postmark", "mailgun", "sendgrid", "brevo", "ses")
MAILGUN_DOMAIN = "mg.clinic.example"
SES_REGION = "eu-west-1"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (longer than the client's timeout: no answer).
    delay: float = 0.0


def json_reply(status: int, data: object, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status,
        json.dumps(data).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def postmark_error(status: int, error_code: int, message: str) -> Reply:
    """Postmark's error reply, e.g. 422 ErrorCode 300 (invalid email), 401 ErrorCode 10."""
    return json_reply(status, {"ErrorCode": error_code, "Message": message})


def ses_error(status: int, error_type: str, message: str = "") -> Reply:
    """An Amazon SES v2 (restJson) error: its type in the x-amzn-ErrorType header."""
    return json_reply(
        status,
        {"message": message or error_type},
        {"x-amzn-ErrorType": f"{error_type}:", "x-amzn-RequestId": str(uuid.uuid4())},
    )


@dataclass
class ApiRequest:
    """One request the server received, and the message id it answered with (if any)."""

    method: str
    path: str
    headers: Message
    body: bytes
    message_id: str = ""

    @property
    def provider(self) -> str:
        if self.path == "/email":
            return "postmark"
        if self.path == "/v3/mail/send":
            return "sendgrid"
        if self.path == "/v3/smtp/email":
            return "brevo"
        if self.path == "/v2/email/outbound-emails":
            return "ses"
        if self.path.startswith("/v3/") and self.path.endswith("/messages"):
            return "mailgun"
        return ""

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        """Mailgun's form fields: url-encoded, or multipart/form-data with attachments."""
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            parsed = message_from_bytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + self.body,
                policy=policy.HTTP,
            )
            fields: dict[str, list[str]] = {}
            for part in parsed.iter_parts():
                name = part.get_param("name", header="content-disposition")
                fields.setdefault(name, []).append(part.get_content())
            return fields
        return parse_qs(self.body.decode(), keep_blank_values=True)

    def basic_auth(self) -> tuple[str, str]:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        assert scheme == "Basic", scheme
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return user, password

    def raw_email(self) -> EmailMessage:
        """The MIME message in an SES SendEmail request (Content.Raw.Data, base64)."""
        data = base64.b64decode(self.json()["Content"]["Raw"]["Data"])
        return message_from_bytes(data, policy=policy.default)


@dataclass(frozen=True)
class SentEmail:
    """What a provider was asked to send, read the same way whichever provider it was."""

    to: list[str]
    subject: str
    headers: dict[str, str]


def sent_email(request: ApiRequest) -> SentEmail:
    provider = request.provider
    if provider == "postmark":
        data = request.json()
        headers = {item["Name"]: item["Value"] for item in data.get("Headers", [])}
        return SentEmail([data["To"]], data["Subject"], headers)
    if provider == "mailgun":
        form = request.form()
        headers = {name[2:]: values[-1] for name, values in form.items() if name.startswith("h:")}
        return SentEmail(form["to"], form["subject"][-1], headers)
    if provider == "sendgrid":
        data = request.json()
        to = [r["email"] for p in data["personalizations"] for r in p["to"]]
        return SentEmail(to, data["subject"], dict(data.get("headers", {})))
    if provider == "brevo":
        data = request.json()
        return SentEmail(
            [r["email"] for r in data["to"]], data["subject"], dict(data.get("headers", {}))
        )
    if provider == "ses":
        message = request.raw_email()
        # The MIME message may fold a long header: unfolded, it keeps a leading space.
        headers = {name: str(value).strip() for name, value in message.items()}
        return SentEmail([str(message["To"])], str(message["Subject"]), headers)
    raise ValueError(f"not a send request: {request.method} {request.path}")


class ProviderApi(LocalServer):
    """The server. Use as a context manager, or start()/stop()."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self._lock = threading.Lock()
        self._requests: list[ApiRequest] = []
        self._canned: list[Reply] = []
        self._always: Reply | None = None

    # Running

    # Configuring clients

    def api_url(self, provider: str) -> str:
        """The base URL anymail joins its endpoint to (the provider's default, moved here)."""
        base = f"http://127.0.0.1:{self.port}/"
        return base + "v3/" if provider in {"mailgun", "sendgrid", "brevo"} else base

    def email_url(self, provider: str, key: str = "test-key", *, timeout: int = 5) -> str:
        """An EMAIL_URL (clinic.env.email_settings) for `provider`, sending here.

        For SES `key` is "ACCESS_KEY_ID:SECRET". Keys are percent-encoded here.
        """
        query = f"timeout={timeout}"
        if provider == "ses":
            access, _, secret = key.partition(":")
            endpoint = quote(self.api_url(provider), safe="")
            credentials = f"{quote(access, safe='')}:{quote(secret, safe='')}"
            return f"ses://{credentials}@{SES_REGION}?endpoint_url={endpoint}&{query}"
        api_url = quote(self.api_url(provider), safe="")
        host = MAILGUN_DOMAIN if provider == "mailgun" else ""
        return f"{provider}://{quote(key, safe='')}@{host}?api_url={api_url}&{query}"

    # Replies

    def answer_next(self, reply: Reply, count: int = 1) -> None:
        """Answer the next `count` requests with `reply`, then as the provider would."""
        with self._lock:
            self._canned.extend([reply] * count)

    def answer_always(self, reply: Reply | None) -> None:
        """Answer every request with `reply` (None: answer as the provider would again)."""
        with self._lock:
            self._always = reply

    # What was received

    @property
    def requests(self) -> list[ApiRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def _answer(self, request: ApiRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            if self._canned:
                return self._canned.pop(0)
            if self._always is not None:
                return self._always
        return _success(request)


def _success(request: ApiRequest) -> Reply:
    provider = request.provider
    if request.method != "POST" or not provider:
        return json_reply(404, {"message": "Not found"})
    stamp = time.strftime("%Y%m%d%H%M%S")
    if provider == "postmark":
        request.message_id = str(uuid.uuid4())
        data = request.json()
        return json_reply(
            200,
            {
                "To": data.get("To", ""),
                "SubmittedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "MessageID": request.message_id,
                "ErrorCode": 0,
                "Message": "OK",
            },
        )
    if provider == "mailgun":
        domain = request.path.split("/")[2]
        request.message_id = f"<{stamp}.{uuid.uuid4().hex[:12]}@{domain}>"
        return json_reply(200, {"id": request.message_id, "message": "Queued. Thank you."})
    if provider == "sendgrid":
        request.message_id = uuid.uuid4().hex[:22]
        return Reply(202, b"", {"X-Message-Id": request.message_id})
    if provider == "brevo":
        request.message_id = f"<{stamp}.{uuid.uuid4().hex[:12]}@smtp-relay.mailin.fr>"
        return json_reply(201, {"messageId": request.message_id})
    request.message_id = f"0102{uuid.uuid4().hex}-000000"
    return json_reply(200, {"MessageId": request.message_id}, {"x-amzn-RequestId": stamp})


class _Handler(BaseHTTPRequestHandler):
    server: QuietServer

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        request = ApiRequest(
            method="POST",
            path=self.path.split("?")[0],
            headers=self.headers,
            body=self.rfile.read(length),
        )
        self._reply(self.server.api._answer(request))

    def do_GET(self) -> None:  # noqa: N802
        request = ApiRequest(method="GET", path=self.path, headers=self.headers, body=b"")
        self._reply(self.server.api._answer(request))

    def _reply(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def provider_api() -> Iterator[ProviderApi]:
    """A running ProviderApi, stopped afterwards (for a pytest fixture: `with provider_api()`)."""
    with ProviderApi() as api:
        yield api
