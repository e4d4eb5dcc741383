"""`screening lint`: load a definition (the schema, the rules it cannot express, the exhaustive
analysis), then run its examples. A definition that passes may still get warnings (red flags that
read a question that can be hidden): they are printed after the summary and do not fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import model as m
from .analysis import analyse
from .examples import check_examples
from .followups import followup_problems
from .hideable import hideable_flag_questions
from .load import load_path
from .yaml_source import DefinitionError, Problem

__all__ = [
    "LintResult",
    "analyse",
    "check_examples",
    "followup_problems",
    "hideable_flag_questions",
    "lint",
]


@dataclass
class LintResult:
    path: str
    problems: list[Problem]
    questionnaire: m.Questionnaire | None
    # Printed after the summary; they never fail the lint.
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """The summary of a definition that passes, then one line per warning."""
        q = self.questionnaire
        assert q is not None and q.score_range is not None
        if q.outcome is not None:
            return self.followup_summary(q)
        questions = len(q.questions)
        r = q.score_range
        bound = "" if r.exact else " (a bound: some parts were too large to enumerate)"
        tiers = ", ".join(
            f"{t.id} ({'reachable' if t.id in r.reachable_tiers else 'NOT reachable'})"
            for t in q.tiers
        )
        return (
            f"{self.path}: {q.id} {q.version}: OK\n"
            f"  {len(q.steps)} steps, {questions} questions, {len(q.risk_factors)} risk factors, "
            f"{len(q.red_flags)} red flags, {len(q.instruments)} instruments\n"
            f"  total score: lowest {r.lowest}, highest {r.highest}{bound}\n"
            + "".join(
                f"  axis {a.id}: lowest {r.axes[a.id][0]}, highest {r.axes[a.id][1]}; tiers "
                + ", ".join(
                    f"{t.id} {lo}-{'' if t.max is None else t.max}"
                    for t, lo in zip(a.tiers, [0, *(t.max + 1 for t in a.tiers[:-1])], strict=True)
                )
                + "\n"
                for a in q.axes
            )
            + f"  tiers: {tiers}"
            + (" (the higher of the axes' tiers)" if q.axes else "")
            + "\n"
            f"  languages: {', '.join(q.languages)}"
            f"{' (every patient text translated)' if len(q.languages) > 1 else ''}\n"
            + "".join(
                f"  follow-up '{f.id}': {f.questionnaire}, {f.after_surgery.text} after surgery "
                f"(reminder after {f.remind_after.text}, expires after {f.expires_after.text})"
                f"{', scored for its outcome' if f.outcome else ''}\n"
                for f in q.followups
            )
            + f"  examples: {len(q.examples)} checked"
        ) + "".join(f"\n{warning}" for warning in self.warnings)

    def followup_summary(self, q: m.Questionnaire) -> str:
        """The summary of a follow-up questionnaire: its outcome instead of tiers."""
        assert q.outcome is not None
        baseline = (
            f"  baseline: {q.baseline.questionnaire} ({', '.join(q.baseline.values)})\n"
            if q.baseline
            else ""
        )
        return (
            f"{self.path}: {q.id} {q.version}: OK\n"
            f"  {len(q.steps)} steps, {len(q.questions)} questions, {len(q.red_flags)} red flags, "
            f"{len(q.instruments)} instruments\n"
            f"{baseline}"
            f"  outcome '{q.outcome.id}': {q.outcome.label}; met when any of: "
            + ", ".join(c.id for c in q.outcome.criteria)
            + "\n"
            f"  languages: {', '.join(q.languages)}"
            f"{' (every patient text translated)' if len(q.languages) > 1 else ''}\n"
            f"  examples: {len(q.examples)} checked"
        ) + "".join(f"\n{warning}" for warning in self.warnings)


def lint(path: str | Path) -> LintResult:
    try:
        q = load_path(path)
    except DefinitionError as exc:
        return LintResult(str(path), exc.problems, None)
    warnings = [*hideable_flag_questions(q), *unreachable_axis_tiers(q)]
    problems = [*followup_problems(q, Path(path).parent), *check_examples(q)]
    return LintResult(str(path), problems, q, warnings)


def unreachable_axis_tiers(q: m.Questionnaire) -> list[Problem]:
    """One warning per tier an axis can never reach: its points never come into the tier's
    range (by the analysis's lowest and highest) and no floor of the axis raises it there."""
    r = q.score_range
    warnings = []
    for axis in q.axes:
        if r is None or axis.id not in r.axes:
            continue
        lowest, highest = r.axes[axis.id]
        floors = {f.tier for f in axis.floors}
        start = 0
        for tier in axis.tiers:
            reached = start <= highest and (tier.max is None or tier.max >= lowest)
            if not reached and tier.id not in floors:
                warnings.append(
                    Problem(
                        q.source_name,
                        0,
                        f"axis '{axis.id}'",
                        f"tier '{tier.id}' can never be reached: its points go from {lowest} to "
                        f"{highest}, and the tier starts at {start}",
                    )
                )
            start = (tier.max or 0) + 1
    return warnings
