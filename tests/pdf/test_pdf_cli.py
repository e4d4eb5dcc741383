"""`screening pdf`: offline from a definition and answers, or a submitted screening's stored PDF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from screening import queue
from screening.commands import main
from screening.domain import documents as store
from screening.extensions import db
from screening.models import Document
from tests import factories
from tests.helpers import new_screening, signed_in_clinician
from tests.web.support import screening_row

from . import SHIPPED, body_text, example_answers, page_texts, reader, squash


def invoke(*args: str | Path):
    # FlaskGroup sets FLASK_RUN_FROM_CLI in os.environ; the runner puts it back as it was.
    return CliRunner(env={"FLASK_RUN_FROM_CLI": None}).invoke(main, [str(a) for a in args])


def answers_file(tmp_path: Path, answers: dict, name: str = "answers.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(answers), encoding="utf-8")
    return path


def test_pdf_command_is_registered():
    assert "pdf" in main.commands, (
        "screening/cli.py has no `pdf` command, though README.md documents "
        "`screening pdf --screening ID --out F.pdf` and the offline --definition form"
    )
    assert main.commands["pdf"].params  # options, as documented below


# --- offline ----------------------------------------------------------------------------------


def test_offline_summary_from_a_definition_and_answers(fbss, tmp_path):
    answers = answers_file(tmp_path, example_answers(fbss, "high"))
    out = tmp_path / "out.pdf"
    result = invoke("pdf", "--definition", SHIPPED, "--answers", answers, "--out", out,
                    "--name", "Ann Example", "--mrn", "42")
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (" in result.output
    content = out.read_bytes()
    assert content.startswith(b"%PDF-")
    first = squash(reader(content).pages[0].extract_text())
    assert "Patient Ann Example" in first
    assert "MRN 42" in first
    assert "Screening offline" in first
    assert "Risk tier: High" in first
    assert "status not recorded (offline rendering)" not in first  # the high example: no flags
    assert "Spine Clinic" in first
    page = reader(content).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (612, 792)


def test_offline_patient_copy_with_every_detail_on_a4(fbss, tmp_path):
    answers = answers_file(tmp_path, example_answers(fbss, "self_harm"))
    out = tmp_path / "copy.pdf"
    result = invoke(
        "pdf", "--definition", SHIPPED, "--answers", answers, "--out", out,
        "--name", "Bo Example", "--dob", "1970-01-02", "--mrn", "M-7", "--surgery", "ACDF C5-6",
        "--surgery-date", "2030-05-06", "--clinic", "Eastside Spine", "--paper", "a4",
        "--kind", "patient_copy",
    )
    assert result.exit_code == 0, result.output
    content = out.read_bytes()
    pdf = reader(content)
    assert float(pdf.pages[0].mediabox.width) == pytest.approx(595.28, abs=0.5)
    assert pdf.metadata.author == "Eastside Spine"
    text = body_text(page_texts(content))
    assert text.startswith("Eastside Spine Getting ready for your spine surgery")
    assert "For Bo Example" in text
    assert "988" in text
    assert "points" not in text.lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--definition", SHIPPED], "--definition needs --answers"),
        ([], "give either --screening ID or --definition DEF --answers FILE"),
        (["--screening", "1", "--definition", SHIPPED], "give either --screening ID"),
    ],
)
def test_missing_or_conflicting_sources_are_usage_errors(tmp_path, args, message):
    out = tmp_path / "out.pdf"
    result = invoke("pdf", *args, "--out", out)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()


def test_missing_out_is_a_usage_error():
    # (No --answers here: click opens that file while parsing and would leave it open.)
    result = invoke("pdf", "--definition", SHIPPED)
    assert result.exit_code == 2
    assert "Missing option '--out'" in result.output


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("{not json", [], "not valid JSON"),
        ("[1, 2]", [], "must be a JSON object"),
        ("{}", ["--dob", "30/04/1960"], "is not a date like 1960-04-30"),
    ],
)
def test_bad_answers_or_dates_are_usage_errors(tmp_path, content, extra, message):
    answers = tmp_path / "answers.json"
    answers.write_text(content, encoding="utf-8")
    out = tmp_path / "out.pdf"
    result = invoke("pdf", "--definition", SHIPPED, "--answers", answers, "--out", out, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()


def test_a_broken_definition_exits_1(tmp_path):
    definition = tmp_path / "broken.yaml"
    definition.write_text("id: broken\n", encoding="utf-8")
    answers = answers_file(tmp_path, {})
    out = tmp_path / "out.pdf"
    result = invoke("pdf", "--definition", definition, "--answers", answers, "--out", out)
    assert result.exit_code == 1
    assert "broken.yaml" in result.output
    assert not out.exists()


# --- a submitted screening ----------------------------------------------------------------------


def submitted(client, app, name_part: str = "moderate tier - two-level") -> int:
    return factories.submitted(app, name_part, name="Cli Patient")[0]


def stored(app, screening_id: int, kind: str = "summary") -> list[tuple[int, bytes | None]]:
    """Every version of the document, oldest first: (number, content or None if not rendered)."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Document.version, Document.content)
            .where(Document.screening_id == screening_id, Document.kind == kind)
            .order_by(Document.version)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def refuse_to_render(*args, **kwargs):
    raise AssertionError("rendered again instead of using the stored copy")


