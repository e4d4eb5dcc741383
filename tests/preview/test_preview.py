"""`screening preview` through Flask's test client and the command line: the lint in place of the
pages, reloading, the score panel against `screening score`, the examples, the map, the diff, the
answers kept out of the cookie, and no 5xx on any input."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from screening.commands import main
from screening.definition import load_path
from screening.preview import create_preview_app
from screening.preview.diagram import condition_text, map_rows
from screening.preview.draft import source_lines
from tests.helpers import step_data

from .conftest import AXES, BILINGUAL, MINI, break_file, csrf_token


def panel(html: str) -> dict[str, Any]:
    """The panel's tier, total and the factors listed, as the page shows them."""
    tier = re.search(r'id="panel-tier" data-tier="([^"]*)"', html)
    total = re.search(r'id="panel-total" data-total="(\d+)"', html)
    assert tier and total, "no score panel"
    factors = re.findall(r'<li data-factor="([^"]+)"><span class="points">\+', html)
    return {"tier": tier.group(1) or None, "total": int(total.group(1)), "factors": factors}


def walk(client, q, answers: dict[str, Any]) -> str:
    """Post each step the preview sends us to; the review page's HTML at the end."""
    response = client.get("/")
    for _ in range(30):
        location = response.headers.get("Location", "")
        if response.status_code == 303 and location.endswith("/review"):
            return client.get("/review").get_data(as_text=True)
        found = re.search(r"/step/([^/?#]+)$", location)
        assert found, (response.status_code, location)
        step = q.step_by_id[found.group(1)]
        response = client.post(f"/step/{step.id}", data=step_data(step, answers))
    raise AssertionError("no review page")


def score_json(definition: Path, answers: dict[str, Any]) -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["score", str(definition), "-", "--format", "json"], input=json.dumps(answers)
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# --- production, lint, reloading -------------------------------------------------------------


