"""A clinic changes its questionnaire: screenings already submitted stay pinned to the version they
were answered under, and a clinician can compare one with its answers re-scored under the current
version (the staff page and `screening rescore`), on SQLite and PostgreSQL.

The next minor version is made from the shipped file: one factor's points raised, the low tier's
boundary moved, a required question added, a question removed, the examples (written for the
shipped one) left out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from screening import queue
from screening.commands import main as screening_cli
from screening.definition import load_path, load_text
from screening.definition.lint import lint
from screening.domain import answering, questionnaires
from screening.extensions import db
from screening.models import Answer, Definition, Document, Screening, utcnow
from screening.scoring import score
from tests import factories
from tests.conftest import SHIPPED
from tests.pdf import page_texts, squash
from tests.web.support import page

from .conftest import audit_events, count, row, signed_in, snapshot

# Total 1 under the shipped version (2.0.0): symptoms over 6 months (1), low activity (a 0-point
# note), both on the psychosocial axis.
LOW = "low tier"
NEW_QUESTION, REMOVED_QUESTION, CHANGED_FACTOR = "second_opinion", "leg_pain", "low_activity"
NEW_LABEL = "Have you asked another surgeon for a second opinion about this surgery?"
# The shipped version, and the next one made from it here.
OLD = load_path(SHIPPED).version
_MAJOR, _MINOR, *_ = OLD.split(".")
NEW = f"{_MAJOR}.{int(_MINOR) + 1}.0"


# --- the next version of the shipped questionnaire -----------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block(lines: list[str], first: str) -> tuple[int, int]:
    """[start, end) of the YAML list item whose first line is `first` (stripped)."""
    [start] = [i for i, line in enumerate(lines) if line.strip() == first]
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > _indent(
            lines[start])):
        end += 1
    return start, end


def changed_version(text: str) -> str:
    lines = text.splitlines(keepends=True)
    # The version.
    [v] = [i for i, line in enumerate(lines) if line.startswith("version:")]
    lines[v] = f'version: "{NEW}"\n'
    # One factor's points: low activity 0 -> 1 (an expert weight: the points rule wants a
    # justification for points without an effect size).
    start, end = _block(lines, f"- id: {CHANGED_FACTOR}")
    [p] = [i for i in range(start, end) if re.match(r"^\s+points: 0\s*$", lines[i])]
    lines[p] = lines[p].replace("points: 0", "points: 1")
    lines.insert(p + 1, lines[p].replace("points: 1", "justification: A test weight."))
    # A tier boundary: the psychosocial axis is low at 0-1 points instead of 0-2.
    axis = next(i for i, line in enumerate(lines) if line.strip() == "- id: psychosocial")
    [t] = [i for i in range(axis, len(lines)) if "tier_max: {low: 2," in lines[i]][:1]
    lines[t] = lines[t].replace("{low: 2,", "{low: 1,")
    # A new required question, after `litigation` (a copy of that yes/no question, in new words
    # when the file is in one language only).
    start, end = _block(lines, "- id: litigation")
    clone = [lines[start].replace("id: litigation", f"id: {NEW_QUESTION}")]
    plain = not re.search(r"^languages:", text, re.M)
    for line in lines[start + 1 : end]:
        if plain and re.match(r"^\s+label: [^{>|]", line):
            line = re.sub(r"label: .*", f'label: "{NEW_LABEL}"', line)
        elif plain and re.match(r"^\s+help: [^{>|]", line):
            continue
        clone.append(line)
    lines[end:end] = clone
    # A question removed (no rule reads it, only the examples answer it).
    start, end = _block(lines, f"- id: {REMOVED_QUESTION}")
    del lines[start:end]
    # The follow-ups go: fbss-followup.yaml reads the removed question as a baseline value.
    fu = next(i for i, line in enumerate(lines) if line.startswith("followups:"))
    after = next(i for i in range(fu + 1, len(lines)) if re.match(r"^[a-z_]+:", lines[i]))
    del lines[fu:after]
    # The examples go: they were written for the shipped version.
    ex = next(i for i, line in enumerate(lines) if line.startswith("examples:"))
    after = next((i for i in range(ex + 1, len(lines)) if re.match(r"^[a-z_]+:", lines[i])),
                 len(lines))
    del lines[ex:after]
    return "".join(lines)


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> dict[str, Path]:
    """v1: the shipped file as it is (OLD); v2: the changed copy (NEW); both pass lint."""
    folder = tmp_path_factory.mktemp("versions")
    text = SHIPPED.read_text(encoding="utf-8")
    paths = {"v1": folder / f"fbss-preop-{OLD}.yaml", "v2": folder / f"fbss-preop-{NEW}.yaml"}
    paths["v1"].write_text(text, encoding="utf-8")
    paths["v2"].write_text(changed_version(text), encoding="utf-8")
    followup = SHIPPED.with_name("fbss-followup.yaml")  # the file its followups name, beside it
    (folder / followup.name).write_text(followup.read_text(encoding="utf-8"), encoding="utf-8")
    for path in paths.values():
        result = lint(path)
        assert result.ok, [str(p) for p in result.problems]
    return paths


@pytest.fixture
def app_config(staff_config, versions) -> dict[str, Any]:
    return {**staff_config, "SCREENING_QUESTIONNAIRE": str(versions["v1"])}


def test_the_new_version_differs_as_intended(versions):
    v1, v2 = load_path(versions["v1"]), load_path(versions["v2"])
    assert (v1.version, v2.version) == (OLD, NEW)
    assert v1.content_hash == load_text(SHIPPED.read_text(encoding="utf-8")).content_hash
    assert v1.factor_by_id[CHANGED_FACTOR].points == 0
    assert v2.factor_by_id[CHANGED_FACTOR].points == 1
    assert [t.max for t in v1.axis_by_id["psychosocial"].tiers] == [2, 6, None]
    assert [t.max for t in v2.axis_by_id["psychosocial"].tiers] == [1, 6, None]
    assert REMOVED_QUESTION in v1.questions and REMOVED_QUESTION not in v2.questions
    assert NEW_QUESTION not in v1.questions
    new = v2.questions[NEW_QUESTION]
    assert (new.type, new.required, new.step_id) == ("yes_no", True, "life_and_work")


# --- helpers ----------------------------------------------------------------------------------


def use(app, versions, name: str) -> None:
    """The clinic puts another version of its questionnaire in force."""
    app.config["SCREENING_QUESTIONNAIRE"] = str(versions[name])


def stored(app, ident: int) -> tuple[Any, bytes | None]:
    """The screening's stored assessment and summary PDF."""
    with app.app_context():
        assessment = db.session.get(Screening, ident).assessment
        content = db.session.scalar(
            sa.select(Document.content).where(Document.screening_id == ident,
                                              Document.kind == "summary"))
        db.session.remove()
    return assessment, content


