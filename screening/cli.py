"""The `screening` command: a Flask CLI group with the questionnaire tools."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from .definition import DefinitionError, load_path
from .definition.lint import lint as lint_file
from .i18n import language_name
from .scoring import score as score_answers
from .scoring import type_answers, visible_questions


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """Pre-surgery screening for the risk factors of failed back surgery syndrome."""


@main.command("lint", with_appcontext=False)
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def lint_command(paths: tuple[Path, ...]) -> None:
    """Check questionnaire definitions and run their examples."""
    failed = False
    for path in paths:
        result = lint_file(path)
        if result.ok:
            click.echo(result.summary())
        else:
            failed = True
            for problem in result.problems:
                click.echo(str(problem), err=True)
            count = len(result.problems)
            click.echo(f"{path}: {count} problem{'s' if count != 1 else ''}", err=True)
    sys.exit(1 if failed else 0)


@main.command("score", with_appcontext=False)
@click.argument("definition", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("answers", type=click.File("r", encoding="utf-8"))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def score_command(definition: Path, answers, fmt: str) -> None:
    """Score ANSWERS (a JSON object of question id -> answer; - for stdin) with DEFINITION."""
    try:
        questionnaire = load_path(definition)
    except DefinitionError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    try:
        data = json.load(answers)
    except json.JSONDecodeError as exc:
        click.echo(f"{answers.name}: not valid JSON: {exc}", err=True)
        sys.exit(1)
    if not isinstance(data, dict):
        click.echo(f"{answers.name}: must be a JSON object of question id -> answer", err=True)
        sys.exit(1)
    assessment = score_answers(questionnaire, data)
    if fmt == "json":
        click.echo(json.dumps(assessment.to_json(), indent=2, default=str))
        return
    click.echo(format_assessment(assessment))


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 1960-04-30") from None


def patient_link(token: str) -> str:
    base = current_app.config["SCREENING_BASE_URL"].rstrip("/")
    return f"{base}/s/{token}"


@main.command("invite")
@click.option("--name", required=True, help="The patient's full name.")
@click.option("--dob", help="Date of birth, YYYY-MM-DD.")
@click.option("--mrn", help="Medical record number.")
@click.option("--surgeon")
@click.option("--surgery-date", help="Planned date of surgery, YYYY-MM-DD.")
@click.option("--days", type=click.IntRange(1, 365), help="Days the link stays valid.")
@click.option(
    "--language", default=None, help="The patient's language (en, es): default the clinic's."
)
def invite_command(name, dob, mrn, surgeon, surgery_date, days, language) -> None:
    """Create a screening for a patient and print its link."""
    from . import services
    from .extensions import db

    name = name.strip()
    if not name:
        raise click.BadParameter("the name must not be empty", param_hint="--name")
    path = current_app.config["SCREENING_QUESTIONNAIRE"]
    offered = services.offered_languages(path)
    if language is not None and language not in offered:
        raise click.BadParameter(
            f"{language!r} is not one of the questionnaire's languages ({', '.join(offered)})",
            param_hint="--language",
        )
    definition = services.store_definition(path)
    screening, token = services.create_screening(
        definition,
        patient_name=name,
        patient_dob=_date(dob),
        patient_mrn=mrn,
        surgeon=surgeon,
        surgery_date=_date(surgery_date),
        link_days=days or current_app.config["SCREENING_LINK_DAYS"],
        language=language or offered[0],
    )
    db.session.commit()
    click.echo(
        f"Screening {screening.reference} for {name}, valid until "
        f"{screening.expires_at:%Y-%m-%d %H:%M} UTC:"
    )
    click.echo(patient_link(token))


DEMO_USERS = (
    ("intake@example.org", "Ida Intake", ["intake"]),
    ("clinician@example.org", "Cleo Clinician", ["clinician"]),
    ("admin@example.org", "Ada Admin", ["admin"]),
)


@main.command("demo")
def demo_command() -> None:
    """Demo data for `make run`: staff accounts, screenings in each state, and a patient link."""
    import secrets as _secrets

    import sqlalchemy as sa

    from . import services
    from .extensions import db
    from .models import User
    from .staff import auth

    definition = services.store_definition(current_app.config["SCREENING_QUESTIONNAIRE"])
    q = services.questionnaire_for(definition)
    days = current_app.config["SCREENING_LINK_DAYS"]
    password = "demo-" + _secrets.token_urlsafe(9)
    for email, name, roles in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            auth.create_user(email, password, roles, name)
        else:  # a demo account: its password is renewed on every run, and printed below
            user.password_hash, user.active = auth.hash_password(password), True
            user.session_version += 1
    from .models import Screening

    already = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Screening)
        .where(Screening.patient_mrn.like("DEMO-%"))
    )
    if not already:
        # Finished screenings, one per example of the questionnaire (low, moderate, high, flags).
        for index, example in enumerate(q.examples, start=1):
            screening, _ = services.create_screening(
                definition,
                patient_name=f"Example Patient {index}",
                link_days=days,
                patient_dob=dt.date(1950 + index, index % 12 + 1, 10),
                patient_mrn=f"DEMO-{index:04d}",
                surgeon="Dr. Example",
                planned_surgery=example.name[:200],
            )
            answers, _ = type_answers(q, example.answers)
            for step in q.steps:
                visible, _ = visible_questions(q, answers)
                if any(question.id in visible for question in step.questions):
                    services.save_step(screening, q, step.id, answers, visible)
            services.submit(screening, q)

    def open_demo(mrn: str, name: str, language: str) -> tuple[Screening, str]:
        """A demo patient's open screening and a fresh link to it (only a hash of a link is
        kept, so each run gives a new one)."""
        demo = db.session.scalar(
            sa.select(Screening).where(
                Screening.patient_mrn == mrn, Screening.status.in_(("invited", "in_progress"))
            )
        )
        if demo is None:
            return services.create_screening(
                definition,
                patient_name=name,
                patient_dob=dt.date(1968, 5, 14),
                patient_mrn=mrn,
                surgeon="Dr. Example",
                link_days=days,
                language=language,
            )
        from .staff.invitations import new_link

        demo.expires_at = max(demo.expires_at, dt.datetime.now(dt.UTC))
        return demo, new_link(demo)

    links = [open_demo("DEMO-0000", "Demo Patient", q.language)]
    if "es" in services.offered_languages(current_app.config["SCREENING_QUESTIONNAIRE"]):
        links.append(open_demo("DEMO-0000-ES", "Paciente de Demostración", "es"))
    db.session.commit()
    click.echo("")
    click.echo("Staff sign-in: " + current_app.config["SCREENING_BASE_URL"].rstrip("/") + "/staff/")
    for email, _, roles in DEMO_USERS:
        click.echo(f"  {email:<24} ({', '.join(roles)})")
    click.echo(f"  password for each: {password}")
    click.echo("")
    for screening, token in links:
        words = (
            "A patient's link"
            if screening.language == q.language
            else (f"A patient's link in {language_name(screening.language, q.language)}")
        )
        click.echo(f"{words} ({screening.reference}, {screening.patient_name}):")
        click.echo(f"  {patient_link(token)}")
    click.echo("")


@main.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["intake", "clinician", "admin"]),
    help="Repeat for several.",
)
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, roles: tuple[str, ...], name: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for, never given as an argument)."""
    from . import audit
    from .extensions import db
    from .staff import auth

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth.create_user(email, password, list(roles), name)
    except (ValueError, auth.PasswordRejected) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    audit.record("user_created", detail=f"user {user.id}")
    db.session.commit()
    click.echo(f"created {user.email} ({', '.join(user.roles)})")


