"""The email providers' delivery reports, posted to /anymail/<provider>/tracking/.

Each test posts a provider's own webhook payload (as Postmark, Amazon SES through SNS,
Mailgun, SendGrid and Brevo document them) through Django's test client to the real
endpoint (aftercare.delivery.webhook_urls), signed as the provider signs it: basic auth with
ANYMAIL["WEBHOOK_SECRET"] for all five, plus Mailgun's HMAC signature block and
SendGrid's ECDSA signature headers. What anymail makes of the payload is received by
aftercare.delivery.provider_reports, observed here only in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from aftercare.delivery.reminders import UNDELIVERABLE
from aftercare.models import DeliveryEvent, Reminder, ReminderStatus, SentMessage
from aftercare.plans.services import plan_create
from patients.models import ConsentChange, ConsentSource, Patient
from patients.services import patient_update
from tests.factories import TreatmentFactory

pytestmark = [
    pytest.mark.django_db,
    # anymail warns that it no longer officially supports SendGrid; the webhook still works.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

PROVIDERS = ["amazon_ses", "brevo", "mailgun", "postmark", "sendgrid"]
SECRET = "anymail-webhook:Zr8q-3fT9x-LpW2"
MAILGUN_SIGNING_KEY = "d8b6c3a4e0f1a2b3c4d5e6f708192a3b"
# Whole seconds, as every provider's timestamp can carry them.
SENT_AT = timezone.now().astimezone(UTC).replace(microsecond=0) - timedelta(minutes=10)
REPORTED_AT = SENT_AT + timedelta(minutes=4, seconds=37)

# The provider's own id for each sent email, in the form anymail's backend returns it
# (and SentMessage.provider_message_id keeps it).
PROVIDER_MESSAGE_IDS = {
    "amazon_ses": "0102019a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000",
    "brevo": "<202506021000.81234567890@smtp-relay.mailin.fr>",
    "mailgun": "<20250602100000.1a2b3c4d5e6f7a8b@mg.clinic.example.com>",
    "postmark": "4c2f1a9e-7b3d-4e8a-9f61-2d5c8b7a0e34",
    "sendgrid": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b",
}


# The sent email a report is about


def _sent_email(provider: str) -> SentMessage:
    """A plan whose day-0 email went out through `provider`; its later reminders wait."""
    treatment = TreatmentFactory(performed_at=timezone.now() - timedelta(hours=1))
    plan = plan_create(treatment=treatment, now=timezone.now())
    reminder = plan.reminders.get(day_number=0)
    Reminder.objects.filter(pk=reminder.pk).update(status=ReminderStatus.SENT, sent_at=SENT_AT)
    return SentMessage.objects.create(
        reminder=reminder,
        message_id=reminder.message_id,
        provider_message_id=PROVIDER_MESSAGE_IDS[provider],
        to=treatment.patient.email,
        subject="Your aftercare for today",
        text_body="Hello Jordan",
        html_body="<p>Hello Jordan</p>",
        headers={"Message-ID": reminder.message_id},
        sent_at=SENT_AT,
    )


def _waiting(sent: SentMessage) -> int:
    return Reminder.objects.filter(patient_id=sent.reminder.patient_id).unsent().count()


def _patient(sent: SentMessage) -> Patient:
    return Patient.objects.get(pk=sent.reminder.patient_id)


def _state(sent: SentMessage) -> dict[str, Any]:
    """Everything a report could change, to compare before and after."""
    patient_id = sent.reminder.patient_id
    return {
        "patient": Patient.objects.filter(pk=patient_id).values().get(),
        "reminders": list(Reminder.objects.filter(patient_id=patient_id).values()),
        "consent_changes": ConsentChange.objects.filter(patient_id=patient_id).count(),
        "delivery_events": DeliveryEvent.objects.count(),
    }


# Each provider's payloads, as its documentation shows them


@dataclass(frozen=True)
class Report:
    """What a provider's report says: the kind, which email, to whom, and its event id."""

    kind: str
    message_id: str
    to: str
    event_id: str


