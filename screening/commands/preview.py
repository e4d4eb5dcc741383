"""`screening preview DEF.yaml`: a draft questionnaire served as patients will see it, with its
score, lint, map and diff (see screening.preview); or its map printed as a PDF. No database."""

from __future__ import annotations

from pathlib import Path

import click
from werkzeug.serving import run_simple


@click.command("preview")
@click.argument("definition", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5050, show_default=True, type=click.IntRange(0, 65535))
@click.option("--language", default=None, help="The patient's language (e.g. es).")
@click.option(
    "--against",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The version in force, to diff the draft against.",
)
@click.option(
    "--map",
    "map_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the questionnaire's map as a PDF to this file, and exit.",
)
def preview_command(
    definition: Path,
    host: str,
    port: int,
    language: str | None,
    against: Path | None,
    map_out: Path | None,
) -> None:
    """Serve DEFINITION as patients will see it, with its score and lint, reloaded on change.

    Nothing is stored: the answers stay in this process. Refused with SCREENING_ENV=production.
    """
    from ..preview import PreviewRefused, create_preview_app

    try:
        app = create_preview_app(definition, language, against)
    except PreviewRefused as exc:
        raise click.ClickException(str(exc)) from None
    if map_out is not None:
        state = app.extensions["preview"].draft.current()
        if not state.ok:
            for problem in state.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{definition}: the map needs a draft without problems")
        response = app.test_client().get("/map.pdf")
        if response.status_code != 200 or response.mimetype != "application/pdf":
            raise click.ClickException(f"the map could not be made ({response.status_code})")
        map_out.write_bytes(response.data)
        click.echo(f"wrote {map_out} ({len(response.data):,} bytes)")
        return
    click.echo(
        f"Previewing {definition} at http://{host}:{port}/ (nothing is stored; Ctrl-C stops)"
    )
    run_simple(host, port, app, threaded=True)