@users_group.command("list")
def users_list() -> None:
    """List staff accounts."""
    import sqlalchemy as sa

    from .extensions import db
    from .models import User

    for user in db.session.scalars(sa.select(User).order_by(User.email)):
        state = "active" if user.active else "disabled"
        click.echo(f"{user.email}\t{','.join(user.roles)}\t{state}")


@users_group.command("disable")
@click.option("--email", required=True)
def users_disable(email: str) -> None:
    """Disable a staff account (its sessions end at once)."""
    import sqlalchemy as sa

    from . import audit
    from .extensions import db
    from .models import User, utcnow
    from .staff.auth import normalize_email

    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise click.ClickException(f"there is no user {email}")
    if user.active:
        user.active, user.disabled_at = False, utcnow()
        user.session_version += 1
        audit.record("user_disabled", detail=f"user {user.id}")
        db.session.commit()
    click.echo(f"disabled {user.email}")


@main.command("audit")
@click.option("--since", required=True, help="A date, YYYY-MM-DD (UTC).")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-")
def audit_command(since: str, out) -> None:
    """Export the audit log from a date on, as CSV."""
    import sqlalchemy as sa

    from . import audit
    from .extensions import db
    from .models import AuditEvent
    from .staff.views import audit_csv

    start = dt.datetime.combine(_date(since), dt.time(), dt.UTC)
    events = list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.at >= start).order_by(AuditEvent.id)
        )
    )
    out.write(audit_csv(events))
    audit.record("audit_exported", detail=f"since {since}")
    db.session.commit()