def _postmark(report: Report) -> dict[str, Any]:
    at = REPORTED_AT.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    if report.kind == "delivered":
        return {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": report.message_id,
            "Recipient": report.to,
            "Tag": "aftercare",
            "DeliveredAt": at,
            "Details": "smtp;250 2.0.0 OK  1717322677 a1b2c3d4e5f6",
            "Metadata": {},
        }
    record_type, bounce_type, type_code, name, description, details = {
        "hard_bounce": (
            "Bounce",
            "HardBounce",
            1,
            "Hard bounce",
            "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        ),
        "soft_bounce": (
            "Bounce",
            "SoftBounce",
            4096,
            "Soft bounce/Undeliverable",
            "Unable to temporarily deliver this email.",
            "smtp;452 4.2.2 The email account that you tried to reach is over quota.",
        ),
        "deferred": (
            "Bounce",
            "Transient",
            2,
            "Message delayed/Undeliverable",
            "The server could not temporarily deliver your message (ex: Message is "
            "delayed due to network troubles).",
            "smtp;421 4.7.0 Try again later, closing connection.",
        ),
        "rejected": (
            "Bounce",
            "BadEmailAddress",
            100000,
            "Invalid email address",
            "The address is not a valid email address.",
            "Invalid email address",
        ),
        "complaint": (
            "SpamComplaint",
            "SpamComplaint",
            512,
            "Spam complaint",
            "The subscriber explicitly marked this message as spam.",
            "Spam complaint from the recipient's mailbox provider",
        ),
    }[report.kind]
    return {
        "RecordType": record_type,
        "MessageStream": "outbound",
        "ID": int(report.event_id),
        "Type": bounce_type,
        "TypeCode": type_code,
        "Name": name,
        "Tag": "aftercare",
        "MessageID": report.message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": description,
        "Details": details,
        "Email": report.to,
        "From": "aftercare@clinic.example.com",
        "BouncedAt": at,
        "DumpAvailable": True,
        "Inactive": report.kind in {"hard_bounce", "complaint", "rejected"},
        "CanActivate": True,
        "Subject": "Your aftercare for today",
        "Content": "<Full dump of bounce>",
    }


def _amazon_ses(report: Report) -> dict[str, Any]:
    """An SES event-publishing record (it becomes the Message of an SNS Notification).

    The kind "notification_<kind>" is the older feedback-notification form, which names
    its type in notificationType instead of eventType.
    """
    at = REPORTED_AT.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    notification, kind = report.kind.startswith("notification_"), report.kind
    kind = kind.removeprefix("notification_")
    event_type, detail = {
        "delivered": (
            "Delivery",
            {
                "delivery": {
                    "timestamp": at,
                    "processingTimeMillis": 1137,
                    "recipients": [report.to],
                    "smtpResponse": "250 2.0.0 OK 1717322677 a1b2c3d4e5f6",
                    "reportingMTA": "a8-30.smtp-out.amazonses.com",
                }
            },
        ),
        "hard_bounce": (
            "Bounce",
            {
                "bounce": {
                    "feedbackId": "0102019a1b2c3d4e-bounce-000000",
                    "bounceType": "Permanent",
                    "bounceSubType": "General",
                    "bouncedRecipients": [
                        {
                            "emailAddress": report.to,
                            "action": "failed",
                            "status": "5.1.1",
                            "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                        }
                    ],
                    "timestamp": at,
                    "reportingMTA": "dns; a8-30.smtp-out.amazonses.com",
                }
            },
        ),
        "soft_bounce": (
            "Bounce",
            {
                "bounce": {
                    "feedbackId": "0102019a1b2c3d4e-bounce-000001",
                    "bounceType": "Transient",
                    "bounceSubType": "MailboxFull",
                    "bouncedRecipients": [
                        {
                            "emailAddress": report.to,
                            "action": "failed",
                            "status": "4.2.2",
                            "diagnosticCode": "smtp; 452 4.2.2 mailbox full",
                        }
                    ],
                    "timestamp": at,
                    "reportingMTA": "dns; a8-30.smtp-out.amazonses.com",
                }
            },
        ),
        "complaint": (
            "Complaint",
            {
                "complaint": {
                    "feedbackId": "0102019a1b2c3d4e-complaint-000000",
                    "complaintSubType": None,
                    "complainedRecipients": [{"emailAddress": report.to}],
                    "timestamp": at,
                    "userAgent": "Yahoo!-Mail-Feedback/2.0",
                    "complaintFeedbackType": "abuse",
                    "arrivalDate": at,
                }
            },
        ),
        "rejected": ("Reject", {"reject": {"reason": "Bad content"}}),
        "deferred": (
            "DeliveryDelay",
            {
                "deliveryDelay": {
                    "timestamp": at,
                    "delayType": "TransientCommunicationFailure",
                    "expirationTime": (REPORTED_AT + timedelta(hours=12)).strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z"
                    ),
                    "delayedRecipients": [
                        {
                            "emailAddress": report.to,
                            "status": "4.4.1",
                            "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host",
                        }
                    ],
                }
            },
        ),
    }[kind]
    return {
        "notificationType" if notification else "eventType": event_type,
        **detail,
        "mail": {
            "timestamp": SENT_AT.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "source": "Aftercare <aftercare@clinic.example.com>",
            "sourceArn": "arn:aws:ses:eu-west-2:123456789012:identity/clinic.example.com",
            "sendingAccountId": "123456789012",
            "messageId": report.message_id,
            "destination": [report.to],
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": "Aftercare <aftercare@clinic.example.com>"},
                {"name": "To", "value": report.to},
                {"name": "Subject", "value": "Your aftercare for today"},
            ],
            "commonHeaders": {
                "from": ["Aftercare <aftercare@clinic.example.com>"],
                "to": [report.to],
                "messageId": report.message_id,
                "subject": "Your aftercare for today",
            },
            "tags": {"ses:configuration-set": ["aftercare"]},
        },
    }


