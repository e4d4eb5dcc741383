"""A re-issued link asks who is there (issue 17 §6): a link other than the one the answers were
saved through shows and accepts nothing until its holder confirms the date of birth (or, with
none on file, the return code shown at the first save); wrong tries are limited and audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from screening.domain import NotAllowed, answering, links, questionnaires
from screening.extensions import db
from screening.models import AuditEvent, Screening, hash_token
from tests.helpers import location_path, new_screening, step_data

from .support import (
    example,
    main,
    main_text,
    page,
    questionnaire,
    saved,
    screening_row,
    update_screening,
    walk,
)

DOB = dt.date(1961, 3, 27)
GOALS = "Walk Zelda to school again"  # a saved answer no page of a new link may show


def reissue(app, token: str) -> str:
    """A new link for the screening (as a resend, handout or reminder makes); its token."""
    with app.app_context():
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token)))
        fresh = links.new_link(screening)
        db.session.commit()
        db.session.remove()
    return fresh


def audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        db.session.expunge_all()
        db.session.remove()
    return events


def answered(app, client, **details) -> str:
    """A screening whose patient answered every step (with GOALS) and stopped at the review."""
    token = new_screening(app, **details)
    answers = {**example(app, "low tier"), "goals": GOALS}
    assert walk(client, app, token, answers).endswith("/review")
    assert GOALS in main_text(client.get(f"/s/{token}/review"))
    return token


def dob_form(day: int | str, month: int | str, year: int | str) -> dict[str, str]:
    return {"day": str(day), "month": str(month), "year": str(year)}


def test_the_same_link_resumes_without_a_check_on_any_device(app, client):
    token = answered(app, client, patient_dob=DOB)
    phone = app.test_client()
    assert phone.get(f"/s/{token}").status_code == 200
    assert GOALS in main_text(phone.get(f"/s/{token}/review"))
    assert phone.get(f"/s/{token}/confirm").status_code == 303  # nothing to check: welcome
    assert audit(app, "identity_check_failed") == audit(app, "identity_confirmed") == []


def test_a_new_link_without_saved_answers_asks_nothing(app, client):
    token = new_screening(app, patient_dob=DOB)
    fresh = reissue(app, token)
    assert client.get(f"/s/{fresh}").status_code == 200
    response = client.post(f"/s/{fresh}/start")
    assert "/step/" in location_path(response)


def test_a_new_link_shows_and_accepts_nothing_before_the_check(app, client):
    token = answered(app, client, patient_dob=DOB)
    before = saved(app, token)
    fresh = reissue(app, token)
    other = app.test_client()
    q = questionnaire(app)
    first = q.steps[0]
    paths = [f"/s/{fresh}", f"/s/{fresh}/review", f"/s/{fresh}/step/{first.id}",
             f"/s/{fresh}/step/goals"]
    for path in paths:
        response = other.get(path)
        assert response.status_code == 303, path
        assert location_path(response) == f"/s/{fresh}/confirm"
    for path, data in [(f"/s/{fresh}/start", {}), (f"/s/{fresh}/submit", {}),
                       (f"/s/{fresh}/step/{first.id}",
                        step_data(first, {**example(app, "moderate tier"), "goals": "changed"}))]:
        response = other.post(path, data=data)
        assert response.status_code == 303, path
        assert location_path(response) == f"/s/{fresh}/confirm"
    assert saved(app, fresh) == before
    assert screening_row(app, fresh)["status"] == "in_progress"

    check = other.get(f"/s/{fresh}/confirm")
    assert check.status_code == 200
    html = check.get_data(as_text=True)
    assert "Zelda" not in html and "checked" not in html
    assert main(check).find("h1").text == "Please confirm your date of birth"
    assert {i.attrs["name"] for i in page(check).find_all("input")} >= {"day", "month", "year"}
    assert "contact the clinic" in main_text(check)


def test_the_right_date_of_birth_shows_the_answers_to_any_holder_of_the_link(app, client):
    token = answered(app, client, patient_dob=DOB)
    fresh = reissue(app, token)
    other = app.test_client()
    response = other.post(f"/s/{fresh}/confirm", data=dob_form(27, "03", 1961))
    assert response.status_code == 303
    assert location_path(response) == f"/s/{fresh}"
    assert GOALS in main_text(other.get(f"/s/{fresh}/review"))
    # The link is trusted from now on, on the server: another device with it is not asked.
    assert GOALS in main_text(app.test_client().get(f"/s/{fresh}/review"))
    [event] = audit(app, "identity_confirmed")
    assert event.user_id is None and event.detail == "link 2 (dob)"
    assert screening_row(app, fresh)["identity_failures"] == 0


def test_wrong_dates_are_refused_audited_and_lock_the_link_after_five(app, client):
    token = answered(app, client, patient_dob=DOB)
    fresh = reissue(app, token)
    other = app.test_client()
    # Not a date: said so, no try used.
    for form in (dob_form("", "", ""), dob_form(31, 2, 1961), dob_form("x", 3, 1961)):
        response = other.post(f"/s/{fresh}/confirm", data=form)
        assert response.status_code == 422
        assert "as numbers" in main_text(response)
    assert audit(app, "identity_check_failed") == []
    for attempt in range(1, 5):
        response = other.post(f"/s/{fresh}/confirm", data=dob_form(28, 3, 1961))
        assert response.status_code == 422
        assert "does not match" in main_text(response)
        assert "Zelda" not in response.get_data(as_text=True)
        assert screening_row(app, fresh)["identity_failures"] == attempt
    response = other.post(f"/s/{fresh}/confirm", data=dob_form(1, 1, 1960))
    assert response.status_code == 403
    assert main(response).find("h1").text == "Please contact the clinic"
    assert "locked" in main_text(response) and main(response).find("form") is None
    events = audit(app, "identity_check_failed")
    assert [e.detail for e in events] == [
        f"link 2 (dob), wrong try {n} of 5" for n in range(1, 6)]
    assert all(e.screening_id == events[0].screening_id and e.user_id is None for e in events)
    assert not any("1961" in e.detail or "1960" in e.detail for e in events)
    # Locked: even the right date is not tried, and nothing is shown.
    response = other.post(f"/s/{fresh}/confirm", data=dob_form(27, 3, 1961))
    assert response.status_code == 403
    assert location_path(other.get(f"/s/{fresh}/review")) == f"/s/{fresh}/confirm"
    assert len(audit(app, "identity_check_failed")) == 5

    # A new link from the clinic starts the count again (audited).
    newest = reissue(app, fresh)
    assert screening_row(app, newest)["identity_failures"] == 0
    [reset] = audit(app, "identity_check_reset")
    assert reset.detail == "link 3, after 5 wrong tries"
    response = other.post(f"/s/{newest}/confirm", data=dob_form(27, 3, 1961))
    assert location_path(response) == f"/s/{newest}"


def test_a_return_code_is_shown_once_and_opens_a_new_link(app, client):
    token = new_screening(app)  # no date of birth on file
    answers = {**example(app, "low tier"), "goals": GOALS}
    q = questionnaire(app)
    start = client.post(f"/s/{token}/start")
    first_step = location_path(start)
    response = client.post(first_step, data=step_data(q.steps[0], answers))
    shown = client.get(location_path(response))
    notice = page(shown).by_id("return-code")
    code = notice.find("strong").text
    assert re.fullmatch(r"[A-Z2-9]{3}-[A-Z2-9]{3}", code)
    assert "write it down" in notice.text
    assert page(client.get(location_path(response))).find(id="return-code") is None  # once
    row = screening_row(app, token)
    assert row["return_code_hash"] and code.replace("-", "") not in row["return_code_hash"]
    walk(client, app, token, answers)
    assert page(client.get(f"/s/{token}/review")).find(id="return-code") is None  # still one

    fresh = reissue(app, token)
    other = app.test_client()
    check = other.get(f"/s/{fresh}/confirm")
    assert main(check).find("h1").text == "Please enter your return code"
    assert "Zelda" not in check.get_data(as_text=True)
    response = other.post(f"/s/{fresh}/confirm", data={"code": "no"})
    assert response.status_code == 422 and audit(app, "identity_check_failed") == []
    wrong = "".join("A" if ch != "A" else "B" for ch in code.replace("-", ""))
    response = other.post(f"/s/{fresh}/confirm", data={"code": wrong})
    assert response.status_code == 422 and "does not match" in main_text(response)
    [failed] = audit(app, "identity_check_failed")
    assert failed.detail == "link 2 (code), wrong try 1 of 5"
    response = other.post(f"/s/{fresh}/confirm", data={"code": f" {code.lower()} "})
    assert location_path(response) == f"/s/{fresh}"
    assert GOALS in main_text(other.get(f"/s/{fresh}/review"))
    assert screening_row(app, fresh)["identity_failures"] == 1


def test_no_return_code_is_made_when_a_date_of_birth_is_on_file(app, client):
    token = answered(app, client, patient_dob=DOB)
    assert screening_row(app, token)["return_code_hash"] is None


def test_without_a_date_of_birth_or_a_code_only_the_clinic_can_help(app, client):
    token = answered(app, client)
    update_screening(app, token, return_code_hash=None)  # e.g. saved before codes existed
    fresh = reissue(app, token)
    response = client.get(f"/s/{fresh}/confirm")
    assert response.status_code == 403
    assert main(response).find("h1").text == "Please contact the clinic"
    assert main(response).find("form") is None
    response = client.post(f"/s/{fresh}/confirm", data={"code": "ABC234"})
    assert response.status_code == 403 and audit(app, "identity_check_failed") == []


def test_a_save_through_a_replaced_link_is_refused(app, client):
    """The link read at the start of a request must still be the screening's when it saves."""
    token = answered(app, client, patient_dob=DOB)
    with app.app_context():
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token)))
        q = questionnaires.of(screening)
        table = Screening.__table__  # behind the session's back, as another request would
        db.session.execute(table.update().where(table.c.id == screening.id)
                           .values(link_number=table.c.link_number + 1))
        with pytest.raises(NotAllowed):
            answering.save_step(screening, q, q.steps[0].id, {}, set())
        db.session.rollback()
        db.session.remove()


def test_the_check_page_speaks_spanish(app, client):
    token = answered(app, client, patient_dob=DOB, language="es")
    fresh = reissue(app, token)
    check = client.get(f"/s/{fresh}/confirm")
    assert main(check).find("h1").text == "Confirme su fecha de nacimiento"
    assert page(check).find("html").attrs["lang"] == "es"


def test_a_step_posted_with_an_expired_form_through_a_new_link_goes_to_the_check(app, client):
    token = answered(app, client, patient_dob=DOB)
    fresh = reissue(app, token)
    app.config["WTF_CSRF_ENABLED"] = True
    first = questionnaire(app).steps[0]
    response = app.test_client().post(f"/s/{fresh}/step/{first.id}", data={"csrf_token": "old"})
    assert response.status_code == 303
    assert location_path(response) == f"/s/{fresh}/confirm"
    assert "Zelda" not in response.get_data(as_text=True)