@main.command("send-reminders")
def send_reminders_command() -> None:
    """E-mail patients who have not started or finished (for cron; safe to run repeatedly)."""
    from .staff.invitations import send_reminders

    result = send_reminders()
    click.echo(f"reminders sent: {result['sent']}, failed: {result['failed']}")


@main.command("serve", with_appcontext=False)
@click.option("--bind", help="host:port (default SCREENING_BIND or 127.0.0.1:8000)")
@click.option("--workers", type=int, help="default: cores + 1 (SCREENING_WORKERS)")
@click.option("--threads", type=int, help="per worker, default 4 (SCREENING_THREADS)")
def serve_command(bind, workers, threads) -> None:
    """Serve the app with gunicorn (production)."""
    from . import create_app
    from .serving import Server, options

    create_app()  # fail here, before forking, on a bad configuration
    Server(create_app, options(bind, workers, threads)).run()


def _libpq_url(url) -> str:
    """A SQLAlchemy URL as pg_dump / pg_restore understand it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_copy(source_path: str | Path, target_path: str | Path) -> None:
    """SQLite's online backup: a consistent copy even while the app writes."""
    import sqlite3

    source, target = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


@main.command("backup")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def backup_command(out: Path) -> None:
    """A consistent copy of the database (pg_dump on PostgreSQL, else SQLite's backup API)."""
    import subprocess

    from . import audit
    from .extensions import db

    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        result = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", f"--file={out}", _libpq_url(url)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise click.ClickException(f"pg_dump failed: {result.stderr.strip()[:500]}")
    elif url.get_backend_name() == "sqlite" and url.database:
        _sqlite_copy(url.database, out)
    else:
        raise click.ClickException(f"cannot back up a {url.get_backend_name()} database")
    audit.record("backup_written")
    db.session.commit()
    click.echo(f"wrote {out} ({out.stat().st_size:,} bytes)")


@main.command("restore")
@click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current data without asking.")
def restore_command(backup: Path, yes: bool) -> None:
    """Replace the database's contents with a backup made by `screening backup`."""
    import subprocess

    from . import audit
    from .extensions import db

    if not yes:
        click.confirm(
            "This replaces every screening in the database with the backup. Go on?", abort=True
        )
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "postgresql":
        result = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(url)}",
                str(backup),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise click.ClickException(f"pg_restore failed: {result.stderr.strip()[:500]}")
    elif url.get_backend_name() == "sqlite" and url.database:
        _sqlite_copy(backup, url.database)
    else:
        raise click.ClickException(f"cannot restore a {url.get_backend_name()} database")
    audit.record("backup_restored")
    db.session.commit()
    click.echo(f"restored {backup}")


@main.command("purge")
@click.option(
    "--older-than",
    "days",
    required=True,
    type=click.IntRange(1, None),
    help="Remove screenings created more than DAYS ago.",
)
@click.option("--apply", is_flag=True, help="Really delete (without it: a dry run).")
def purge_command(days: int, apply: bool) -> None:
    """Remove patients' data past the clinic's retention period (a dry run unless --apply)."""
    import sqlalchemy as sa

    from . import audit
    from .extensions import db
    from .models import Screening

    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    ids = list(
        db.session.scalars(
            sa.select(Screening.id).where(Screening.created_at < cutoff).order_by(Screening.id)
        )
    )
    if not apply:
        click.echo(
            f"dry run: {len(ids)} screening(s) created before {cutoff:%Y-%m-%d} would be "
            "removed, with their answers and documents; run again with --apply"
        )
        return
    for start in range(0, len(ids), 500):
        # Answers, steps, documents and messages go with each screening (ON DELETE CASCADE).
        batch = ids[start : start + 500]
        db.session.execute(sa.delete(Screening).where(Screening.id.in_(batch)))
    audit.record("screenings_purged", detail=f"{len(ids)} older than {days} days")
    db.session.commit()
    click.echo(f"removed {len(ids)} screening(s) created before {cutoff:%Y-%m-%d}")