def _mailgun(report: Report) -> dict[str, Any]:
    """Mailgun's event-data (the signature block is added when signing)."""
    headers = {
        "to": f"Jordan <{report.to}>",
        # Mailgun quotes the Message-ID without its angle brackets.
        "message-id": report.message_id.strip("<>"),
        "from": "Aftercare <aftercare@mg.clinic.example.com>",
        "subject": "Your aftercare for today",
    }
    common = {
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": REPORTED_AT.timestamp(),
        "log-level": "info",
        "recipient": report.to,
        "recipient-domain": report.to.partition("@")[2],
        "message": {"headers": headers, "attachments": [], "size": 4211},
        "tags": ["aftercare"],
        "user-variables": {},
        "flags": {"is-routed": False, "is-authenticated": True, "is-test-mode": False},
    }
    if report.kind == "delivered":
        return {
            **common,
            "event": "delivered",
            "envelope": {"transport": "smtp", "sending-ip": "209.61.154.250"},
            "delivery-status": {
                "tls": True,
                "mx-host": "smtp-in.example.com",
                "code": 250,
                "description": "",
                "attempt-no": 1,
                "message": "OK",
                "session-seconds": 0.43,
            },
        }
    if report.kind == "hard_bounce":
        return {
            **common,
            "event": "failed",
            "log-level": "error",
            "severity": "permanent",
            "reason": "bounce",
            "delivery-status": {
                "attempt-no": 1,
                "message": "550 5.1.1 The email account that you tried to reach does not exist.",
                "code": 550,
                "description": "",
                "session-seconds": 0.12,
            },
        }
    if report.kind == "deferred":
        return {
            **common,
            "event": "failed",
            "log-level": "warn",
            "severity": "temporary",
            "reason": "generic",
            "delivery-status": {
                "attempt-no": 1,
                "message": "452 4.2.2 The email account that you tried to reach is over quota.",
                "code": 452,
                "description": "",
                "retry-seconds": 600,
                "session-seconds": 0.31,
            },
        }
    if report.kind == "complaint":
        return {**common, "event": "complained", "log-level": "warn"}
    if report.kind == "rejected":
        return {
            **common,
            "event": "rejected",
            "log-level": "warn",
            "reject": {
                "reason": "Sandbox subdomains are for test purposes only.",
                "description": "",
            },
        }
    raise AssertionError(report.kind)


