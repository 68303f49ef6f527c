"""Emails printed in the terminal in development, as the patient would read them.

Settings use this backend only with ENVIRONMENT=development and no EMAIL_URL (what
`make run` has), so a newcomer can open the patient pages from the link the terminal
shows. Django's console backend is no use there: it writes the raw MIME message to
`sys.stdout`, which the Celery worker (the process that sends reminders) redirects into
logging, and the project's log handlers mask patient tokens and email addresses
(clinic.logging), so the printed link never opens. This backend writes the text part to
the process's own terminal, `sys.__stdout__`, past that redirect. Anywhere else, emails go
to EMAIL_URL; a production `console://` still prints through the masking logs.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend

RULE = "-" * 72


class EmailBackend(ConsoleEmailBackend):
    """Django's console backend, printing each email's headers that matter and its text."""

    def __init__(self, *args: Any, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(*args, stream=stream or sys.__stdout__ or sys.stdout, **kwargs)

    def write_message(self, message: EmailMessage) -> None:
        self.stream.write(email_as_text(message))


def email_as_text(message: EmailMessage) -> str:
    """The email as the patient reads it: who it is to, the subject, the text part."""
    alternatives = [mimetype for _, mimetype in getattr(message, "alternatives", [])]
    lines = [
        RULE,
        f"Email to {', '.join(message.to)}",
        f"From: {message.from_email}",
        f"Subject: {message.subject}",
        "",
        str(message.body).rstrip(),
        "",
    ]
    if alternatives:
        lines.append(f"(also sent as {', '.join(alternatives)}, not shown here)")
    lines.append(RULE)
    return "\n".join(lines) + "\n"