@main.command("pdf", with_appcontext=False)
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
@click.option("--clinic", default=None, help="Offline: the clinic's name.")
@click.option("--paper", type=click.Choice(["letter", "a4"]), default=None)
def pdf_command(
    screening_id,
    definition,
    answers,
    out,
    kind,
    refresh,
    name,
    dob,
    mrn,
    surgery,
    surgery_date,
    clinic,
    paper,
) -> None:
    """Write the PDF summary of a screening, or offline from a definition and answers."""
    from .report import render

    if (screening_id is None) == (definition is None):
        raise click.UsageError("give either --screening ID or --definition DEF --answers FILE")
    if definition is not None:
        if answers is None:
            raise click.UsageError("--definition needs --answers")
        try:
            questionnaire = load_path(definition)
        except DefinitionError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        try:
            data = json.load(answers)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--answers") from None
        if not isinstance(data, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--answers")
        assessment = score_answers(questionnaire, data)
        info = render.PatientInfo(
            name=name,
            dob=_date(dob),
            mrn=mrn,
            planned_surgery=surgery,
            surgery_date=_date(surgery_date),
            reference="offline",
            screening_date=dt.datetime.now(dt.UTC),
        )
        settings = render.ReportSettings(
            clinic_name=clinic or "Spine Clinic", paper=paper or "letter"
        )
        renderer = render.render_summary if kind == "summary" else render.render_patient_copy
        content = renderer(assessment, info, settings).content
    else:
        content = _stored_pdf(screening_id, kind, refresh, clinic, paper)
    out.write_bytes(content)
    click.echo(f"wrote {out} ({len(content):,} bytes)")


def _stored_pdf(screening_id: int, kind: str, refresh: bool, clinic, paper) -> bytes:
    from dataclasses import replace

    from . import create_app
    from .extensions import db
    from .models import Screening
    from .report.store import document_for, settings_from

    app = create_app()
    with app.app_context():
        screening = db.session.get(Screening, screening_id)
        if screening is None:
            raise click.BadParameter(
                f"there is no screening {screening_id}", param_hint="--screening"
            )
        if screening.status != "submitted":
            raise click.BadParameter(
                f"screening {screening_id} is not submitted yet", param_hint="--screening"
            )
        settings = settings_from(app.config)
        try:
            if clinic or paper:
                # Another clinic name or paper: a fresh rendering; the stored record stays as is.
                from . import services
                from .report.render import render_patient_copy, render_summary
                from .report.store import patient_info

                settings = replace(
                    settings,
                    clinic_name=clinic or settings.clinic_name,
                    paper=paper or settings.paper,
                )
                q = services.questionnaire_for(screening)
                assessment = score_answers(q, services.saved_answers(screening))
                renderer = render_summary if kind == "summary" else render_patient_copy
                return renderer(assessment, patient_info(screening), settings).content
            document = document_for(screening, kind, settings, refresh=refresh)
            db.session.commit()
            return document.content
        finally:
            db.session.remove()
            db.engine.dispose()


@main.command("rescore")
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
def rescore_command(screening_id: int, definition: Path, fmt: str) -> None:
    """Compare a screening's assessment with its answers re-scored under DEFINITION.

    Read-only: the screening keeps the version it was answered under, and its stored assessment
    and PDF are not changed (the look is recorded in the audit log).
    """
    from . import audit, rescoring, services
    from .extensions import db
    from .models import Screening

    try:
        questionnaire = load_path(definition)
    except DefinitionError as exc:
        click.echo(str(exc), err=True)
        click.echo(f"{definition}: cannot be used, nothing was re-scored", err=True)
        sys.exit(1)
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        click.echo(f"there is no screening {screening_id}", err=True)
        sys.exit(1)
    if screening.status != "submitted":
        click.echo(
            f"screening {screening_id} is not submitted (it is {screening.status}): "
            "only a submitted screening has an assessment to compare",
            err=True,
        )
        sys.exit(1)
    pinned = services.questionnaire_for(screening)
    original = services.assessment_of(screening, pinned)
    comparison = rescoring.compare(
        original, rescoring.rescore(questionnaire, original, services.judged_on(screening))
    )
    audit.record(
        "screening_rescored",
        screening_id=screening.id,
        detail=f"{pinned.version} under {questionnaire.version} (command line)",
    )
    db.session.commit()
    if fmt == "json":
        click.echo(json.dumps(comparison.to_json(), indent=2))
    else:
        click.echo(rescoring.format_text(comparison))


@main.group("export")
def export_group() -> None:
    """Exports for other systems (FHIR R4 JSON)."""


def _screening_number(value: str) -> int:
    """A screening's number, given as 12 or as its reference S-000012."""
    text = value.strip().upper().removeprefix("S-")
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**31):
        raise click.BadParameter(f"{value!r} is not a screening number like 12 or S-000012")
    return int(text)