def test_refused_in_production(draft: Path, tmp_path: Path):
    result = CliRunner().invoke(
        main, ["preview", str(draft), "--map", str(tmp_path / "m.pdf")],
        env={"SCREENING_ENV": "production"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "does not run with SCREENING_ENV=production" in result.output
    assert not (tmp_path / "m.pdf").exists()


def test_lint_problem_shown_at_file_and_line_then_fixed(client, draft: Path):
    good = draft.read_text(encoding="utf-8")
    line = break_file(draft)
    response = client.get("/step/surgery")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    expected = f"{draft}:{line}: risk_factors[1].when.all[0].question: there is no question"
    assert expected in html.replace("&#39;", "'")
    assert 'name="q_procedure"' not in html  # the problems instead of the questionnaire
    assert client.get("/status.json").get_json()["ok"] is False
    draft.write_text(good, encoding="utf-8")
    html = client.get("/step/surgery").get_data(as_text=True)
    assert 'name="q_procedure"' in html and "lint-problems" not in html
    assert client.get("/status.json").get_json()["ok"] is True


def test_the_same_problems_as_screening_lint(client, draft: Path):
    break_file(draft)
    result = CliRunner().invoke(main, ["lint", str(draft)])
    assert result.exit_code == 1
    html = client.get("/").get_data(as_text=True).replace("&#39;", "'")
    printed = [line for line in result.output.splitlines() if line.startswith(f"{draft}:1")]
    assert printed and all(line in html for line in printed)


def test_a_missing_file_is_a_problem_not_an_error(tmp_path: Path):
    app = create_preview_app(tmp_path / "nowhere.yaml", config={"WTF_CSRF_ENABLED": False})
    response = app.test_client().get("/")
    assert response.status_code == 200 and "no such file" in response.get_data(as_text=True)


def test_status_hash_changes_with_the_file(client, draft: Path):
    before = client.get("/status.json").get_json()["hash"]
    draft.write_text(draft.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    after = client.get("/status.json").get_json()["hash"]
    assert before and after and before != after


# --- the pages and the panel ----------------------------------------------------------------


def test_every_page_says_nothing_is_stored(client):
    for url in ("/step/surgery", "/map", "/source"):
        assert "Preview, nothing is stored." in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize(
    "answers",
    [
        {"procedure": "fusion", "smoker": True, "m1": 3, "m2": 3, "bother": "lots",
         "drinks": True, "drinks_often": 4},
        {"procedure": "decompression", "smoker": False, "m1": 0, "m2": 3, "bother": "none",
         "drinks": False},
        {"procedure": "not_sure", "smoker": True, "m1": 3, "m2": 0, "bother": "some",
         "drinks": True, "drinks_often": 1},
    ],
)  # fmt: skip
def test_panel_scores_as_screening_score(client, answers: dict[str, Any]):
    q = load_path(AXES)
    shown = panel(walk(client, q, answers))
    expected = score_json(AXES, answers)
    assert shown == {
        "tier": expected["tier"],
        "total": expected["total"],
        "factors": [f["id"] for f in expected["factors"]],
    }


def test_panel_while_incomplete_has_no_tier_and_axes_with_lines(client, draft: Path):
    client.post("/step/surgery", data={"q_procedure": "fusion", "q_smoker": "yes"})
    html = client.get("/step/mood").get_data(as_text=True)
    assert panel(html) == {"tier": None, "total": 4, "factors": ["fusion", "smoking_fusion"]}
    assert "none yet (at least High)" in html
    lines = source_lines(draft.read_text(encoding="utf-8"), str(draft))
    factor_line = load_path(draft).factor_by_id["fusion"].line
    assert f'href="/source#L{factor_line}"' in html
    assert f'href="/source#L{lines[("axis", "medical")]}"' in html
    assert f'href="/source#L{lines[("instrument", "distress")]}"' in html


def test_panel_follows_answers_not_yet_saved(client):
    client.post("/step/surgery", data={"q_procedure": "decompression", "q_smoker": "no"})
    html = client.post("/step/mood/panel", data={"q_m1": "3", "q_m2": "3"}).get_data(as_text=True)
    assert panel(html)["factors"] == ["low_mood", "worry"]
    assert panel(html)["total"] == 2  # capped together at 2
    assert "Capped" in html or "counted as 2" in html
    # Nothing was saved: the page still scores the saved answers.
    assert panel(client.get("/step/mood").get_data(as_text=True))["factors"] == []


def test_red_flag_in_the_panel_with_its_urgency(tmp_path: Path):
    path = tmp_path / "mini.yaml"
    shutil.copy(MINI, path)
    app = create_preview_app(path, config={"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    walk(client, load_path(MINI), {"surgery_type": "decompression", "prior": False,
                                   "height": 180, "weight": 70, "m1": 0, "m2": 3})  # fmt: skip
    html = client.get("/review").get_data(as_text=True)
    line = load_path(MINI).red_flag_by_id["low_mood_now"].line
    assert 'data-flag="low_mood_now"' in html and "same day" in html
    assert f'href="/source#L{line}"' in html
    assert "Nothing is sent from a preview" in html and "Send my answers" not in html


@pytest.mark.parametrize("index", range(len(load_path(AXES).examples)))
def test_each_example_fills_its_answers_and_holds(client, index: int):
    example = load_path(AXES).examples[index]
    response = client.post(f"/examples/{index}")
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'data-example="{example.name}" data-holds="yes"' in html
    shown = panel(html)
    if "tier" in example.expect:
        assert shown["tier"] == example.expect["tier"]
    if "total" in example.expect:
        assert shown["total"] == example.expect["total"]
    if "factors" in example.expect:
        assert sorted(shown["factors"]) == sorted(example.expect["factors"])


def test_a_follow_up_previews_without_tiers_and_its_examples_hold():
    """A follow-up questionnaire has no tiers: the panel shows no tier or points, and its
    examples (the outcome against their baseline) hold."""
    followup = Path(__file__).resolve().parents[2] / "questionnaires" / "fbss-followup.yaml"
    client = create_preview_app(followup, config={"WTF_CSRF_ENABLED": False}).test_client()
    html = client.get("/step/pain").get_data(as_text=True)
    assert 'id="panel-tier"' not in html and "no tier until" not in html
    for index, example in enumerate(load_path(followup).examples):
        response = client.post(f"/examples/{index}")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert f'data-example="{example.name}" data-holds="yes"' in page


def test_an_example_that_does_not_hold_says_so(client, draft: Path):
    text = draft.read_text(encoding="utf-8")
    draft.write_text(
        text.replace(
            "expect: {tier: high, axes: {medical: high, psychosocial: low}, total: 4}",
            "expect: {tier: high, total: 5}",
        ),
        encoding="utf-8",
    )
    # The lint fails on it, so the page shows the problem, at the example's line.
    html = client.get("/").get_data(as_text=True)
    assert "expected total 5, but the rules give 4" in html


def test_answers_stay_out_of_the_cookie(client):
    long_text = "x" * 1900
    client.post("/step/surgery", data={"q_procedure": "fusion", "q_smoker": "yes"})
    client.post("/step/mood/panel", data={"q_m1": long_text})
    cookie = client.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 200
    assert "fusion" not in cookie.value
    other = client.application.test_client()  # another browser: its own (empty) answers
    assert panel(other.get("/step/surgery").get_data(as_text=True))["total"] == 0


def test_clear_answers(client):
    client.post("/step/surgery", data={"q_procedure": "fusion", "q_smoker": "yes"})
    assert client.post("/reset").status_code == 303
    assert panel(client.get("/step/surgery").get_data(as_text=True))["total"] == 0


def test_in_the_patients_language(tmp_path: Path):
    app = create_preview_app(BILINGUAL, language="es", config={"WTF_CSRF_ENABLED": False})
    html = app.test_client().get("/step/habits").get_data(as_text=True)
    assert "¿Usa nicotina?" in html and 'lang="es"' in html
    assert "Preview, nothing is stored." in html  # the author's texts stay in English


def test_csrf_is_checked(draft: Path):
    app = create_preview_app(draft, config={"WTF_CSRF_ENABLED": True})
    client = app.test_client()
    assert client.post("/step/surgery", data={"q_procedure": "fusion"}).status_code == 400
    token = csrf_token(client.get("/step/surgery").get_data(as_text=True))
    response = client.post("/step/surgery", data={"q_procedure": "fusion", "q_smoker": "no",
                                                  "csrf_token": token})  # fmt: skip
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/step/nope", None),
        ("get", "/step/mood", None),  # not reached yet: back to where the answers stand
        ("post", "/step/surgery", {"q_procedure": "nonsense", "q_smoker": "perhaps"}),
        ("post", "/step/surgery", {"q_procedure": ["a", "b"], "q_smoker": "\x00\u202e"}),
        ("post", "/step/mood/panel", {"q_m1": "9" * 500, "q_drinks_often": "-1"}),
        ("post", "/step/nope/panel", {}),
        ("post", "/examples/99", None),
        ("post", "/examples/-1", None),
        ("get", "/examples/0", None),
        ("get", "/review", None),
        ("get", "/diff", None),  # no --against
        ("post", "/status.json", None),
        ("get", "/source?x=%00", None),
    ],
)
def test_no_server_error_on_any_input(client, method: str, url: str, data):
    response = getattr(client, method)(url, data=data)
    assert response.status_code < 500, (url, response.status_code)


def test_no_server_error_on_a_draft_that_changed_under_saved_answers(client, draft: Path):
    client.post("/examples/1")
    text = draft.read_text(encoding="utf-8")
    for old in ("value: fusion,", "equals: fusion}", "procedure: fusion,", "procedure: fusion}"):
        text = text.replace(old, old.replace("fusion", "fuse"))
    draft.write_text(text, encoding="utf-8")
    for url in ("/", "/step/surgery", "/review", "/map"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code < 500, url
    assert 'name="q_procedure"' in client.get("/step/surgery").get_data(as_text=True)


# --- the map ----------------------------------------------------------------------------------


def test_map_draws_every_question_and_what_reads_it(client):
    html = client.get("/map").get_data(as_text=True)
    assert "<svg" in html and 'aria-labelledby="map-title"' in html
    q = load_path(AXES)
    for question_id in q.questions:
        assert f"<code>{question_id}</code>" in html
    assert "drinks = yes" in html  # drinks_often's condition
    rows = {r.question.id: r for r in map_rows(q)}
    assert "factor fusion (+2)" in rows["procedure"].read_by
    assert "shows drinks_often" in rows["drinks"].read_by
    assert "instrument distress" in rows["m1"].read_by


def test_condition_text():
    q = load_path(AXES)
    assert condition_text(q.factor_by_id["smoking_fusion"].when) == (
        "(smoker = yes and procedure = fusion)"
    )


def test_map_pdf_from_the_command_line(draft: Path, tmp_path: Path):
    out = tmp_path / "map.pdf"
    result = CliRunner().invoke(main, ["preview", str(draft), "--map", str(out)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Map of Two axes" in text and "drinks_often" in text
    assert reader.attachments == {}
    # On paper, a page per step (a whole long questionnaire in one drawing is too small to read).
    pages = [page.extract_text() for page in reader.pages]
    surgery = next(p for p in pages if "Step 1: Your surgery" in p)
    mood = next(p for p in pages if "Step 2: Your mood" in p)
    assert "smoking_fusion" in surgery and "distress" not in surgery
    assert "distress" in mood and "smoking_fusion" not in mood


def test_a_steps_drawing_holds_its_questions_and_what_reads_them():
    from screening.preview.diagram import build_graph

    q = load_path(AXES)
    mood = build_graph(q, step_id="mood").source
    assert "q__m1" in mood and "factor__low_mood" in mood and "value__distress" in mood
    assert "q__procedure" not in mood and "factor__fusion" not in mood
    whole = build_graph(q).source
    assert all(f"q__{i}" in whole for i in q.questions)


def test_map_pdf_refused_for_a_draft_with_problems(draft: Path, tmp_path: Path):
    break_file(draft)
    result = CliRunner().invoke(main, ["preview", str(draft), "--map", str(tmp_path / "m.pdf")])
    assert result.exit_code == 1 and "there is no question 'smokes'" in result.output


# --- the diff ---------------------------------------------------------------------------------


def new_version(draft: Path) -> None:
    """The draft as a new version: a question added, one changed, one removed, points changed."""
    text = draft.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0")
    text = text.replace("label: Do you smoke?", "label: Do you smoke now?")
    text = text.replace(
        "      - id: m1\n",
        "      - id: vape\n        type: yes_no\n        label: Do you vape?\n"
        "        required: false\n      - id: m1\n",
    )
    weight = "\n    justification: Expert weight for the test."
    text = text.replace(f"    points: 2{weight}", f"    points: 3{weight}")
    draft.write_text(text, encoding="utf-8")


def test_diff_against_the_version_in_force(tmp_path: Path, draft: Path):
    old = tmp_path / "in-force.yaml"
    shutil.copy(AXES, old)
    new_version(draft)
    app = create_preview_app(draft, against=old, config={"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/examples/2")  # capped distress: worry's new points change nothing (capped)
    html = client.get("/diff").get_data(as_text=True)
    changes = set(re.findall(r'data-change="([a-z]+)" data-id="([a-z_0-9]+)"', html))
    assert {("changed", "smoker"), ("added", "vape"), ("changed", "worry")} <= changes
    assert "points: 2 → 3" in html
    # The staff's comparison, once per example and once for the answers in the preview.
    assert html.count("Side by side") == len(load_path(draft).examples) + 1
    assert "Your answers in the preview" in html
    assert "In force, version 1.0.0" in html and "Draft, version 1.1.0" in html
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids repeat"
    marked = client.get("/map").get_data(as_text=True)
    assert "<mark>added</mark>" in marked and "<mark>changed</mark>" in marked


def test_diff_with_a_broken_version_in_force(tmp_path: Path, draft: Path):
    old = tmp_path / "in-force.yaml"
    old.write_text("id: [", encoding="utf-8")
    app = create_preview_app(draft, against=old, config={"WTF_CSRF_ENABLED": False})
    response = app.test_client().get("/diff")
    assert response.status_code == 200
    assert "The version in force cannot be loaded" in response.get_data(as_text=True)


def test_removed_question_in_the_diff(tmp_path: Path, draft: Path):
    app = create_preview_app(draft, against=MINI, config={"WTF_CSRF_ENABLED": False})
    html = app.test_client().get("/diff").get_data(as_text=True)
    assert 'data-change="removed" data-id="surgery_type"' in html
    assert 'data-change="removed" data-id="long_fusion"' in html
