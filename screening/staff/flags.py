"""Red flags on a screening's page (clinicians only): each flag as it was raised and perhaps
withdrawn, the answers that raise it, its alerts, and its acknowledgement with what was done."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request

from .. import codec
from ..definition.conditions import MISSING
from ..definition.model import URGENCIES, URGENCY_LABELS
from ..domain import alerts, answering, flags, questionnaires
from ..extensions import db
from ..models import FlagAcknowledgement, FlagEvent, Screening
from . import auth
from .blueprint import attempt, back_to, bp, check_form, screening_or_404

ALERT_KINDS = {"alert": "First alert", "escalation": "Reminder"}


def context(screening: Screening) -> dict[str, Any]:
    """The page's red-flag panel: every flag event by urgency (emergency first), then open
    before acknowledged, then newest first."""
    found = flags.events(screening)
    if not found:
        return {"flag_events": [], "alerts_configured": alerts.configured()}
    q = questionnaires.of(screening)
    answers = answering.assessment_of(screening, q).answers
    rows = []
    for event in found:
        flag = q.red_flag_by_id.get(event.flag_id)
        shown = []
        for question_id in flag.reads if flag else ():
            question, value = q.questions[question_id], answers.get(question_id, MISSING)
            if value is not MISSING:
                shown.append({"label": question.label, "answer": codec.display(question, value)})
        rows.append(
            {
                "event": event,
                "flag": flag,
                "answers": shown,
                "urgency": URGENCY_LABELS[event.urgency],
                "open": event.acknowledgement is None,
            }
        )
    rows.sort(
        key=lambda r: (
            URGENCIES.index(r["event"].urgency),
            not r["open"],
            -r["event"].raised_at.timestamp(),
        )
    )
    return {"flag_events": rows, "alerts_configured": alerts.configured(),
            "alert_kinds": ALERT_KINDS}  # fmt: skip


def _title(screening: Screening, event: FlagEvent) -> str:
    """The flag's name from its questionnaire version; the id spelled out if it is gone."""
    flag = questionnaires.of(screening).red_flag_by_id.get(event.flag_id)
    return flag.title if flag else event.title


def _event(screening: Screening, event_id: int) -> FlagEvent:
    event = db.session.get(FlagEvent, event_id)
    if event is None or event.screening_id != screening.id:
        abort(404)
    return event


@bp.route("/screenings/<id:screening_id>/flags/<id:event_id>/acknowledge", methods=["POST"])
@auth.roles_required("clinician")
def acknowledge(screening_id: int, event_id: int):
    screening = screening_or_404(screening_id)
    check_form()
    event = _event(screening, event_id)
    if attempt(lambda: flags.acknowledge(event, auth.actor(), request.form.get("note", ""))):
        flash(f"{_title(screening, event)} acknowledged.")
    return back_to(screening_id)


@bp.route(
    "/screenings/<id:screening_id>/flags/<id:event_id>/acknowledgements/<id:ack_id>/withdraw",
    methods=["POST"],
)
@auth.roles_required("clinician")
def withdraw_acknowledgement(screening_id: int, event_id: int, ack_id: int):
    screening = screening_or_404(screening_id)
    check_form()
    event = _event(screening, event_id)
    acknowledgement = db.session.get(FlagAcknowledgement, ack_id)
    if acknowledgement is None or acknowledgement.flag_event_id != event.id:
        abort(404)
    if attempt(lambda: flags.withdraw_acknowledgement(acknowledgement, auth.actor())):
        title = _title(screening, event)
        flash(f"The acknowledgement ({title}) is withdrawn: the flag is open again.")
    return back_to(screening_id)
