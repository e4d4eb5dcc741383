"""The background jobs and when they run, on the task queue (screening.queue):

- `deliver_alert(id)`: queued when a transaction that added an alert commits; retried with
  backoff by the queue while the mail server refuses it;
- `render_document(id)`: queued when a transaction that asked for a document version commits
  (domain.documents); tried again twice, then left to the sweep;
- every minute, and once when a worker starts: the escalations that are due, then every alert
  due and not yet sent, then the document versions whose job was lost (the sweeps that make the
  database the source of truth);
- every day at SCREENING_REMINDER_HOUR (UTC): the reminders `screening send-reminders` sends.
"""

from __future__ import annotations

from flask import Flask
from huey import crontab

from .. import queue
from . import alerts, documents, invitations


class NotDelivered(RuntimeError):
    """The mail server did not take the alert: the queue tries the job again later."""


def deliver_alert(alert_id: int) -> None:
    if alerts.deliver(alert_id, scheduled=False) == "failed":
        raise NotDelivered(f"alert {alert_id}")


def render_document(document_id: int) -> None:
    documents.render_pending(document_id)


def every_minute() -> None:
    alerts.escalate()
    alerts.sweep()
    documents.sweep()


def init_app(app: Flask) -> None:
    queue.init_app(app)
    # 15 s, 30 s, 1, 2 and 4 minutes; after that the sweep keeps trying, every 15 minutes at most.
    queue.register(app, "deliver_alert", deliver_alert, retries=5, retry_delay=15,
                   retry_backoff=2)  # fmt: skip
    queue.register(app, "render_document", render_document, retries=2, retry_delay=10)
    queue.register(app, "every_minute", every_minute, every=crontab(minute="*"), at_start=True)
    hour = str(app.config["SCREENING_REMINDER_HOUR"])
    queue.register(
        app, "reminders", invitations.send_reminders, every=crontab(minute="0", hour=hour)
    )