def _sendgrid(report: Report) -> list[dict[str, Any]]:
    """SendGrid's Event Webhook posts a JSON array of events."""
    common = {
        "email": report.to,
        "timestamp": int(REPORTED_AT.timestamp()),
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "sg_event_id": report.event_id,
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "category": ["aftercare"],
        # The custom arg anymail's SendGrid backend adds; its message_id.
        "anymail_id": report.message_id,
    }
    event = {
        "delivered": {"event": "delivered", "response": "250 OK", "tls": 1},
        "hard_bounce": {
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
            "bounce_classification": "Invalid Address",
        },
        "soft_bounce": {
            "event": "bounce",
            "type": "blocked",
            "status": "4.7.1",
            "reason": "421 4.7.1 Temporary block: too many messages from this sender.",
            "bounce_classification": "Reputation",
        },
        "deferred": {
            "event": "deferred",
            "response": "400 try again later",
            "attempt": "5",
        },
        "complaint": {"event": "spamreport"},
        "rejected": {"event": "dropped", "reason": "Bounced Address", "status": "5.0.0"},
    }[report.kind]
    return [{**common, **event}]


def _brevo(report: Report) -> dict[str, Any]:
    event, reason = {
        "delivered": ("delivered", None),
        "hard_bounce": ("hard_bounce", "550 5.1.1 <{to}>: Recipient address rejected: unknown"),
        "invalid_address": ("invalid_email", None),
        "soft_bounce": ("soft_bounce", "452 4.2.2 <{to}>: Mailbox full"),
        "deferred": ("deferred", "421 4.7.0 Try again later, closing connection."),
        "complaint": ("spam", None),
        "rejected": ("blocked", "blocked : due to a previous hard bounce"),
    }[report.kind]
    epoch = int(REPORTED_AT.timestamp())
    payload = {
        "event": event,
        "email": report.to,
        "id": 1043857,  # the webhook's id, the same for every report it posts
        "date": REPORTED_AT.strftime("%Y-%m-%d %H:%M:%S"),
        "ts": epoch,
        "message-id": report.message_id,
        "ts_event": epoch,
        "subject": "Your aftercare for today",
        "tag": "aftercare",
        "sending_ip": "185.41.28.109",
        "ts_epoch": epoch * 1000,
        "tags": ["aftercare"],
    }
    if reason:
        payload["reason"] = reason.format(to=report.to)
    return payload


PAYLOADS = {
    "amazon_ses": _amazon_ses,
    "brevo": _brevo,
    "mailgun": _mailgun,
    "postmark": _postmark,
    "sendgrid": _sendgrid,
}


# Signing and posting, as each provider does


@dataclass
class Post:
    provider: str
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def send(self) -> Any:
        url = reverse(f"webhooks:{self.provider}_tracking")
        # As a provider posts: no cookies, no CSRF token.
        return Client(enforce_csrf_checks=True).post(
            url, self.body, content_type=self.content_type, headers=self.headers
        )


