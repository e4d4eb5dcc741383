"""What a pre-operative questionnaire's `followups` need of the files they name, checked by
`screening lint` (loading a stored definition never reads another file): each file is beside it,
loads, follows this questionnaire (its `baseline.questionnaire` is this one's id), reads only
baseline values this questionnaire has as numbers, and states an outcome where a follow-up is
scored for one."""

from __future__ import annotations

from pathlib import Path

from . import model as m
from .load import load_path
from .yaml_source import DefinitionError, Problem


def followup_problems(q: m.Questionnaire, directory: Path) -> list[Problem]:
    problems: list[Problem] = []
    for index, followup in enumerate(q.followups):
        path = f"followups[{index}].questionnaire"

        def problem(message: str, path: str = path, followup: m.Followup = followup) -> None:
            problems.append(Problem(q.source_name, followup.line, path, message))

        file = directory / followup.questionnaire
        if not file.is_file():
            problem(f"there is no file '{followup.questionnaire}' beside this one ({directory})")
            continue
        try:
            fq = load_path(file)
        except DefinitionError as exc:
            problem(
                f"'{followup.questionnaire}' cannot be loaded ({len(exc.problems)} problems; "
                f"`screening lint {file}` lists them)"
            )
            continue
        if fq.outcome is None and followup.outcome:
            problems.append(
                Problem(
                    q.source_name,
                    followup.line,
                    f"followups[{index}].outcome",
                    f"'{followup.questionnaire}' states no outcome to score",
                )
            )
        if fq.baseline is None:
            continue
        if fq.baseline.questionnaire != q.id:
            problem(
                f"'{followup.questionnaire}' follows the questionnaire "
                f"'{fq.baseline.questionnaire}' (its baseline.questionnaire), not this one "
                f"('{q.id}')"
            )
            continue
        numeric = m.numeric_values(q)
        for name in fq.baseline.values:
            if name not in numeric:
                what = (
                    f"'{name}' is a {q.questions[name].type} question, not a number"
                    if name in q.questions
                    else f"{q.id} {q.version} has no question, computed value or instrument "
                    f"'{name}'"
                )
                problem(
                    f"'{followup.questionnaire}' reads the baseline value '{name}', which this "
                    f"questionnaire does not compute: {what}"
                )
    return problems