@export_group.command("fhir")
@click.argument("screening_ref", metavar="SCREENING_ID")
def export_fhir(screening_ref: str) -> None:
    """Print a submitted screening as a FHIR R4 Bundle (JSON): Patient, QuestionnaireResponse,
    Observations for the instruments' totals, RiskAssessment."""
    from . import audit
    from .exports import fhir, stored
    from .extensions import db
    from .models import Screening

    screening_id = _screening_number(screening_ref)
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        click.echo(f"there is no screening {screening_id}", err=True)
        sys.exit(1)
    try:
        resource = stored.fhir_bundle(screening)
    except stored.NotSubmitted:
        click.echo(
            f"screening {screening_id} is not submitted (it is {screening.status}): "
            "only a submitted screening can be exported",
            err=True,
        )
        sys.exit(1)
    audit.record("fhir_exported", screening_id=screening.id, detail="command line")
    db.session.commit()
    click.echo(fhir.to_json(resource))


@export_group.command("fhir-questionnaire", with_appcontext=False)
@click.argument("definition", type=click.Path(dir_okay=False, path_type=Path))
def export_fhir_questionnaire(definition: Path) -> None:
    """Print a questionnaire definition as a FHIR R4 Questionnaire (JSON)."""
    from .exports import fhir

    try:
        questionnaire = load_path(definition)
    except DefinitionError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(fhir.to_json(fhir.questionnaire_resource(questionnaire)))


def format_assessment(a) -> str:
    from .definition.model import CATEGORY_LABELS

    q = a.questionnaire
    lines = [f"{q.title} ({q.id} {q.version})"]
    lines.append(
        f"Risk tier: {a.tier.label} — {a.total} of {a.max_total} points"
        f" ({a.modifiable_points} modifiable)"
    )
    if not a.complete:
        lines.append(
            "INCOMPLETE: "
            + ", ".join(
                [
                    *(f"{m} (no answer)" for m in a.missing),
                    *(f"{k} ({v})" for k, v in a.errors.items()),
                ]
            )
        )
    if a.red_flags:
        lines.append("")
        lines.append("RED FLAGS (reported whatever the score):")
        for r in a.red_flags:
            lines.append(f"  ! [{r.flag.urgency}] {r.flag.id}: {r.flag.clinician_message}")
    lines.append("")
    lines.append("Points by category:")
    for category, points in a.category_points.items():
        lines.append(f"  {CATEGORY_LABELS[category]:<18} {points}")
    if a.factors:
        lines.append("")
        lines.append("Risk factors:")
        for r in a.factors:
            f = r.factor
            mod = "modifiable" if f.modifiable else "not modifiable"
            lines.append(f"  +{f.points} {f.label} [{f.category}, {mod}]")
            lines.append(f"     why: {f.clinician_text}")
            lines.append(f"     source: {'; '.join(e.short for e in f.evidence)}")
    if a.instruments:
        lines.append("")
        lines.append("Instruments:")
        for r in a.instruments.values():
            result = f"{r.score} ({r.band})" if r.score is not None else "incomplete"
            lines.append(f"  {r.instrument.label}: {result}")
    for alert in a.domain_alerts:
        lines.append(f"Note: {alert.clinician_message}")
    return "\n".join(lines)


# --- API keys (the JSON API's clients) ---------------------------------------------------------


@main.group("api-keys")
def api_keys_group() -> None:
    """Keys of the read-only JSON API (/api/v1): one per client system."""


@api_keys_group.command("create")
@click.option("--name", required=True, help="The client system, e.g. 'Hospital EHR'.")
def api_keys_create(name: str) -> None:
    """Create a key; it is printed once (only its hash is stored)."""
    from . import audit
    from .api import keys
    from .extensions import db

    try:
        key, secret = keys.create(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record("api_key_created", detail=f"API key {key.prefix} ({key.name}) (command line)")
    db.session.commit()
    click.echo(f"created {key.prefix} for {key.name}; the key (shown only now):", err=True)
    click.echo(secret)


@api_keys_group.command("list")
def api_keys_list() -> None:
    """List keys: prefix, client, created, last used, state (never the keys themselves)."""
    from .api import keys

    for key in keys.listed():
        used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        created = key.created_at.isoformat(timespec="seconds")
        click.echo(f"{key.prefix}\t{key.name}\t{created}\t{used}\t{state}")


@api_keys_group.command("revoke")
@click.option("--prefix", required=True, help="The key's prefix, as `api-keys list` shows it.")
def api_keys_revoke(prefix: str) -> None:
    """Revoke a key: calls with it are refused from now on."""
    from . import audit
    from .api import keys
    from .extensions import db

    key = keys.by_prefix(prefix.strip())
    if key is None:
        raise click.ClickException(f"there is no API key {prefix}")
    if keys.revoke(key):
        audit.record("api_key_revoked", detail=f"API key {key.prefix} ({key.name}) (command line)")
        db.session.commit()
    click.echo(f"revoked {key.prefix} ({key.name})")
