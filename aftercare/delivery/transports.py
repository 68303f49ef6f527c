"""Sending one email at a time over one connection, with errors that say what to do.

The connection is Django's configured email backend: SMTP, or an email provider's
API through django-anymail (clinic.env.email_settings reads EMAIL_URL).
"""

from __future__ import annotations

import contextlib
import smtplib

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives, get_connection

# HTTP replies from an email provider's API that are about our account or the provider,
# not the message: like an unreachable SMTP server, they only delay (401/403: a wrong or
# revoked key; 402: out of credits; 404: a wrong sending domain or region, all of which
# staff must fix; 408, 429 and 5xx: the provider is busy or down).
PROVIDER_UNAVAILABLE = {401, 402, 403, 404, 408, 429}
# Postmark answers 422 for everything, with an ErrorCode; these are about the account
# (sender signature missing or unconfirmed, sending not allowed, account pending approval).
POSTMARK_ACCOUNT_ERRORS = {10, 400, 401, 405, 412}


class TransportError(Exception):
    """A message was not sent. `permanent`: trying again will not help.

    `connection_lost`: the server or provider cannot take messages now (the rest of the
    batch waits). `recipient_problem`, for texts: "opted_out" (the number replied STOP)
    or "invalid" (not a number that can get texts).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        connection_lost: bool = False,
        recipient_problem: str = "",
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.connection_lost = connection_lost
        self.recipient_problem = recipient_problem


class EmailTransport:
    """Wraps Django's email backend so a batch shares one connection.

    Django's SMTP backend stops at the first refused message of a batch, so this
    sends messages one by one and turns each failure into a TransportError.
    SMTP: 5xx replies are permanent, 4xx replies and lost connections temporary.
    A provider's API: no answer, 401, 403, 408, 429 and 5xx mean the provider
    cannot take mail now (like a lost connection); other 4xx replies and refused
    recipients are about the message, so permanent.
    """

    def __init__(self) -> None:
        self._connection = get_connection(fail_silently=False)
        self._open = False

    def __enter__(self) -> EmailTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, message: EmailMultiAlternatives) -> str:
        """Send one message; return the provider's id for it ("" over SMTP)."""
        try:
            if not self._open:
                self._connection.open()
                self._open = True
            message.connection = self._connection
            sent = self._connection.send_messages([message])
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise TransportError(
                f"recipient refused: {codes}", permanent=all(code >= 500 for code in codes)
            ) from error
        except smtplib.SMTPServerDisconnected as error:
            self._reset()
            raise TransportError(
                f"connection lost: {error}", permanent=False, connection_lost=True
            ) from error
        except smtplib.SMTPResponseException as error:
            raise TransportError(
                f"{error.smtp_code} {error.smtp_error!r}", permanent=error.smtp_code >= 500
            ) from error
        except AnymailRecipientsRefused as error:
            raise TransportError(f"recipient refused: {error}", permanent=True) from error
        except AnymailAPIError as error:
            raise _provider_error(error) from error
        except AnymailError as error:
            # Anymail refused the message itself (an unsupported feature, a bad address).
            raise TransportError(f"invalid message: {error}", permanent=True) from error
        except ValueError as error:
            # Django refuses a malformed address or header (BadHeaderError): no retry helps.
            raise TransportError(f"invalid message: {error}", permanent=True) from error
        except (TimeoutError, OSError, smtplib.SMTPException) as error:
            self._reset()
            raise TransportError(
                f"cannot reach the mail server: {error}", permanent=False, connection_lost=True
            ) from error
        if sent != 1:
            raise TransportError("the mail backend did not send the message", permanent=False)
        status = getattr(message, "anymail_status", None)
        return str(status.message_id or "") if status is not None else ""

    def close(self) -> None:
        if self._open:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._connection.close()
        self._open = False

    def _reset(self) -> None:
        self.close()
        self._connection = get_connection(fail_silently=False)


# Amazon SES (through boto3) answers these error codes when the account, not the
# message, is the problem: sending paused, throttled, over quota.
SES_UNAVAILABLE = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "LimitExceededException",
    "AccountSendingPausedException",
    "SendingPausedException",
    "AccountSuspendedException",
    "ServiceUnavailable",
}


def _provider_error(error: AnymailAPIError) -> TransportError:
    code = error.status_code
    response = error.response
    if code == 422 and _postmark_error_code(response) in POSTMARK_ACCOUNT_ERRORS:
        code = 403
    if code is None and isinstance(response, dict):
        # boto3's parsed error: {"Error": {"Code": ...}, "ResponseMetadata": {...}}
        if response.get("Error", {}).get("Code") in SES_UNAVAILABLE:
            code = 429
        else:
            code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code is None or code in PROVIDER_UNAVAILABLE or code >= 500:
        return TransportError(
            f"the email provider cannot take mail now: {code or 'no answer'}",
            permanent=False,
            connection_lost=True,
        )
    return TransportError(f"the email provider refused the message: {code}", permanent=True)


def _postmark_error_code(response: object) -> int | None:
    try:
        return int(response.json()["ErrorCode"])  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
