"""The `screening` command: Flask's CLI group with the clinic's commands. Each command parses
its options and calls the domain (or, for files, the questionnaire language and the engine)."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from . import accounts, audit, operations, preview, questionnaires, screenings, sites


def _create_app():
    from ..app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """Pre-surgery screening for the risk factors of failed back surgery syndrome."""


@click.group("export")
def export_group() -> None:
    """Exports for other systems (FHIR R4 JSON)."""


export_group.add_command(screenings.fhir_command)
export_group.add_command(questionnaires.fhir_questionnaire_command)

for command in (
    questionnaires.lint_command,
    questionnaires.score_command,
    preview.preview_command,
    screenings.invite_command,
    screenings.pdf_command,
    screenings.rescore_command,
    screenings.send_reminders_command,
    screenings.surgery_group,
    accounts.users_group,
    accounts.api_keys_group,
    audit.audit_group,
    sites.sites_group,
    operations.demo_command,
    operations.serve_command,
    operations.worker_command,
    operations.run_command,
    operations.backup_command,
    operations.restore_command,
    operations.purge_command,
    export_group,
):
    main.add_command(command)
