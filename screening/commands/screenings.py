"""Commands on screenings: invite a patient, a screening's PDF, its re-scoring, its FHIR bundle,
the operation as it happened, and the reminders run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import ScriptInfo, with_appcontext

from ..domain import (
    NotAllowed,
    clinic_entries,
    clinical,
    documents,
    exporting,
    invitations,
    links,
    questionnaires,
    surgery,
)
from ..exports import fhir
from ..extensions import db
from ..models import Screening
from .comparison import format_text
from .options import day, screening_number
from .questionnaires import load_or_exit, offline_pdf


@click.command("invite")
@click.option("--name", required=True, help="The patient's full name.")
@click.option("--dob", help="Date of birth, YYYY-MM-DD.")
@click.option("--mrn", help="Medical record number.")
@click.option("--surgeon")
@click.option("--surgery-date", help="Planned date of surgery, YYYY-MM-DD.")
@click.option("--days", type=click.IntRange(1, 365), help="Days the link stays valid.")
@click.option("--language", help="The patient's language (en, es): default the clinic's.")
@click.option(
    "--clinic",
    "clinic",
    multiple=True,
    metavar="QUESTION=VALUE",
    help="What the clinic knows about the planned surgery: an answer to a question the "
    "questionnaire marks `clinic` (repeat for several), e.g. --clinic levels=2.",
)
@with_appcontext
def invite_command(name, dob, mrn, surgeon, surgery_date, days, language, clinic) -> None:
    """Create a screening for a patient and print its link."""
    name = name.strip()
    if not name:
        raise click.BadParameter("the name must not be empty", param_hint="--name")
    offered = questionnaires.offered_languages()
    if language is not None and language not in offered:
        raise click.BadParameter(
            f"{language!r} is not one of the questionnaire's languages ({', '.join(offered)})",
            param_hint="--language",
        )
    entries = _clinic_entries(clinic)
    screening, token = invitations.invite(
        None, link_days=days, patient_name=name, patient_dob=day(dob), patient_mrn=mrn,
        surgeon=surgeon, surgery_date=day(surgery_date), language=language or offered[0],
        clinic_answers=entries,
    )  # fmt: skip
    db.session.commit()
    click.echo(
        f"Screening {screening.reference} for {name}, valid until "
        f"{screening.expires_at:%Y-%m-%d %H:%M} UTC:"
    )
    click.echo(links.patient_url(token))


def _clinic_entries(given: tuple[str, ...]) -> dict[str, str]:
    """The --clinic QUESTION=VALUE options, each checked against the questionnaire in force
    (a usage error names the first that cannot be kept)."""
    raw = _pairs(given, "--clinic")
    _, errors = clinic_entries.checked(questionnaires.in_force(), raw)
    if errors:
        question_id, message = next(iter(errors.items()))
        raise click.BadParameter(
            f"{question_id}={raw[question_id]}: {message}", param_hint="--clinic"
        )
    return raw


@click.command("pdf")
@click.option("--screening", "screening_id", type=int, help="A submitted screening's number.")
@click.option(
    "--definition",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Offline: a questionnaire definition (with --answers; no database).",
)
@click.option("--answers", type=click.File("r", encoding="utf-8"), help="Offline: answers JSON.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind", type=click.Choice(["summary", "patient_copy"]), default="summary", show_default=True
)
@click.option("--refresh", is_flag=True, help="Render again instead of the stored copy.")
@click.option("--name", default="", help="Offline: the patient's name.")
@click.option("--dob", help="Offline: date of birth, YYYY-MM-DD.")
@click.option("--mrn", help="Offline: medical record number.")
@click.option("--surgery", help="Offline: the planned surgery.")
@click.option("--surgery-date", help="Offline: planned date, YYYY-MM-DD.")
@click.option("--clinic", default=None, help="Another clinic name (a fresh rendering).")
@click.option("--paper", type=click.Choice(["letter", "a4"]), default=None)
def pdf_command(screening_id, definition, answers, out, kind, refresh, clinic, paper, **details):
    """Write the PDF summary of a screening, or offline from a definition and answers."""
    if (screening_id is None) == (definition is None):
        raise click.UsageError("give either --screening ID or --definition DEF --answers FILE")
    if definition is not None:
        if answers is None:
            raise click.UsageError("--definition needs --answers")
        content = offline_pdf(definition, answers, kind, {**details, "clinic": clinic,
                                                          "paper": paper})  # fmt: skip
    else:
        # The database only in this mode: the app of the command's context.
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        with app.app_context():
            try:
                content = _stored_pdf(screening_id, kind, refresh, clinic, paper)
            finally:
                db.session.remove()
    out.write_bytes(content)
    click.echo(f"wrote {out} ({len(content):,} bytes)")


def _stored_pdf(screening_id: int, kind: str, refresh: bool, clinic, paper) -> bytes:
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        raise click.BadParameter(f"there is no screening {screening_id}", param_hint="--screening")
    if screening.status != "submitted":
        raise click.BadParameter(
            f"screening {screening_id} is not submitted yet", param_hint="--screening"
        )
    # Another clinic name or paper: a fresh rendering; the stored record stays as it is.
    report = documents.settings(clinic, paper) if clinic or paper else None
    content = documents.written_out(screening, kind, refresh, report)
    db.session.commit()
    return content


@click.command("rescore")
@click.option("--screening", "screening_id", required=True, type=int, help="A submitted screening.")
@click.option(
    "--definition",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The questionnaire version to re-score it under (e.g. a new version of the file).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@with_appcontext
def rescore_command(screening_id: int, definition: Path, fmt: str) -> None:
    """Compare a screening's assessment with its answers re-scored under DEFINITION.

    Read-only: the screening keeps the version it was answered under, and its stored assessment
    and PDF are not changed (the look is recorded in the audit log).
    """
    try:
        questionnaire = load_or_exit(definition)
    except SystemExit:
        click.echo(f"{definition}: cannot be used, nothing was re-scored", err=True)
        raise
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        click.echo(f"there is no screening {screening_id}", err=True)
        sys.exit(1)
    try:
        result = clinical.rescore(screening, questionnaire, None, how=" (command line)")
    except NotAllowed as exc:
        click.echo(f"{exc}: only a submitted screening has an assessment to compare", err=True)
        sys.exit(1)
    db.session.commit()
    if fmt == "json":
        click.echo(json.dumps(result.comparison.to_json(), indent=2))
    else:
        click.echo(format_text(result.comparison))


@click.command("fhir")
@click.argument("screening_ref", metavar="SCREENING_ID")
@with_appcontext
def fhir_command(screening_ref: str) -> None:
    """Print a submitted screening as a FHIR R4 Bundle (JSON): Patient, QuestionnaireResponse,
    Observations for the instruments' totals, RiskAssessment."""
    screening_id = screening_number(screening_ref)
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        click.echo(f"there is no screening {screening_id}", err=True)
        sys.exit(1)
    try:
        bundle = exporting.fhir_bundle(screening, None, how="command line")
    except NotAllowed as exc:
        click.echo(f"{exc}: only a submitted screening can be exported", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(fhir.to_json(bundle))


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """E-mail patients who have not started or finished (for cron; safe to run repeatedly)."""
    result = invitations.send_reminders()
    click.echo(f"reminders sent: {result['sent']}, failed: {result['failed']}")


@click.group("surgery")
def surgery_group() -> None:
    """The operation as it happened (performed, cancelled or postponed)."""


# Each field of domain.surgery's problems, as the option that gives it.
SURGERY_OPTIONS = {"status": "--status", "surgery_date": "--date",
                   "planned_date": "--planned-date", "procedure": "--procedure", "note": "--note"}


@surgery_group.command("record")
@click.option("--screening", "screening_ref", required=True, help="12 or S-000012.")
@click.option("--status", required=True, type=click.Choice(surgery.STATUSES))
@click.option("--date", "surgery_date", help="Performed: the date of surgery, YYYY-MM-DD.")
@click.option("--planned-date", help="Postponed: the new planned date, YYYY-MM-DD, if known.")
@click.option(
    "--procedure",
    multiple=True,
    metavar="QUESTION=VALUE",
    help="Performed: the procedure, in the codes of the clinic's entries of the planned surgery "
    "(a question the screening's questionnaire marks `clinic`; repeat for several), e.g. "
    "--procedure surgery_type=fusion.",
)
@click.option("--note", help="Anything more (the procedure in words, why it was cancelled).")
@with_appcontext
def surgery_record_command(screening_ref, status, surgery_date, planned_date, procedure, note):
    """Record the operation of a screening, or correct the record that stands (a new record
    replaces it; the one before is kept). Audited as done on the command line."""
    screening_id = screening_number(screening_ref)
    given = surgery.Given(
        status=status, surgery_date=day(surgery_date), planned_date=day(planned_date),
        procedure=_pairs(procedure, "--procedure"), note=note,
    )  # fmt: skip
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        click.echo(f"there is no screening {screening_id}", err=True)
        sys.exit(1)
    try:
        made, new = surgery.record(screening, given)
    except surgery.Refused as exc:
        db.session.rollback()
        for field, message in exc.problems.items():
            name, _, question = field.partition(".")
            option = SURGERY_OPTIONS[name] + (f" {question}=..." if question else "")
            click.echo(f"{option}: {message}", err=True)
        click.echo("nothing was recorded", err=True)
        sys.exit(1)
    db.session.commit()
    what = made.status + (f" on {made.surgery_date}" if made.surgery_date else "")
    what += f", planned for {made.planned_date}" if made.planned_date else ""
    if new:
        replaced = f" (replacing record {made.replaces_id})" if made.replaces_id else ""
        click.echo(f"{screening.reference}: recorded {what}: record {made.id}{replaced}")
    else:
        click.echo(f"{screening.reference}: nothing changed; record {made.id} ({what}) stands")


def _pairs(given: tuple[str, ...], option: str) -> dict[str, str]:
    """QUESTION=VALUE options (`option`: --clinic, --procedure) as a dict (a usage error for one
    without '=')."""
    pairs: dict[str, str] = {}
    for item in given:
        question_id, sep, value = item.partition("=")
        if not sep or not question_id.strip():
            raise click.BadParameter(f"{item!r} is not QUESTION=VALUE", param_hint=option)
        pairs[question_id.strip()] = value
    return pairs
