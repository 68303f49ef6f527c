"""Every Celery task of the app, where Celery's autodiscovery looks for them.

The tasks live with what they run (aftercare.delivery.tasks, aftercare.concerns.tasks)
and keep their original names (aftercare.tasks.<name>); importing them here registers
them with the worker. Nothing imports this module back.
"""

from aftercare.concerns.tasks import send_concern_alert
from aftercare.delivery.tasks import dispatch_due_reminders, send_plan_reminders_now

__all__ = ["dispatch_due_reminders", "send_concern_alert", "send_plan_reminders_now"]