def test_screening_option_writes_the_stored_document(app, client, runner, tmp_path,
                                                     monkeypatch):
    """No version rendered yet (the job has not run): the command renders the version asked for
    at submission right here and stores it; the job then finds nothing left to do."""
    screening_id = submitted(client, app)
    assert stored(app, screening_id) == [(1, None)]
    out = tmp_path / "first.pdf"
    result = runner.invoke(main, ["pdf", "--screening", str(screening_id), "--out", str(out)],
                           env={"FLASK_RUN_FROM_CLI": None})
    assert result.exit_code == 0, result.output
    content = out.read_bytes()
    assert stored(app, screening_id) == [(1, content)]
    assert queue.run_pending(app) >= 1  # the job of version 1: already rendered, left as it is
    assert stored(app, screening_id) == [(1, content)]
    assert "Patient Cli Patient" in squash(reader(content).pages[0].extract_text())

    # The route serves the same document, and the command again writes the same bytes.
    response = signed_in_clinician(app).get(f"/staff/screenings/{screening_id}/summary.pdf")
    assert response.status_code == 200
    assert response.get_data() == content
    monkeypatch.setitem(store.RENDERERS, "summary", refuse_to_render)
    again = tmp_path / "again.pdf"
    result = runner.invoke(main, ["pdf", "--screening", str(screening_id), "--out", str(again)],
                           env={"FLASK_RUN_FROM_CLI": None})
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == content


def test_screening_option_refuses_unknown_and_unsubmitted_screenings(app, runner,
                                                                      tmp_path):
    token = new_screening(app)
    open_id = screening_row(app, token)["id"]
    out = tmp_path / "out.pdf"
    for screening_id, message in ((open_id, "is not submitted yet"),
                                  (999999, "there is no screening 999999")):
        result = runner.invoke(main, ["pdf", "--screening", str(screening_id), "--out", str(out)],
                               env={"FLASK_RUN_FROM_CLI": None})
        assert result.exit_code == 2, result.output
        assert message in result.output
    assert not out.exists()


def test_screening_option_with_a_paper_size_does_not_silently_ignore_it(
    app, client, runner, tmp_path
):
    screening_id = submitted(client, app, "low tier")
    queue.run_pending(app)  # the job renders the stored versions (letter, the clinic's paper)
    [(number, letter)] = stored(app, screening_id)
    assert number == 1
    assert float(reader(letter).pages[0].mediabox.width) == 612
    out = tmp_path / "a4.pdf"
    result = runner.invoke(
        main, ["pdf", "--screening", str(screening_id), "--paper", "a4", "--out", str(out)],
        env={"FLASK_RUN_FROM_CLI": None},
    )
    if result.exit_code != 0:  # refusing the combination is fine too, as a usage error
        assert result.exit_code == 2 and not out.exists()
        assert "--paper" in result.output
        return
    width = float(reader(out.read_bytes()).pages[0].mediabox.width)
    assert width == pytest.approx(595.28, abs=0.5)
    assert stored(app, screening_id) == [(1, letter)]  # a one-off: the record is unchanged
