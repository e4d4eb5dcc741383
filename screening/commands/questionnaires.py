"""Commands on questionnaire files, with no database: lint, score, the FHIR Questionnaire, and a
PDF from a file of answers."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from ..definition import DefinitionError, Questionnaire, load_path
from ..definition.lint import lint
from ..definition.model import CATEGORY_LABELS
from ..exports import fhir
from ..report import render
from ..scoring import Assessment, OutcomeResult, score, score_outcome
from .options import day


def load_or_exit(path: Path) -> Questionnaire:
    try:
        return load_path(path)
    except DefinitionError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


def answers_from(source: Any, hint: str | None = None) -> dict[str, Any]:
    """A JSON object of question id -> answer from an open file; exit 1 (or a usage error with
    `hint`, the option's name) when it is not one."""
    try:
        data = json.load(source)
    except json.JSONDecodeError as exc:
        if hint:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint=hint) from None
        click.echo(f"{source.name}: not valid JSON: {exc}", err=True)
        sys.exit(1)
    if not isinstance(data, dict):
        if hint:
            raise click.BadParameter("must be a JSON object", param_hint=hint)
        click.echo(f"{source.name}: must be a JSON object of question id -> answer", err=True)
        sys.exit(1)
    return data


@click.command("lint")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def lint_command(paths: tuple[Path, ...]) -> None:
    """Check questionnaire definitions and run their examples."""
    failed = False
    for path in paths:
        result = lint(path)
        if result.ok:
            click.echo(result.summary())
            continue
        failed = True
        for problem in result.problems:
            click.echo(str(problem), err=True)
        count = len(result.problems)
        click.echo(f"{path}: {count} problem{'s' if count != 1 else ''}", err=True)
    sys.exit(1 if failed else 0)


@click.command("score")
@click.argument("definition", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("answers", type=click.File("r", encoding="utf-8"))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--baseline",
    type=click.File("r", encoding="utf-8"),
    help="A follow-up's: the pre-operative screening's values (a JSON object of id -> number) "
    "its outcome compares with.",
)
def score_command(definition: Path, answers: Any, fmt: str, baseline: Any) -> None:
    """Score ANSWERS (a JSON object of question id -> answer; - for stdin) with DEFINITION; a
    follow-up's outcome too, against --baseline."""
    questionnaire = load_or_exit(definition)
    given = answers_from(answers)
    if baseline is not None and questionnaire.outcome is None:
        raise click.BadParameter("the questionnaire states no outcome", param_hint="--baseline")
    values = answers_from(baseline, "--baseline") if baseline is not None else {}
    assessment = score(questionnaire, given)
    outcome = score_outcome(questionnaire, given, values) if questionnaire.outcome else None
    if fmt == "json":
        data = assessment.to_json()
        if outcome is not None:
            data["outcome"] = outcome.to_json()
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(format_assessment(assessment))
        if outcome is not None:
            click.echo(format_outcome(outcome))


def format_outcome(result: OutcomeResult) -> str:
    """A follow-up's outcome as `screening score` prints it for people."""
    met = {True: "MET", False: "not met", None: "NOT KNOWN"}[result.met]
    lines = ["", f"Outcome: {result.outcome.label}: {met}"]
    lines += [f"  {reason}" for reason in result.reasons]
    for value in result.outcome.values:
        found = result.values[value.id]
        lines.append(f"  {value.label}: {'not known' if found is None else found}")
    return "\n".join(lines)


@click.command("fhir-questionnaire")
@click.argument("definition", type=click.Path(dir_okay=False, path_type=Path))
def fhir_questionnaire_command(definition: Path) -> None:
    """Print a questionnaire definition as a FHIR R4 Questionnaire (JSON)."""
    click.echo(fhir.to_json(fhir.questionnaire_resource(load_or_exit(definition))))


def offline_pdf(definition: Path, answers: Any, kind: str, details: dict[str, Any]) -> bytes:
    """`screening pdf --definition DEF --answers FILE`: no database, the details as given."""
    assessment = score(load_or_exit(definition), answers_from(answers, "--answers"))
    info = render.PatientInfo(
        name=details["name"],
        dob=day(details["dob"]),
        mrn=details["mrn"],
        planned_surgery=details["surgery"],
        surgery_date=day(details["surgery_date"]),
        reference="offline",
        screening_date=dt.datetime.now(dt.UTC),
    )
    settings = render.ReportSettings(
        clinic_name=details["clinic"] or "Spine Clinic", paper=details["paper"] or "letter"
    )
    renderer = render.render_summary if kind == "summary" else render.render_patient_copy
    return renderer(assessment, info, settings).content


def format_assessment(a: Assessment) -> str:
    """An assessment as `screening score` prints it for people."""
    q = a.questionnaire
    lines = [f"{q.title} ({q.id} {q.version})"]
    tier = a.tier.label if a.tier else "none until every required question is answered"
    if q.tiers:
        lines.append(
            f"Risk tier: {tier} — {a.total} of {a.max_total} points "
            f"({a.modifiable_points} modifiable)"
        )
    else:  # a follow-up: its outcome instead (`format_outcome`)
        lines.append(f"Answers: {'complete' if a.complete else 'incomplete'}")
    for axis in a.axes:
        floors = "".join(f"; {f.reason}" for f in axis.floors)
        axis_tier = axis.tier.label if axis.tier else "no tier yet"
        lines.append(f"  {axis.axis.label}: {axis_tier} — {axis.points} of {axis.max}{floors}")
    if not a.complete:
        missing = [*(f"{m} (no answer)" for m in a.missing)]
        missing += [f"{k} ({v})" for k, v in a.errors.items()]
        lines.append("INCOMPLETE: " + ", ".join(missing))
    if a.red_flags:
        lines += ["", "RED FLAGS (reported whatever the score):"]
        for r in a.red_flags:
            lines.append(f"  ! [{r.flag.urgency}] {r.flag.id}: {r.flag.clinician_message}")
    if q.tiers:
        lines += ["", "Points by category:"]
        for category, points in a.category_points.items():
            lines.append(f"  {CATEGORY_LABELS[category]:<18} {points}")
    if a.factors:
        lines += ["", "Risk factors:"]
        for r in a.factors:
            f = r.factor
            mod = "modifiable" if f.modifiable else "not modifiable"
            lines.append(f"  +{f.points} {f.label} [{f.category}, {mod}]")
            lines.append(f"     why: {f.clinician_text}")
            lines.append(f"     source: {'; '.join(e.short for e in f.evidence)}")
    if a.unknowns:
        lines += ["", "Unknown, to verify (an answer was 'not sure'; not scored as absent):"]
        for r in a.unknowns:
            unknown = ", ".join(a.unknown_answers(r))
            lines.append(f"  ?{r.factor.points} {r.factor.label}: {unknown}")
    for entry in a.clinic:
        if entry.used:
            lines.append(f"Clinic's entry scored for {entry.question_id}: {entry.clinic}")
        elif entry.differs:
            lines.append(
                f"Differs: {entry.question_id}: patient {entry.patient}, clinic {entry.clinic}"
            )
    if a.instruments:
        lines += ["", "Instruments:"]
        for r in a.instruments.values():
            result = f"{r.score} ({r.band})" if r.score is not None else "incomplete"
            lines.append(f"  {r.instrument.label}: {result}")
    for alert in a.domain_alerts:
        lines.append(f"Note: {alert.clinician_message}")
    return "\n".join(lines)
