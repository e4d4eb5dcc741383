"""A submitted screening re-scored under the questionnaire now in force, beside its original
(read-only: see `screening.domain.clinical.rescore`)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template

from ..comparison_rows import factor_rows, instrument_rows
from ..definition import DefinitionError
from ..domain import clinical
from ..extensions import db
from . import auth
from .blueprint import bp, screening_or_404


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
            factor_rows=factor_rows(result.original, result.rescored),
            instrument_rows=instrument_rows(result.original, result.rescored),
            stored_matches=clinical.stored_matches(screening, result.original),
        )
    return render_template("staff/rescore.html", **context)