def main_of(response):
    assert response.status_code == 200, response.status_code
    return page(response).find("main")


def pdf_text(content: bytes) -> str:
    """The PDF's text without the moment it was generated (in its running footer)."""
    return re.sub(r"generated .*?UTC", "generated (when)", squash(" ".join(page_texts(content))))


def flat(node) -> str:
    """An element's text on one line, without the spaces the parser puts between elements."""
    text = " ".join(node.text.split())
    return re.sub(r"\(\s+", "(", re.sub(r"\s+([:;,.)])", r"\1", text))


def section(main, heading_id: str):
    return next(s for s in main.find_all("section") if s.find(id=heading_id))


def table_rows(node) -> dict[str, list[str]]:
    """First cell -> the other cells, of every body row."""
    rows = {}
    for tr in node.find("tbody").find_all("tr"):
        cells = [flat(c) for c in tr.children if getattr(c, "tag", "") in
                 ("td", "th")]
        rows[cells[0]] = cells[1:]
    return rows


# --- the pinning promises ---------------------------------------------------------------------


def test_a_submitted_screening_stays_pinned_when_the_questionnaire_changes(
        app, client, runner, staff, versions, tmp_path):
    ident, _ = factories.submitted(app, LOW, name="Lena Low")
    signed_in(client, staff["clinician"])
    queue.run_pending(app)
    before_page = main_of(client.get(f"/staff/screenings/{ident}")).text
    first_pdf = client.get(f"/staff/screenings/{ident}/summary.pdf").data
    assessment, document = stored(app, ident)
    assert document == first_pdf and assessment["questionnaire"]["version"] == OLD
    assert (assessment["tier"], assessment["total"]) == ("low", 1)

    use(app, versions, "v2")

    # The staff page, the stored assessment and the stored PDF: unchanged.
    assert main_of(client.get(f"/staff/screenings/{ident}")).text == before_page
    assert "Risk tier: Low (1 of" in before_page
    assert client.get(f"/staff/screenings/{ident}/summary.pdf").data == first_pdf
    assert stored(app, ident) == (assessment, first_pdf)

    # Re-scoring the pinned version gives the stored assessment, in the app and on the command
    # line (`screening score` with the pinned text and the saved answers).
    with app.app_context():
        screening = db.session.get(Screening, ident)
        assert screening.definition_hash == load_path(versions["v1"]).content_hash
        pinned = questionnaires.of(screening)
        answers = answering.saved_answers(screening)
        definition_text = screening.definition.text
        again = json.loads(json.dumps(score(pinned, answers).to_json()))
        db.session.remove()
    assert again == assessment
    (tmp_path / "pinned.yaml").write_text(definition_text, encoding="utf-8")
    (tmp_path / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
    result = runner.invoke(screening_cli, ["score", str(tmp_path / "pinned.yaml"),
                                           str(tmp_path / "answers.json"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == assessment

    # A PDF rendered again now is the pinned version's: the same text as the first one.
    assert client.post(f"/staff/screenings/{ident}/summary/refresh").status_code == 303
    _, rendered_again = stored(app, ident)
    assert pdf_text(rendered_again) == pdf_text(first_pdf)
    assert "Low" in pdf_text(first_pdf) and "generated (when)" in pdf_text(first_pdf)

    # A screening created now is pinned to the new version.
    new, _ = factories.screening(app, "Nina New")
    created = row(app, Screening, new)
    assert (created["questionnaire_version"], created["definition_hash"]) == (
        NEW, load_path(versions["v2"]).content_hash)
    assert row(app, Screening, ident)["questionnaire_version"] == OLD


def test_the_comparison_page_shows_what_the_new_version_changes(app, client, staff, versions):
    ident, _ = factories.submitted(app, LOW, name="Lena Low")
    signed_in(client, staff["clinician"])
    queue.run_pending(app)  # stored PDFs, to see they are kept
    use(app, versions, "v2")
    before = snapshot(app)

    response = client.get(f"/staff/screenings/{ident}/rescore")
    main = main_of(response)
    assert response.headers["Cache-Control"] == "no-store"
    text = flat(main)
    assert f"answered under version {OLD}" in text and f"current version {NEW}" in text
    assert "its assessment and PDF stay as they were" in text

    # The summary names each difference in words (not by colour alone).
    summary = flat(section(main, "summary"))
    # A question the new version asks was never answered: no tier, only what the points reach.
    assert "Risk tier changed: Low to at least Moderate (incomplete)" in summary
    assert "Points changed: 1 to 2" in summary
    assert "Factor points changed: Less than 150 minutes of activity a week, 0 to 1 point" in (
        summary)
    assert "Now incomplete" in summary and "1 question never answered" in summary
    assert "1 answered question no longer in the questionnaire" in summary
    assert summary.count("Changed") + summary.count("changed") >= 3

    side = section(main, "side-by-side")
    tables = side.find_all("table")
    result = table_rows(tables[0])
    assert result["Risk tier"] == ["Low", "at least Moderate (incomplete)", "Changed"]
    assert result["Points"][0].startswith("1 of ") and result["Points"][1].startswith("2 of ")
    assert result["Points"][2] == "Changed (+1)"
    assert result["All required questions answered"] == ["Yes", "No", "Changed"]
    assert result["Red flags"] == ["None", "None", "Same"]
    factors = table_rows(tables[1])
    activity = next(v for k, v in factors.items() if k.startswith("Less than 150 minutes"))
    assert activity == ["0 points", "1 point", "Points changed"]
    symptoms = next(v for k, v in factors.items() if k.startswith("Symptoms for more than"))
    assert symptoms == ["1 point", "1 point", "Same"]
    marks = [m.text for m in side.find_all("mark")]
    assert "Points changed" in marks and "Changed" in marks  # highlighted, and said in words
    assert side.find("ins") is not None

    questions = section(main, "questions")
    never = questions.find("h3", id="never-asked")
    assert never is not None and "never answered by this patient" in never.text
    items = flat(questions)
    with app.app_context():
        new_label = load_path(versions["v2"]).questions[NEW_QUESTION].label
        removed_label = load_path(versions["v1"]).questions[REMOVED_QUESTION].label
    assert f"Never answered: {new_label}" in items and f"{NEW_QUESTION})" in items
    assert "required" in items
    assert f"Removed: {removed_label}" in items and f"{REMOVED_QUESTION})" in items

    # Nothing changed but the audit log: no Definition row for the new version, the stored
    # assessment and PDF byte for byte as they were.
    after = snapshot(app)
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"}
    assert count(app, Definition) == 1
    [event] = audit_events(app, "screening_rescored")
    assert (event.user_id, event.screening_id, event.detail) == (
        staff["clinician"].id, ident, f"{OLD} under {NEW}")
    assert len(after["audit_events"]) == len(before["audit_events"]) + 1
    assert "Lena" not in repr((event.detail, event.user_email))


def test_the_same_version_gets_a_calm_line(app, client, staff):
    ident, _ = factories.submitted(app, LOW, name="Lena Low")
    signed_in(client, staff["clinician"])
    main = main_of(client.get(f"/staff/screenings/{ident}/rescore"))
    text = flat(main)
    assert f"The current version ({OLD}) is the one this screening was answered under." in text
    assert main.find("table") is None and main.find("mark") is None
    [event] = audit_events(app, "screening_rescored")
    assert event.detail == f"{OLD} under {OLD}"


def test_only_a_submitted_screening_can_be_compared(app, client, staff, versions):
    ident, _ = factories.screening(app, "Ivo Invited")
    signed_in(client, staff["clinician"])
    use(app, versions, "v2")
    assert client.get(f"/staff/screenings/{ident}/rescore").status_code == 409
    assert client.get("/staff/screenings/999999/rescore").status_code == 404
    assert audit_events(app, "screening_rescored") == []
    # The screening page links to the comparison only once there is an assessment.
    assert "/rescore" not in client.get(f"/staff/screenings/{ident}").get_data(as_text=True)


def test_the_screening_page_links_to_the_comparison_for_clinicians(app, staff):
    ident, _ = factories.submitted(app, LOW)
    clinician = signed_in(app.test_client(), staff["clinician"])
    link = main_of(clinician.get(f"/staff/screenings/{ident}")).find(
        "a", href=f"/staff/screenings/{ident}/rescore")
    assert link is not None and link.text == "Compare with the current questionnaire version"
    intake = signed_in(app.test_client(), staff["intake"])
    assert "/rescore" not in intake.get(f"/staff/screenings/{ident}").get_data(as_text=True)
    assert intake.get(f"/staff/screenings/{ident}/rescore").status_code == 403


def test_a_broken_current_questionnaire_is_said_plainly(app, client, staff, tmp_path):
    ident, _ = factories.submitted(app, LOW)
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: fbss-preop\nversion: 1.2.0\n", encoding="utf-8")
    app.config["SCREENING_QUESTIONNAIRE"] = str(broken)
    signed_in(client, staff["clinician"])
    response = client.get(f"/staff/screenings/{ident}/rescore")
    assert response.status_code == 500
    text = flat(page(response).find("main"))
    assert "The questionnaire now in force cannot be loaded" in text
    assert f"{broken}:" in text  # the loader's file:line problems
    assert stored(app, ident)[0]["tier"] == "low"


# --- the command ------------------------------------------------------------------------------


def test_the_rescore_command_prints_the_same_comparison(app, runner, versions, tmp_path):
    ident, _ = factories.submitted(app, LOW, name="Lena Low")
    before = stored(app, ident)
    args = ["rescore", "--screening", str(ident), "--definition", str(versions["v2"])]
    result = runner.invoke(screening_cli, args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"Answered under: fbss-preop {OLD}" in out
    assert f"Re-scored under: fbss-preop {NEW}" in out
    assert re.search(r"Risk tier: +Low -> at least Moderate \(incomplete\)  \[CHANGED\]", out)
    assert re.search(r"Points: +1 of \d+ -> 2 of \d+  \[CHANGED\]", out)
    assert f"~ Less than 150 minutes of activity a week [{CHANGED_FACTOR}]: 0 -> 1 point" in out
    assert f"? {NEW_QUESTION} (required, " in out
    assert f"x {REMOVED_QUESTION} (" in out

    result = runner.invoke(screening_cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["tier"] == {
        "before": "low",
        "after": None,  # incomplete under the new version: no tier
        "at_least": {"before": "low", "after": "moderate"},
    }
    assert data["total"] == {"before": 1, "after": 2}
    assert data["changed"] is True and data["same_definition"] is False
    assert data["factors"]["changed"] == [{
        "id": CHANGED_FACTOR, "label": "Less than 150 minutes of activity a week",
        "category": "habits", "points_before": 0, "points_after": 1}]
    assert [q["id"] for q in data["questions"]["never_asked"]] == [NEW_QUESTION]
    assert [q["id"] for q in data["questions"]["no_longer_asked"]] == [REMOVED_QUESTION]
    assert (data["before"]["version"], data["after"]["version"]) == (OLD, NEW)

    same = runner.invoke(screening_cli, ["rescore", "--screening", str(ident), "--definition",
                                         str(versions["v1"])])
    assert same.exit_code == 0, same.output
    assert f"The current version ({OLD}) is the one this screening was answered under." in (
        same.output)

    assert stored(app, ident) == before
    assert count(app, Definition) == 1  # the file given is read, not stored
    events = audit_events(app, "screening_rescored")
    assert [(e.screening_id, e.address) for e in events] == [(ident, "cli")] * 3


def test_the_rescore_command_refuses_clearly(app, runner, versions, tmp_path):
    invited, _ = factories.screening(app, "Ivo Invited")
    submitted, _ = factories.submitted(app, LOW)
    v2 = str(versions["v2"])

    result = runner.invoke(screening_cli, ["rescore", "--screening", "999999", "--definition", v2])
    assert result.exit_code == 1 and "there is no screening 999999" in result.output

    result = runner.invoke(screening_cli, ["rescore", "--screening", str(invited),
                                           "--definition", v2])
    assert result.exit_code == 1
    assert f"screening {invited} is not submitted (it is invited)" in result.output

    broken = tmp_path / "broken.yaml"
    text = versions["v2"].read_text(encoding="utf-8")
    broken.write_text(text.replace(f"- id: {NEW_QUESTION}", "- id: litigation", 1),
                      encoding="utf-8")
    result = runner.invoke(screening_cli, ["rescore", "--screening", str(submitted),
                                           "--definition", str(broken)])
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(broken))}:\d+: ", result.output)  # file:line
    assert "nothing was re-scored" in result.output
    assert audit_events(app, "screening_rescored") == []


# --- the CSV export across versions -----------------------------------------------------------


def export(client) -> tuple[list[str], dict[str, dict[str, str]]]:
    response = client.get("/staff/export.csv")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    response.close()
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    return header, {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}


def test_the_export_keeps_a_column_per_question_id_across_versions(app, client, staff, versions):
    old, _ = factories.submitted(app, LOW, name="Olga Old")
    signed_in(client, staff["clinician"])
    old_header, _ = export(client)
    answers = factories.example_answers(app, LOW)

    use(app, versions, "v2")
    new, _ = factories.screening(app, "Nina New")
    factories.answer_and_submit(app, new, {
        **{k: v for k, v in answers.items() if k != REMOVED_QUESTION}, NEW_QUESTION: False})
    header, rows = export(client)
    again, _ = export(client)
    assert header == again and len(header) == len(set(header))
    # The question `surgery_date` shares its id with the screening's own planned date: both kept.
    assert header.count("surgery_date") == 1 and "answer:surgery_date" in header
    old_row, new_row = rows[f"S-{old:06d}"], rows[f"S-{new:06d}"]
    assert (old_row["version"], new_row["version"]) == (OLD, NEW)

    # The removed question keeps its column, filled for the old row; the new one is blank there.
    assert old_row[REMOVED_QUESTION] == str(answers[REMOVED_QUESTION])
    assert new_row[REMOVED_QUESTION] == ""
    assert old_row[NEW_QUESTION] == "" and new_row[NEW_QUESTION] == "no"
    # Each row's tier is its own version's (the old one is not re-scored).
    assert (old_row["tier"], old_row["total"]) == ("low", "1")
    assert (new_row["tier"], new_row["total"]) == ("moderate", "2")
    assert new_row["surgery_type"] == old_row["surgery_type"] == answers["surgery_type"]

    # A new version adds its question after the columns there were: none of them moves.
    assert [c for c in header if c in old_header] == old_header
    assert header.index(NEW_QUESTION) > max(
        header.index(c) for c in old_header if c in load_path(versions["v1"]).questions)


def test_a_date_answer_is_judged_on_the_day_of_submission(app, client, staff, versions):
    """`surgery_date` has `min: today`: once the day has passed, a re-scoring "today" would call
    the answer out of range and drop it. Re-scoring a submitted screening judges it on the day
    of submission, as the original assessment did."""
    today = dt.date.today()
    ident, _ = factories.screening(app, "Dora Date")
    factories.answer_and_submit(app, ident, {**factories.example_answers(app, LOW),
                                "surgery_date": (today + dt.timedelta(days=10)).isoformat()})
    # A year goes by: the screening was submitted a year ago for a surgery 355 days ago.
    past = (today - dt.timedelta(days=355)).isoformat()
    with app.app_context():
        db.session.execute(sa.update(Answer).where(
            Answer.screening_id == ident, Answer.question_id == "surgery_date").values(value=past))
        db.session.execute(sa.update(Screening).where(Screening.id == ident).values(
            submitted_at=utcnow() - dt.timedelta(days=365)))
        db.session.commit()
        db.session.remove()
    signed_in(client, staff["clinician"])
    header, rows = export(client)
    assert rows[f"S-{ident:06d}"]["answer:surgery_date"] == past

    use(app, versions, "v2")
    main = main_of(client.get(f"/staff/screenings/{ident}/rescore"))
    text = flat(main)
    assert "The stored assessment differs" not in text
    assert "cannot use" not in text and main.find(id="unusable") is None
