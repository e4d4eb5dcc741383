"""The examples of a definition, scored by the engine and compared with what they expect.

The only part of the questionnaire language that runs the engine (`screening.scoring`): loading a
definition never does, so the engine may import the language without a circle.
"""

from __future__ import annotations

from typing import Any

from ..scoring import score, score_outcome
from . import model as m
from .yaml_source import Problem


def check_examples(q: m.Questionnaire) -> list[Problem]:
    """A problem for each example of `q` that the rules score differently than it expects."""
    problems = []
    for example in q.examples:
        result = score(q, example.answers, clinic=example.clinic)
        expect = example.expect
        where = f"examples '{example.name}'"

        def differ(
            what: str, expected: Any, got: Any, where: str = where, example: m.Example = example
        ) -> None:
            problems.append(
                Problem(
                    q.source_name,
                    example.line,
                    where,
                    f"expected {what} {expected}, but the rules give {got}",
                )
            )

        if "total" in expect and expect["total"] != result.total:
            differ("total", expect["total"], result.total)
        tier = result.tier.id if result.tier else None
        if "tier" in expect and expect["tier"] != tier:
            differ("tier", expect["tier"], tier)
        for axis in result.axes:
            wanted = expect.get("axes", {})
            got = axis.tier.id if axis.tier else None
            if axis.id in wanted and wanted[axis.id] != got:
                differ(f"axis '{axis.id}' tier", wanted[axis.id], f"{got} ({axis.points} points)")
        if "complete" in expect and expect["complete"] != result.complete:
            detail = ", ".join([*result.missing, *(f"{k} ({v})" for k, v in result.errors.items())])
            differ(
                "complete", expect["complete"], f"{result.complete} ({detail or 'nothing missing'})"
            )
        for key, got in (
            ("factors", [f.id for f in result.factors]),
            ("unknowns", [f.id for f in result.unknowns]),
            ("red_flags", [f.id for f in result.red_flags]),
        ):
            if key in expect and sorted(expect[key]) != sorted(got):
                differ(key.replace("_", " "), sorted(expect[key]), sorted(got))
        if q.outcome is not None and ("outcome" in expect or "criteria" in expect):
            outcome = score_outcome(q, example.answers, example.baseline)
            if "outcome" in expect and expect["outcome"] != outcome.met:
                why = "; ".join(outcome.reasons)
                differ("outcome", expect["outcome"], f"{outcome.met} ({why})")
            met = sorted(c.id for c in outcome.met_criteria)
            if "criteria" in expect and sorted(expect["criteria"]) != met:
                differ("criteria met", sorted(expect["criteria"]), met)
        for question_id, message in result.errors.items():
            problems.append(
                Problem(
                    q.source_name,
                    example.line,
                    where,
                    f"the answer to '{question_id}' cannot be used: {message}",
                )
            )
    return problems
