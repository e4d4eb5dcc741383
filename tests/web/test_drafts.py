"""Drafts (issue 20, item 14): what a patient typed on a step and has not saved yet, sent by the
page's script to `POST /s/<token>/step/<step>/draft`. Kept for that step, shown again when it is
opened, never an answer (not scored, not a finished step, not shown on the review page), deleted
when the step is saved and when the screening is sent; CSRF-checked, bounded in size, only for a
link that may see the answers, never a 5xx, never logged. With CSRF protection on, as in
production."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.domain import drafts
from screening.extensions import db
from screening.models import Draft, Screening, hash_token
from tests.helpers import location_path, new_screening, step_data

from .support import (
    checked_values,
    csrf_token,
    db_state,
    example,
    main,
    main_text,
    questionnaire,
    saved,
    steps_done,
    update_screening,
    walk,
)

RESTORED = "We kept what you had entered on this page before you left."


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True, "PROPAGATE_EXCEPTIONS": False}


def opened(client, app, until: str, name: str = "low tier") -> tuple[str, str, dict, str]:
    """A screening answered up to step `until`, that step's page opened: (token, csrf, answers,
    the page's mark of the step's saved answers)."""
    token = new_screening(app)
    answers = example(app, name)
    walk(client, app, token, answers, until=until, csrf=True)
    page = client.get(f"/s/{token}/step/{until}")
    assert page.status_code == 200
    form = main(page).find("form", class_="step-form")
    assert form.attrs["data-draft-url"] == f"/s/{token}/step/{until}/draft"
    return token, csrf_token(page), answers, form.attrs["data-draft-of"]


def rows(app) -> list[tuple[int, str, dict]]:
    with app.app_context():
        found = [(d.screening_id, d.step_id, d.fields)
                 for d in db.session.scalars(sa.select(Draft))]
        db.session.remove()
    return found


def test_a_draft_is_kept_shown_again_and_never_an_answer(app, client):
    token, csrf, answers, mark = opened(client, app, "mood", "high tier")
    before = db_state(app)
    response = client.post(f"/s/{token}/step/mood/draft", data={
        "csrf_token": csrf, "draft_of": mark, "q_phq9_1": "2", "q_phq9_2": "3",
        "q_goals": "not on this step", "other": "x", "q_phq9_1_extra\x00": "y"})
    assert response.status_code == 204
    # Only the step's own fields are kept; nothing else changed.
    assert [(step, fields) for _, step, fields in rows(app)] == [
        ("mood", {"q_phq9_1": ["2"], "q_phq9_2": ["3"]})]
    after = db_state(app)
    assert {k: v for k, v in after.items() if k != "drafts"} == {
        k: v for k, v in before.items() if k != "drafts"}
    assert "phq9_1" not in saved(app, token) and "mood" not in steps_done(app, token)

    # Opened again (another browser of the same link): the draft, with a calm notice.
    other = app.test_client()
    page = other.get(f"/s/{token}/step/mood")
    assert page.status_code == 200
    assert RESTORED in main_text(page)
    assert checked_values(page, "phq9_1") == ["2"] and checked_values(page, "phq9_2") == ["3"]
    # Not an answer: the review page is not reached, the step is still the one to answer.
    assert location_path(client.get(f"/s/{token}/review")) == f"/s/{token}/step/mood"

    # Continue saves the page for real and the draft is gone.
    data = step_data(questionnaire(app).step_by_id["mood"], answers)
    response = client.post(f"/s/{token}/step/mood", data={**data, "csrf_token": csrf})
    assert response.status_code == 303
    assert rows(app) == []
    assert RESTORED not in main_text(client.get(f"/s/{token}/step/mood"))


def test_a_draft_shows_the_follow_ups_its_answers_open(app, client):
    token, csrf, _, mark = opened(client, app, "habits")
    response = client.post(f"/s/{token}/step/habits/draft", data={
        "csrf_token": csrf, "draft_of": mark, "q_nicotine": "current"})
    assert response.status_code == 204
    page = client.get(f"/s/{token}/step/habits")
    assert checked_values(page, "nicotine") == ["current"]
    assert not main(page).by_id("question-nicotine_forms").hidden


def test_a_draft_the_same_as_the_saved_answers_is_forgotten(app, client):
    token, csrf, answers, _ = opened(client, app, "pain")
    walk(client, app, token, answers, until="safety", csrf=True)
    page = client.get(f"/s/{token}/step/pain")
    mark = main(page).find("form", class_="step-form").attrs["data-draft-of"]
    data = step_data(questionnaire(app).step_by_id["pain"], answers)
    response = client.post(f"/s/{token}/step/pain/draft",
                           data={**data, "csrf_token": csrf, "draft_of": mark})
    assert response.status_code == 204 and len(rows(app)) == 1
    assert RESTORED not in main_text(client.get(f"/s/{token}/step/pain"))
    assert rows(app) == []


def test_a_draft_from_a_page_shown_before_the_step_was_saved_again_is_not_kept(app, client):
    """A draft still on its way when Continue saved other answers: refused (409), so an older
    draft never replaces newer answers."""
    token, csrf, answers, _ = opened(client, app, "pain")
    walk(client, app, token, answers, until="safety", csrf=True)
    old_mark = main(client.get(f"/s/{token}/step/pain")).find(
        "form", class_="step-form").attrs["data-draft-of"]
    data = step_data(questionnaire(app).step_by_id["pain"], {**answers, "back_pain": 9})
    assert client.post(f"/s/{token}/step/pain",
                       data={**data, "csrf_token": csrf}).status_code == 303
    response = client.post(f"/s/{token}/step/pain/draft", data={
        "csrf_token": csrf, "draft_of": old_mark, "q_back_pain": "1"})
    assert response.status_code == 409
    assert rows(app) == []
    response = client.post(f"/s/{token}/step/pain/draft", data={
        "csrf_token": csrf, "q_back_pain": "1"})  # no mark at all
    assert response.status_code == 409 and rows(app) == []


def test_a_draft_needs_the_pages_csrf_token(app, client):
    token, csrf, _, mark = opened(client, app, "pain")
    stranger = app.test_client()
    other = csrf_token(stranger.get(f"/s/{new_screening(app)}"))
    before = db_state(app)
    for bad in ({}, {"csrf_token": ""}, {"csrf_token": "not-a-token"}):
        response = client.post(f"/s/{token}/step/pain/draft",
                               data={"draft_of": mark, "q_back_pain": "4", **bad})
        assert response.status_code == 400
        assert db_state(app) == before
    # Another browser's token does not work either.
    response = client.post(f"/s/{token}/step/pain/draft",
                           data={"draft_of": mark, "q_back_pain": "4", "csrf_token": other})
    assert response.status_code == 400 and db_state(app) == before
    # The token in a header, as the script's fetch sends it, works.
    response = client.post(f"/s/{token}/step/pain/draft", headers={"X-CSRFToken": csrf},
                           data={"draft_of": mark, "q_back_pain": "4"})
    assert response.status_code == 204


def test_a_draft_is_bounded_in_size(app, client):
    token, csrf, _, mark = opened(client, app, "life_and_work")
    before = db_state(app)
    too_long = "é" * (drafts.MAX_BYTES // 2)  # two bytes each: just over the limit
    response = client.post(f"/s/{token}/step/life_and_work/draft",
                           data={"csrf_token": csrf, "draft_of": mark, "q_goals": too_long})
    assert response.status_code == 413
    huge = "x" * (drafts.MAX_BYTES * 2 + 1)  # refused before the fields are read
    response = client.post(f"/s/{token}/step/life_and_work/draft",
                           data={"csrf_token": csrf, "draft_of": mark, "q_goals": huge})
    assert response.status_code == 413
    assert db_state(app) == before
    # Many fields of the step's questions add up to the same limit.
    many = {f"q_goals_{i}": "y" * 100 for i in range(400)}
    response = client.post(f"/s/{token}/step/life_and_work/draft",
                           data={"csrf_token": csrf, "draft_of": mark, **many})
    assert response.status_code == 413 and db_state(app) == before
    # A long free-text answer of the allowed length is kept whole.
    response = client.post(f"/s/{token}/step/life_and_work/draft",
                           data={"csrf_token": csrf, "draft_of": mark, "q_goals": "z" * 500})
    assert response.status_code == 204
    assert rows(app)[0][2] == {"q_goals": ["z" * 500]}


def test_a_draft_only_through_a_link_that_may_see_the_answers(app, client):
    token, csrf, _, mark = opened(client, app, "pain")
    body = {"csrf_token": csrf, "draft_of": mark, "q_back_pain": "4"}
    other = new_screening(app)
    before = db_state(app)
    # An unknown link, a step not reached yet, a step that does not exist.
    assert client.post("/s/not-a-real-link-at-all/step/pain/draft", data=body).status_code == 404
    assert client.post(f"/s/{token}/step/life_and_work/draft", data=body).status_code == 409
    assert client.post(f"/s/{token}/step/nope/draft", data=body).status_code == 404
    # Another screening's link keeps nothing on this one.
    response = client.post(f"/s/{other}/step/pain/draft", data=body)
    assert response.status_code == 409  # not reached on that screening
    assert db_state(app) == before
    # A re-issued link whose holder has not confirmed who they are: sent to the check.
    with app.app_context():
        from screening.domain import links
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token)))
        new_token = links.new_link(screening)
        db.session.commit()
    response = client.post(f"/s/{new_token}/step/pain/draft", data=body)
    assert response.status_code == 303
    assert f"/s/{new_token}/confirm" in response.headers["Location"]
    # The old link is replaced by the new one (gone, with a page that says so).
    assert client.post(f"/s/{token}/step/pain/draft", data=body).status_code == 410
    assert rows(app) == []


def test_a_revoked_or_expired_link_keeps_no_draft(app, client):
    from screening.models import utcnow
    token, csrf, _, mark = opened(client, app, "pain")
    body = {"csrf_token": csrf, "draft_of": mark, "q_back_pain": "4"}
    update_screening(app, token, status="revoked", revoked_at=utcnow())
    assert client.post(f"/s/{token}/step/pain/draft", data=body).status_code == 410
    assert rows(app) == []


def test_sending_the_answers_deletes_every_draft_and_no_draft_comes_after(app, client):
    token, csrf, answers, _ = opened(client, app, "pain")
    walk(client, app, token, answers, csrf=True)
    for step in ("pain", "mood"):
        mark = main(client.get(f"/s/{token}/step/{step}")).find(
            "form", class_="step-form").attrs["data-draft-of"]
        field = "q_back_pain" if step == "pain" else "q_phq9_1"
        assert client.post(f"/s/{token}/step/{step}/draft", data={
            "csrf_token": csrf, "draft_of": mark, field: "1"}).status_code == 204
    assert len(rows(app)) == 2
    response = client.post(f"/s/{token}/submit", data={"csrf_token": csrf})
    assert location_path(response) == f"/s/{token}/result"
    assert rows(app) == []
    response = client.post(f"/s/{token}/step/pain/draft",
                           data={"csrf_token": csrf, "draft_of": mark, "q_back_pain": "3"})
    assert response.status_code == 410
    assert rows(app) == []


def test_a_draft_is_never_logged(app, client, caplog):
    token, csrf, _, mark = opened(client, app, "life_and_work")
    secret = "Walk my dog Biscuit along the river"
    with caplog.at_level(logging.DEBUG):
        response = client.post(f"/s/{token}/step/life_and_work/draft",
                               data={"csrf_token": csrf, "draft_of": mark, "q_goals": secret})
        assert response.status_code == 204
        page = client.get(f"/s/{token}/step/life_and_work")
    assert secret in page.get_data(as_text=True)
    assert "Biscuit" not in caplog.text


FIELD_NAMES = st.sampled_from(["q_back_pain", "q_leg_pain", "q_pain_areas", "q_back_pain_x",
                               "csrf_token", "draft_of", "q_", "q", "", "q_back_pain\x00"])
VALUES = st.one_of(
    st.sampled_from(["", "\x00", "a\x00b", "é", "9" * 5000, "%ff", "<script>", "\ud7ff",
                     "\U0010ffff", "-1", "1e400", "null", "[]"]),
    st.text(max_size=30),
)


def test_no_body_sent_to_the_draft_endpoint_is_answered_with_a_5xx(app, client):
    token, csrf, _, mark = opened(client, app, "pain")
    url = f"/s/{token}/step/pain/draft"
    seen: set[int] = set()

    @settings(max_examples=80, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(fields=st.lists(st.tuples(FIELD_NAMES, VALUES), max_size=8),
           keep_token=st.booleans(), keep_mark=st.booleans(),
           kind=st.sampled_from(["form", "raw", "json", "multipart"]))
    def one(fields, keep_token, keep_mark, kind):
        data = list(fields)
        if keep_token:
            data.append(("csrf_token", csrf))
        if keep_mark:
            data.append(("draft_of", mark))
        if kind == "raw":
            body = "&".join(f"{k}=%ff%00" for k, _ in data).encode() or b"\xff\xfe"
            response = client.post(url, data=body, headers={
                "Content-Type": "application/x-www-form-urlencoded"})
        elif kind == "json":
            response = client.post(url, json=dict(data))
        elif kind == "multipart":
            response = client.post(url, data=dict(data), content_type="multipart/form-data")
        else:
            from werkzeug.datastructures import MultiDict
            response = client.post(url, data=MultiDict(data))
        seen.add(response.status_code)
        assert response.status_code < 500, (kind, data)

    one()
    assert 204 in seen and 400 in seen, seen
