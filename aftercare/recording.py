"""Recording a sent email: mark its reminder `sent` and keep the clinic's copy, together.

On PostgreSQL both happen in one statement, and the dispatch does not wait for
its answer: the statement goes to the server in full, the next email is built
and sent while the database works, and the answer is read before the
connection runs anything else. Waiting for each answer in turn cost about as
much as rendering an email.

A worker crash costs no more than before. A statement the server has received
runs to its end even if the worker dies (it carries its own Sync, so it commits
on its own); the only sent-but-unrecorded email at any moment is the one just
handed to the mail server, which is sent again, with the same Message-ID, once
its lease runs out.
"""

from __future__ import annotations

import functools
import json
import logging
import selectors
import uuid
from datetime import datetime
from types import TracebackType
from typing import Any

import psycopg
from django.db import connection, transaction
from psycopg import pq

from aftercare.emails import RenderedEmail, masked
from aftercare.models import Reminder, ReminderStatus, SentMessage

logger = logging.getLogger(__name__)


def copy_of(
    reminder: Reminder, rendered: RenderedEmail, token: str, *, sent_at: datetime
) -> SentMessage:
    """The clinic's copy of a sent email, with the patient's token masked (unsaved)."""
    return SentMessage(
        reminder=reminder,
        message_id=reminder.message_id,
        to=reminder.patient.email,
        subject=rendered.message.subject,
        text_body=masked(rendered.text, token),
        html_body=masked(rendered.html, token),
        headers={
            key: masked(str(value), token) for key, value in rendered.message.extra_headers.items()
        },
        sent_at=sent_at,
    )


@functools.cache
def _sent_sql() -> str:
    reminders = Reminder._meta.db_table
    copies = SentMessage._meta.db_table
    return f"""
        WITH marked AS (
            UPDATE {reminders} SET status = $1, sent_at = $2, last_error = ''
            WHERE id = $3 AND lease_token = $4 AND status = $5
            RETURNING id
        )
        INSERT INTO {copies}
            (reminder_id, message_id, "to", subject, text_body, html_body, headers, sent_at)
        VALUES ($3, $6, $7, $8, $9, $10, $11::jsonb, $2)
        RETURNING (SELECT count(*) FROM marked)
        """  # noqa: S608  # nosec B608  # table names come from the models, values are parameters


class SentRecorder:
    """Records the emails of one batch; use as a context manager around the sending.

    While it is open, every statement Django runs on the connection first waits
    for the answer still owed (an execute wrapper), so nothing can interleave
    with a statement in flight; leaving the block waits for the last answer.
    The statement passes through the connection's execute wrappers like any
    other, but DEBUG's query log does not list it: it is sent with libpq's own
    call, which Django's cursor does not see.
    """

    def __init__(self) -> None:
        self._pending: int | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wrapper = connection.execute_wrapper(self._after_the_pending_answer)

    def __enter__(self) -> SentRecorder:
        self._wrapper.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.wait()
        except Exception:
            if exc is None:
                raise
            # The batch already failed; its own error is the one to report.
            logger.warning("could not read the last 'sent' record's answer", exc_info=True)
        finally:
            self._wrapper.__exit__(exc_type, exc, traceback)
            if self._selector is not None:
                self._selector.close()

    def record(self, reminder: Reminder, lease_token: uuid.UUID, copy: SentMessage) -> None:
        """Mark the row sent (if `lease_token` still holds it) and store the copy."""
        if connection.vendor != "postgresql":
            self._record_and_wait(reminder, lease_token, copy)
            return
        params = [
            ReminderStatus.SENT,
            copy.sent_at.isoformat(),
            str(reminder.pk),
            str(lease_token),
            ReminderStatus.SENDING,
            copy.message_id,
            copy.to,
            copy.subject,
            copy.text_body,
            copy.html_body,
            json.dumps(copy.headers),
        ]
        executor = self._send
        # Through the connection's execute wrappers, as Django runs its own statements;
        # ours waits for the previous answer first.
        for wrapper in reversed(connection.execute_wrappers):
            executor = functools.partial(wrapper, executor)
        executor(_sent_sql(), params, False, {"connection": connection, "cursor": None})
        self._pending = reminder.pk

    def wait(self) -> None:
        """Read the answer to the statement in flight, if any."""
        if self._pending is None:
            return
        reminder_id, self._pending = self._pending, None
        pgconn = connection.connection.pgconn
        results = []
        with connection.wrap_database_errors:
            while True:
                while pgconn.is_busy():
                    self._wait_until(selectors.EVENT_READ)
                    pgconn.consume_input()
                result = pgconn.get_result()
                if result is None:
                    break
                results.append(result)
            for result in results:
                if result.status != pq.ExecStatus.TUPLES_OK:
                    raise psycopg.errors.error_from_result(result)
        (result,) = results
        if result.get_value(0, 0) != b"1":
            self._lease_lost(reminder_id)

    def _send(self, sql: str, params: list[str], many: bool, context: dict[str, Any]) -> None:
        connection.ensure_connection()
        pgconn = connection.connection.pgconn
        with connection.wrap_database_errors:
            pgconn.send_query_params(sql.encode(), [value.encode() for value in params])
            while pgconn.flush():
                self._wait_until(selectors.EVENT_WRITE | selectors.EVENT_READ)
                pgconn.consume_input()

    def _wait_until(self, events: int) -> None:
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
            self._selector.register(connection.connection.pgconn.socket, events)
        else:
            self._selector.modify(connection.connection.pgconn.socket, events)
        self._selector.select()

    def _after_the_pending_answer(self, execute, sql, params, many, context):
        self.wait()
        return execute(sql, params, many, context)

    def _record_and_wait(
        self, reminder: Reminder, lease_token: uuid.UUID, copy: SentMessage
    ) -> None:
        with transaction.atomic():
            marked = Reminder.objects.filter(
                pk=reminder.pk, lease_token=lease_token, status=ReminderStatus.SENDING
            ).update(status=ReminderStatus.SENT, sent_at=copy.sent_at, last_error="")
            copy.save()
        if not marked:
            self._lease_lost(reminder.pk)

    def _lease_lost(self, reminder_id: int) -> None:
        logger.warning("reminder %s was sent after its lease ran out", reminder_id)
