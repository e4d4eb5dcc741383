"""A submitted screening re-scored under the questionnaire now in force, beside its original
(read-only: see `screening.domain.clinical.rescore`)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template

from ..definition import DefinitionError
from ..domain import clinical
from ..extensions import db
from ..scoring import Assessment
from . import auth
from .blueprint import bp, screening_or_404

MARKERS = {"same": "Same", "added": "Added", "removed": "Removed", "changed": "Points changed"}


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

    ids = [
        *original.instruments,
        *(i for i in rescored.instruments if i not in original.instruments),
    ]
    rows = []
    for instrument_id in ids:
        old, new = original.instruments.get(instrument_id), rescored.instruments.get(instrument_id)
        same = (
            old is not None and new is not None and (old.score, old.band) == (new.score, new.band)
        )
        rows.append(
            {"label": (new or old).instrument.label, "before": text(old), "after": text(new),
             "same": same}
        )  # fmt: skip
    return rows


@bp.route("/screenings/<id:screening_id>/rescore")
@auth.roles_required("clinician")
def rescore(screening_id: int):
    screening = screening_or_404(screening_id)
    if screening.status != "submitted":
        abort(409)
    try:
        result = clinical.rescore_under_in_force(screening, auth.actor())
    except DefinitionError as exc:
        db.session.commit()  # the look is audited
        problems = [str(p) for p in exc.problems]
        return render_template(
            "staff/rescore.html", screening=screening, definition_problems=problems
        ), 500
    db.session.commit()
    context: dict[str, Any] = {
        "screening": screening,
        "pinned": result.pinned,
        "current": result.current,
        "same": result.same_version,
        "stored": screening.assessment,
    }
    if not result.same_version:
        context.update(
            original=result.original,
            rescored=result.rescored,
            c=result.comparison,
            factor_rows=_factor_rows(result.original, result.rescored),
            instrument_rows=_instrument_rows(result.original, result.rescored),
            stored_matches=clinical.stored_matches(screening, result.original),
        )
    return render_template("staff/rescore.html", **context)
