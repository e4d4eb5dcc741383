"""A submitted screening re-scored under the questionnaire now in force, beside its original.

Read-only: the screening stays pinned to the definition it was answered under; its stored
assessment and PDF are never touched, and no Definition row is added for the current file (it is
read and parsed, not stored). The only write is the audit event.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, render_template

from .. import audit, rescoring, services
from ..definition import DefinitionError, Questionnaire, load_path
from ..extensions import db
from ..models import Screening
from ..scoring import Assessment
from . import auth
from .views import _screening, _user, bp

MARKERS = {"same": "Same", "added": "Added", "removed": "Removed", "changed": "Points changed"}


def current_questionnaire() -> Questionnaire:
    """The questionnaire file in force, parsed (cached by its text), without storing it."""
    return load_path(current_app.config["SCREENING_QUESTIONNAIRE"])


def assessments(screening: Screening, q: Questionnaire) -> tuple[Assessment, Assessment]:
    """The screening scored under its pinned version, and its answers re-scored under `q`.

    Date bounds (`min: today`) are judged on the day of submission for both, as they were when
    the original assessment was made.
    """
    original = services.assessment_of(screening)
    return original, rescoring.rescore(q, original, services.judged_on(screening))


def _factor_rows(original: Assessment, rescored: Assessment) -> list[dict[str, Any]]:
    before = {r.factor.id: r.factor for r in original.factors}
    after = {r.factor.id: r.factor for r in rescored.factors}
    rows = []
    for factor_id in [*before, *(i for i in after if i not in before)]:
        old, new = before.get(factor_id), after.get(factor_id)
        if old is None:
            kind = "added"
        elif new is None:
            kind = "removed"
        else:
            kind = "same" if old.points == new.points else "changed"
        rows.append(
            {
                "label": (new or old).label,
                "category": (new or old).category.replace("_", " "),
                "before": old.points if old else None,
                "after": new.points if new else None,
                "kind": kind,
                "marker": MARKERS[kind],
            }
        )
    return rows


def _instrument_rows(original: Assessment, rescored: Assessment) -> list[dict[str, Any]]:
    def text(r: Any) -> str:
        if r is None:
            return "Not in this version"
        return f"{r.score} ({r.band})" if r.score is not None else "Incomplete"

    rows = []
    ids = [
        *original.instruments,
        *(i for i in rescored.instruments if i not in original.instruments),
    ]
    for instrument_id in ids:
        old, new = original.instruments.get(instrument_id), rescored.instruments.get(instrument_id)
        same = (
            old is not None and new is not None and (old.score, old.band) == (new.score, new.band)
        )
        rows.append(
            {
                "label": (new or old).instrument.label,
                "before": text(old),
                "after": text(new),
                "same": same,
            }
        )
    return rows


def _as_stored(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data, default=str))


@bp.route("/screenings/<int:screening_id>/rescore")
@auth.roles_required("clinician")
def rescore(screening_id: int):
    screening = _screening(screening_id)
    if screening.status != "submitted":
        abort(409)
    try:
        current = current_questionnaire()
    except DefinitionError as exc:
        audit.record(
            "screening_rescored",
            user=_user(),
            screening_id=screening.id,
            detail="the current questionnaire could not be loaded",
        )
        db.session.commit()
        problems = [str(p) for p in exc.problems]
        return render_template(
            "staff/rescore.html", screening=screening, definition_problems=problems
        ), 500
    pinned = services.questionnaire_for(screening)
    same = current.content_hash == screening.definition_hash
    context: dict[str, Any] = {
        "screening": screening,
        "pinned": pinned,
        "current": current,
        "same": same,
        "stored": screening.assessment,
    }
    if not same:
        original, rescored = assessments(screening, current)
        comparison = rescoring.compare(original, rescored)
        context.update(
            original=original,
            rescored=rescored,
            c=comparison,
            factor_rows=_factor_rows(original, rescored),
            instrument_rows=_instrument_rows(original, rescored),
            # The record is the stored assessment; it should be what the pinned version gives.
            stored_matches=_as_stored(original.to_json()) == screening.assessment,
        )
    audit.record(
        "screening_rescored",
        user=_user(),
        screening_id=screening.id,
        detail=f"{pinned.version} under {current.version}",
    )
    db.session.commit()
    return render_template("staff/rescore.html", **context)