@pytest.fixture(scope="module")
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _sendgrid_verification_key(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as SendGrid's settings page gives it: base64 DER, no PEM lines."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


@pytest.fixture
def configured(sendgrid_key) -> Iterator[None]:
    with override_settings(
        ANYMAIL={
            "WEBHOOK_SECRET": SECRET,
            "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
            "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": _sendgrid_verification_key(sendgrid_key),
        }
    ):
        yield


def _basic_auth(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode("ascii")


def _mailgun_signature(timestamp: str, token: str, key: str = MAILGUN_SIGNING_KEY) -> str:
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def _sendgrid_signature(private_key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes):
    signature = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode("ascii")


def _signed(
    report: Report,
    *,
    provider: str,
    sendgrid_key: ec.EllipticCurvePrivateKey,
    auth: str | None = SECRET,
    mailgun_key: str = MAILGUN_SIGNING_KEY,
) -> Post:
    """The provider's webhook post of `report`, signed as the provider signs it."""
    payload = PAYLOADS[provider](report)
    headers = {"Authorization": _basic_auth(auth)} if auth is not None else {}
    if provider == "amazon_ses":
        # SNS signs its envelope (Signature, SigningCertURL), but anymail does not verify
        # SNS signatures: basic auth in the subscription URL is what is checked.
        topic = "arn:aws:sns:eu-west-2:123456789012:aftercare-ses-events"
        envelope = {
            "Type": "Notification",
            "MessageId": report.event_id,
            "TopicArn": topic,
            "Message": json.dumps(payload),
            "Timestamp": REPORTED_AT.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0Q",
            "SigningCertURL": "https://sns.eu-west-2.amazonaws.com/"
            "SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
            "UnsubscribeURL": "https://sns.eu-west-2.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn={topic}:1f1a2b3c-4d5e-6f7a-8b9c-0d1e2f3a4b5c",
        }
        headers |= {
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": report.event_id,
            "x-amz-sns-topic-arn": topic,
            "x-amz-sns-subscription-arn": f"{topic}:1f1a2b3c-4d5e-6f7a-8b9c-0d1e2f3a4b5c",
        }
        return Post(provider, json.dumps(envelope).encode(), "text/plain; charset=UTF-8", headers)
    if provider == "mailgun":
        timestamp = str(int(REPORTED_AT.timestamp()))
        signature = {
            "timestamp": timestamp,
            "token": report.event_id,
            "signature": _mailgun_signature(timestamp, report.event_id, mailgun_key),
        }
        body = json.dumps({"signature": signature, "event-data": payload}).encode()
        return Post(provider, body, headers=headers)
    body = json.dumps(payload).encode()
    if provider == "sendgrid":
        timestamp = str(int(REPORTED_AT.timestamp()))
        headers |= {
            "X-Twilio-Email-Event-Webhook-Signature": _sendgrid_signature(
                sendgrid_key, timestamp, body
            ),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }
    return Post(provider, body, headers=headers)


_event_ids = iter(range(4_000_000_001, 5_000_000_000))


def _event_id(provider: str) -> str:
    """A fresh event id in the provider's form (Brevo's reports carry none)."""
    n = next(_event_ids)
    return {
        "amazon_ses": f"5d9c6b2e-{n % 10_000:04d}-4a1f-9e3d-{n:012d}",
        "brevo": "",
        "mailgun": hashlib.sha256(str(n).encode()).hexdigest()[:50],
        "postmark": str(n),
        "sendgrid": base64.urlsafe_b64encode(f"sg-event-{n}".encode()).decode(),
    }[provider]


def _report_for(sent: SentMessage, provider: str, kind: str, **changes: str) -> Report:
    return Report(
        **{
            "kind": kind,
            "message_id": sent.provider_message_id,
            "to": sent.to,
            "event_id": _event_id(provider),
            **changes,
        }
    )


# What each report should do


@dataclass(frozen=True)
class Case:
    provider: str
    kind: str
    stored_as: str  # the DeliveryEvent.event_type and Reminder.delivery_status
    marks: str | None  # Patient.email_undeliverable_reason, or None: the address is fine

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.kind}"


CASES = [
    Case("postmark", "delivered", "delivered", None),
    Case("postmark", "hard_bounce", "bounced", "bounced"),
    Case("postmark", "soft_bounce", "bounced", None),
    Case("postmark", "deferred", "deferred", None),  # Type Transient
    Case("postmark", "complaint", "complained", "complained"),
    Case("postmark", "rejected", "rejected", "rejected"),  # Type BadEmailAddress
    Case("amazon_ses", "delivered", "delivered", None),
    Case("amazon_ses", "hard_bounce", "bounced", "bounced"),
    Case("amazon_ses", "notification_hard_bounce", "bounced", "bounced"),
    Case("amazon_ses", "soft_bounce", "bounced", None),
    Case("amazon_ses", "deferred", "deferred", None),  # eventType DeliveryDelay
    Case("amazon_ses", "complaint", "complained", "complained"),
    # SES rejects an email for its content (a virus), never for the address.
    Case("amazon_ses", "rejected", "rejected", None),
    Case("mailgun", "delivered", "delivered", None),
    Case("mailgun", "hard_bounce", "bounced", "bounced"),
    # Mailgun has no soft bounce: a temporary failure (severity temporary) is a delay.
    Case("mailgun", "deferred", "deferred", None),
    Case("mailgun", "complaint", "complained", "complained"),
    # Mailgun refuses a send request (e.g. an unverified domain), not an address.
    Case("mailgun", "rejected", "rejected", None),
    Case("sendgrid", "delivered", "delivered", None),
    Case("sendgrid", "hard_bounce", "bounced", "bounced"),
    Case("sendgrid", "soft_bounce", "bounced", None),  # bounce type "blocked"
    Case("sendgrid", "deferred", "deferred", None),
    Case("sendgrid", "complaint", "complained", "complained"),
    Case("sendgrid", "rejected", "rejected", "rejected"),  # dropped: Bounced Address
    Case("brevo", "delivered", "delivered", None),
    Case("brevo", "hard_bounce", "bounced", "bounced"),
    Case("brevo", "invalid_address", "bounced", "bounced"),
    Case("brevo", "soft_bounce", "bounced", None),
    Case("brevo", "deferred", "deferred", None),
    Case("brevo", "complaint", "complained", "complained"),
    Case("brevo", "rejected", "rejected", "rejected"),  # blocked
]


def _params(cases: list[Case], known: dict[str, pytest.MarkDecorator] | None = None) -> list:
    known = known or {}
    return [
        pytest.param(case, id=case.id, marks=[known[case.id]] if case.id in known else [])
        for case in cases
    ]


def _post_report(sent: SentMessage, case: Case, sendgrid_key, **changes: str) -> Any:
    report = _report_for(sent, case.provider, case.kind, **changes)
    return _signed(report, provider=case.provider, sendgrid_key=sendgrid_key).send()


def _case(provider: str, kind: str) -> Case:
    return next(c for c in CASES if (c.provider, c.kind) == (provider, kind))


def _hard_bounce(provider: str) -> Case:
    return _case(provider, "hard_bounce")


# Each report is kept on the reminder


@pytest.mark.parametrize("case", _params(CASES))
def test_each_report_is_kept_on_the_reminder_with_its_status(configured, sendgrid_key, case):
    sent = _sent_email(case.provider)
    response = _post_report(sent, case, sendgrid_key)
    assert response.status_code == 200
    [event] = DeliveryEvent.objects.all()
    assert (event.sent_message, event.provider, event.event_type, event.occurred_at) == (
        sent,
        case.provider,
        case.stored_as,
        REPORTED_AT,
    )
    reminder = Reminder.objects.get(pk=sent.reminder_id)
    assert (reminder.delivery_status, reminder.delivery_status_at) == (
        case.stored_as,
        REPORTED_AT,
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_hard_bounce_keeps_what_the_receiving_server_said(configured, sendgrid_key, provider):
    sent = _sent_email(provider)
    _post_report(sent, _hard_bounce(provider), sendgrid_key)
    assert "550 5.1.1" in DeliveryEvent.objects.get().detail


# The address: marked by a hard bounce, complaint or refusal; not by anything else


@pytest.mark.parametrize("case", _params([c for c in CASES if c.marks]))
def test_a_hard_bounce_complaint_or_refusal_marks_the_address_and_cancels_what_is_unsent(
    configured, sendgrid_key, case
):
    sent = _sent_email(case.provider)
    assert _waiting(sent) > 0
    _post_report(sent, case, sendgrid_key)
    patient = _patient(sent)
    assert patient.email_undeliverable_at is not None
    assert patient.email_undeliverable_reason == case.marks
    assert _waiting(sent) == 0
    cancelled = Reminder.objects.filter(patient=patient, status=ReminderStatus.CANCELLED)
    assert set(cancelled.values_list("cancelled_reason", flat=True)) == {UNDELIVERABLE}
    assert Reminder.objects.get(pk=sent.reminder_id).status == ReminderStatus.SENT


@pytest.mark.parametrize(
    "case",
    _params([c for c in CASES if not c.marks]),
)
def test_a_delivery_soft_bounce_delay_or_request_refusal_leaves_the_address_alone(
    configured, sendgrid_key, case
):
    sent = _sent_email(case.provider)
    waiting = _waiting(sent)
    _post_report(sent, case, sendgrid_key)
    patient = _patient(sent)
    assert (patient.email_undeliverable_at, patient.email_undeliverable_reason) == (None, "")
    assert (patient.email_consent, _waiting(sent)) == (True, waiting)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_complaint_withdraws_consent_as_a_spam_complaint(configured, sendgrid_key, provider):
    sent = _sent_email(provider)
    _post_report(sent, _case(provider, "complaint"), sendgrid_key)
    patient = _patient(sent)
    assert (patient.email_consent, patient.email_consent_at) == (False, None)
    [change] = ConsentChange.objects.filter(patient=patient)
    assert (change.given, change.source) == (False, ConsentSource.SPAM_COMPLAINT)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_hard_bounce_does_not_withdraw_consent(configured, sendgrid_key, provider):
    sent = _sent_email(provider)
    _post_report(sent, _hard_bounce(provider), sendgrid_key)
    assert _patient(sent).email_consent
    assert not ConsentChange.objects.filter(patient_id=sent.reminder.patient_id).exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_bounce_for_an_address_staff_already_changed_does_not_mark_the_new_one(
    configured, sendgrid_key, practitioner, provider
):
    sent = _sent_email(provider)
    patient = _patient(sent)
    patient.email = "jordan.new@example.org"
    patient_update(patient=patient, by=practitioner)
    waiting = _waiting(sent)
    response = _post_report(sent, _hard_bounce(provider), sendgrid_key)
    assert response.status_code == 200
    patient = _patient(sent)
    assert (patient.email, patient.email_undeliverable_at) == ("jordan.new@example.org", None)
    assert _waiting(sent) == waiting > 0
    assert DeliveryEvent.objects.get().event_type == "bounced"  # still kept on the reminder


# Who may post


def _tampered(provider: str, how: str, report: Report, sendgrid_key) -> Post:
    if how == "wrong password":
        user = SECRET.partition(":")[0]
        return _signed(report, provider=provider, sendgrid_key=sendgrid_key, auth=f"{user}:guessed")
    if how == "no basic auth":
        return _signed(report, provider=provider, sendgrid_key=sendgrid_key, auth=None)
    if how == "HMAC with another key":
        return _signed(
            report, provider=provider, sendgrid_key=sendgrid_key, mailgun_key="another-key"
        )
    if how == "signed by another key":
        other = ec.generate_private_key(ec.SECP256R1())
        return _signed(report, provider=provider, sendgrid_key=other)
    post = _signed(report, provider=provider, sendgrid_key=sendgrid_key)
    if how == "body changed after signing":
        post.body = post.body.replace(b'"bounce"', b'"spamreport"', 1)
        assert b"spamreport" in post.body
    elif how == "no signature headers":
        post.headers = {"Authorization": post.headers["Authorization"]}
    else:
        raise AssertionError(how)
    return post


REFUSED = [
    *[(provider, "wrong password") for provider in PROVIDERS],
    *[(provider, "no basic auth") for provider in PROVIDERS],
    ("mailgun", "HMAC with another key"),
    ("sendgrid", "signed by another key"),
    ("sendgrid", "body changed after signing"),
    ("sendgrid", "no signature headers"),
]


@pytest.mark.parametrize(
    ("provider", "how"), [pytest.param(*r, id=f"{r[0]}-{r[1]}") for r in REFUSED]
)
def test_a_report_without_the_right_auth_or_signature_is_refused_and_changes_nothing(
    configured, sendgrid_key, provider, how
):
    sent = _sent_email(provider)
    before = _state(sent)
    report = _report_for(sent, provider, "hard_bounce")
    response = _tampered(provider, how, report, sendgrid_key).send()
    # SNS sends basic auth only once challenged, so anymail answers its posts without
    # any auth with 401; every other refusal is a 400.
    unchallenged_sns = provider == "amazon_ses" and how == "no basic auth"
    assert response.status_code == (401 if unchallenged_sns else 400)
    assert _state(sent) == before


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("anymail", [{}, {"WEBHOOK_SECRET": ""}], ids=["unset", "empty"])
def test_the_addresses_are_not_found_until_a_webhook_secret_is_set(sendgrid_key, provider, anymail):
    sent = _sent_email(provider)
    before = _state(sent)
    post = _signed(
        _report_for(sent, provider, "hard_bounce"), provider=provider, sendgrid_key=sendgrid_key
    )
    with override_settings(ANYMAIL=anymail):
        assert post.send().status_code == 404
    assert _state(sent) == before


# Retries and strangers


@pytest.mark.parametrize(
    "case",
    _params([c for c in CASES if c.kind == "hard_bounce" and c.provider != "brevo"]),
)
def test_a_report_the_provider_retries_is_recorded_once(configured, sendgrid_key, case):
    sent = _sent_email(case.provider)
    post = _signed(
        _report_for(sent, case.provider, case.kind),
        provider=case.provider,
        sendgrid_key=sendgrid_key,
    )
    assert [post.send().status_code, post.send().status_code] == [200, 200]
    [event] = DeliveryEvent.objects.all()
    assert event.provider_event_id


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=case.id)
        for case in CASES
        if (case.provider, case.kind) in {("brevo", "hard_bounce"), ("postmark", "delivered")}
    ],
)
def test_a_retried_report_without_an_event_id_is_recorded_once(configured, sendgrid_key, case):
    sent = _sent_email(case.provider)
    post = _signed(
        _report_for(sent, case.provider, case.kind),
        provider=case.provider,
        sendgrid_key=sendgrid_key,
    )
    assert [post.send().status_code, post.send().status_code] == [200, 200]
    assert DeliveryEvent.objects.count() == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_report_for_an_email_not_sent_from_here_is_answered_and_records_nothing(
    configured, sendgrid_key, provider
):
    sent = _sent_email(provider)
    before = _state(sent)
    unknown = {
        "amazon_ses": "0102019affffffff-00000000-0000-4000-8000-000000000000-000000",
        "brevo": "<202506020000.99999999999@smtp-relay.mailin.fr>",
        "mailgun": "<20250602000000.ffffffffffffffff@mg.clinic.example.com>",
        "postmark": "00000000-0000-4000-8000-000000000000",
        "sendgrid": "00000000-0000-4000-8000-000000000000",
    }[provider]
    response = _post_report(sent, _hard_bounce(provider), sendgrid_key, message_id=unknown)
    assert response.status_code == 200
    assert _state(sent) == before
