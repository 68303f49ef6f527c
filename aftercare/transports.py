"""Sending one email at a time over one SMTP connection, with errors that say what to do."""

from __future__ import annotations

import contextlib
import smtplib

from django.core.mail import EmailMultiAlternatives, get_connection


class TransportError(Exception):
    """A message was not sent. `permanent`: trying again will not help."""

    def __init__(self, message: str, *, permanent: bool, connection_lost: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.connection_lost = connection_lost


class EmailTransport:
    """Wraps Django's email backend so a batch shares one connection.

    Django's SMTP backend stops at the first refused message of a batch, so this
    sends messages one by one and turns each failure into a TransportError:
    5xx replies are permanent, 4xx replies and lost connections are temporary.
    """

    def __init__(self) -> None:
        self._connection = get_connection(fail_silently=False)
        self._open = False

    def __enter__(self) -> EmailTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, message: EmailMultiAlternatives) -> None:
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

    def close(self) -> None:
        if self._open:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._connection.close()
        self._open = False

    def _reset(self) -> None:
        self.close()
        self._connection = get_connection(fail_silently=False)
