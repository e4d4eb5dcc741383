"""Whole step pages kept for the next patient at the same point (screening.patient.pages): a kept
page is byte for byte the page that would be rendered, with the patient's own link and CSRF
token, and nothing a patient typed, no name and no token is ever kept."""

from __future__ import annotations

import re

import flask
import pytest
import sqlalchemy as sa
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from screening.extensions import db
from screening.models import Answer
from screening.patient import markup, pages
from tests.helpers import location_path, new_screening, step_data

from .support import (
    csrf_token,
    example,
    main,
    questionnaire,
    screening_row,
    step_id_of,
    walk,
)


@pytest.fixture(autouse=True)
def nothing_kept(app):
    with app.app_context():
        pages.forget()
    markup.forget()
    yield
    markup.forget()


def kept_pages(app) -> list[str]:
    return [html for _owner, html in app.extensions.get("screening_pages", {}).values()]


def rendered_now(app, client, path: str):
    """The page as rendered from its templates, nothing kept used (as while templates reload)."""
    app.jinja_env.auto_reload = True
    try:
        return client.get(path)
    finally:
        app.jinja_env.auto_reload = False


def same_but_csrf(a: str, b: str) -> bool:
    """Equal pages but for the CSRF token, signed anew with the time on every page."""
    field = re.compile(r'(name="csrf_token" value=")[^"]+"')
    return field.sub(r"\1-", a) == field.sub(r"\1-", b) and csrf_field(a) and csrf_field(b)


def csrf_field(html: str) -> bool:
    return bool(re.search(r'name="csrf_token" value="[^"\x00]{20,}"', html))


def visit_every_step(app, client, token: str, answers: dict, visited: list) -> None:
    """Walk the questionnaire; on each step, the page as kept (asked twice: the second is the
    kept one) against the page rendered now, before and after answering it, and each earlier
    step again with its answers, and the step as opened from the review page."""
    q = questionnaire(app)
    path = location_path(client.post(f"/s/{token}/start"))
    seen: list[str] = []
    while "/step/" in path:
        for shown in (path, *seen[-2:], f"{path}?return=review"):
            client.get(shown)
            kept = client.get(shown)
            assert kept.status_code == 200
            fresh = rendered_now(app, client, shown)
            assert same_but_csrf(kept.text, fresh.text), shown
            visited.append(shown)
        seen.append(path)
        response = client.post(path, data=step_data(q.step_by_id[step_id_of(path)], answers))
        assert response.status_code == 303
        path = location_path(response)


@pytest.mark.parametrize("language", ["en", "es"])
def test_kept_pages_are_the_pages_rendered_now(app, client, language):
    """Every example patient, every step, fresh and revisited, in both languages."""
    q = questionnaire(app)
    visited: list[str] = []
    for example_set in q.examples:
        token = new_screening(app, language=language)
        visit_every_step(app, client, token, dict(example_set.answers), visited)
    assert len(visited) > 3 * len(q.steps)
    assert kept_pages(app), "pages were kept"


def test_a_second_patient_gets_the_kept_page_with_their_own_link_and_token(app):
    first_client, second_client = app.test_client(), app.test_client()
    first, second = new_screening(app, "First Patient"), new_screening(app, "Second Patient")
    for client, token in ((first_client, first), (second_client, second)):
        client.post(f"/s/{token}/start")
    a = first_client.get(f"/s/{first}/step/about_surgery")
    assert len(kept_pages(app)) == 1
    b = second_client.get(f"/s/{second}/step/about_surgery")
    assert len(kept_pages(app)) == 1  # served from the kept page
    assert first not in b.text and second in b.text and second not in a.text
    assert csrf_token(a) != csrf_token(b)
    assert b.text == a.text.replace(first, second).replace(csrf_token(a), csrf_token(b))
    # The second patient's own token works with the form it was given, and the first's does not.
    # (Checked by Flask-WTF against their session: a token signed again a second later differs.)
    with second_client.session_transaction() as saved:
        second_session = dict(saved)
    with app.test_request_context():
        flask.session.update(second_session)
        validate_csrf(csrf_token(b))
        with pytest.raises(ValidationError):
            validate_csrf(csrf_token(a))


def test_nothing_typed_no_name_and_no_token_is_kept(app, client):
    answers = example(app, "moderate tier - two-level")
    answers["goals"] = "Walk Biscuit the dog to the harbour again"
    token = new_screening(app, "Ottilie Quarrington")
    visit_every_step(app, client, token, answers, [])
    session_token = csrf_token(client.get(f"/s/{token}"))
    kept = kept_pages(app)
    assert kept
    for html in kept:
        assert token not in html and session_token not in html
        assert "Ottilie" not in html and "Biscuit" not in html
        assert pages.TOKEN_MARK in html and pages.CSRF_MARK in html
    # Typed answers shown on their steps come from a page rendered for this request.
    goals = client.get(f"/s/{token}/step/life_and_work")
    assert answers["goals"] in goals.text


def test_error_pages_are_never_kept(app, client):
    token = new_screening(app)
    path = location_path(client.post(f"/s/{token}/start"))
    before = len(kept_pages(app))
    response = client.post(path, data={})
    assert response.status_code == 422
    assert len(kept_pages(app)) == before


def test_later_steps_done_but_out_of_reach_are_part_of_the_page(app, client):
    """A patient who finished every step and then lost the answers of `mood` (here: taken out of
    the database) sees the later steps marked done; a patient reaching `mood` for the first time
    does not, though the questions, every step's link and its reachability are the same."""
    answers = example(app, "low tier")
    finished = new_screening(app)
    walk(client, app, finished, answers)
    screening_id = screening_row(app, finished)["id"]
    with app.app_context():
        db.session.execute(
            sa.delete(Answer).where(
                Answer.screening_id == screening_id, Answer.question_id.like("phq9_%")
            )
        )
        db.session.commit()
    back = client.get(f"/s/{finished}/step/mood")
    fresh_client, first_time = app.test_client(), new_screening(app)
    walk(fresh_client, app, first_time, answers, until="mood")
    fresh = fresh_client.get(f"/s/{first_time}/step/mood")
    later_done = main(back).text.count("done")
    assert later_done > main(fresh).text.count("done")
    for one, path, page in ((client, finished, back), (fresh_client, first_time, fresh)):
        assert same_but_csrf(page.text, rendered_now(app, one, f"/s/{path}/step/mood").text)
