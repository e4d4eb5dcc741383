"""Red flags reaching the clinic: a notice to the clinical address when a submission raised one.

It listens for `submission.submitted` (connected by `init_app`), so the patient's side does not
know who is told.
"""

from __future__ import annotations

from flask import Flask, current_app, url_for

from .. import mail
from ..extensions import db
from ..models import Screening
from . import invitations, submission


def notify_red_flag(screening: Screening) -> str | None:
    """E-mail the configured clinical address a link to the screening (no health details) and
    record the attempt; the error for staff, or None. Nothing is sent when no address is set."""
    config = current_app.config
    to = config.get("SCREENING_RED_FLAG_EMAIL")
    if not to:
        return None
    settings = mail.MailSettings.from_config(config)
    try:
        link = url_for("staff.screening", screening_id=screening.id, _external=True)
    except RuntimeError:
        link = f"{config['SCREENING_BASE_URL'].rstrip('/')}/staff/screenings/{screening.id}"
    message = mail.build(
        settings, config["SCREENING_CLINIC_NAME"], to,
        f"Red flag to review: screening {screening.reference}", "red_flag",
        reference=screening.reference, link=link,
    )  # fmt: skip
    error = mail.deliver(settings, message)
    invitations.record_message(screening, "red_flag", error)
    return error


def _on_submitted(app: Flask, screening: Screening) -> None:
    if screening.has_red_flag:
        notify_red_flag(screening)  # a failure is recorded for staff, never shown to the patient
        db.session.commit()


def init_app(app: Flask) -> None:
    submission.submitted.connect(_on_submitted, app)
