"""Asking a worker to send a plan's reminders now (aftercare.delivery.queue)."""

from __future__ import annotations

import logging

from aftercare.delivery import queue
from aftercare.delivery.tasks import send_plan_reminders_now


def test_the_plan_is_queued_for_a_worker(monkeypatch):
    queued = []
    monkeypatch.setattr(send_plan_reminders_now, "delay", queued.append)
    queue.queue_plan_reminders(42)
    assert queued == [42]


def test_a_broker_that_is_down_is_logged_and_never_raised(monkeypatch, caplog):
    def refuse(plan_id: int) -> None:
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(send_plan_reminders_now, "delay", refuse)
    with caplog.at_level(logging.WARNING, logger="aftercare.delivery.queue"):
        queue.queue_plan_reminders(42)
    assert "could not queue the first reminders of plan 42" in caplog.text
