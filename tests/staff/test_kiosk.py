"""Handing a clinic device to the patient: the staff session ends, the visit ends neutrally."""

from __future__ import annotations

import time

from screening.models import Screening
from tests import factories
from tests.web.support import example, page, questionnaire, step_data, walk

from .conftest import audit_events, goes_to_login, is_signed_in, location, row, signed_in

NAME, MRN = "Kim Kioskpatient", "MRN-K-5151"


def assert_shows_nothing_of_the_patient(response) -> None:
    html = response.get_data(as_text=True)
    for private in (NAME, "Kim", "Kioskpatient", MRN, "1960"):
        assert private not in html, private
    assert response.headers["Cache-Control"] == "no-store"


def hand_over(app, staff, **details):
    """An intake device handed to the patient: (device client, screening id, welcome path)."""
    ident, _ = factories.screening(app, NAME, patient_mrn=MRN, **details)
    device = signed_in(app.test_client(), staff["intake"])
    response = device.post(f"/staff/screenings/{ident}/hand-over")
    assert response.status_code == 303
    path = location(response)
    assert path.startswith("/s/")
    return device, ident, path


def test_hand_over_ends_the_staff_session_and_opens_the_questionnaire(app, staff):
    device, ident, path = hand_over(app, staff)
    assert not is_signed_in(device)
    assert goes_to_login(device.get("/staff/"))
    assert goes_to_login(device.get(f"/staff/screenings/{ident}"))  # Back: no staff page
    [event] = audit_events(app, "handed_to_patient")
    assert (event.user_id, event.screening_id) == (staff["intake"].id, ident)
    welcome = device.get(path)
    assert welcome.status_code == 200
    assert welcome.headers["Cache-Control"] == "no-store"
    body = page(welcome).find("body")
    assert int(body.attrs["data-kiosk-idle"]) == app.config["SCREENING_KIOSK_IDLE_MINUTES"] * 60
    assert page(welcome).find("form", id="kiosk-end").attrs["action"] == "/kiosk/end"


def test_the_patient_answers_and_ending_the_visit_shows_nothing(app, staff):
    device, ident, path = hand_over(app, staff)
    response = device.post(f"{path}/start")
    assert response.status_code == 303
    step_path = location(response)
    assert device.get(step_path).status_code == 200
    q = questionnaire(app)
    step_id = step_path.rsplit("/", 1)[1]
    answers = example(app, "low tier")
    response = device.post(step_path, data=step_data(q.step_by_id[step_id], answers))
    assert response.status_code == 303
    assert row(app, Screening, ident)["status"] == "in_progress"
    visited = [path, step_path, location(response), f"{path}/review"]

    response = device.post("/kiosk/end")
    assert response.status_code == 303 and location(response) == "/kiosk"
    done = device.get("/kiosk")
    assert done.status_code == 200
    assert "Please return this device to the front desk." in page(done).find("main").text
    assert_shows_nothing_of_the_patient(done)
    for url in visited:  # the Back button, or the browser's history
        response = device.get(url)
        assert response.status_code in (404, 410), url
        assert "Please return this device" in page(response).find("main").text, url
        assert_shows_nothing_of_the_patient(response)
    with device.session_transaction() as session:
        assert session.get("kiosk_device") is True
        assert not set(session) & {"kiosk", "submitted", "_user_id", "login_at", "seen_at"}
    # The answers are kept: staff can give the patient a new link later.
    assert row(app, Screening, ident)["status"] == "in_progress"


def test_a_device_left_alone_returns_to_the_neutral_page(app, staff):
    device, ident, path = hand_over(app, staff)
    idle = app.config["SCREENING_KIOSK_IDLE_MINUTES"] * 60
    with device.session_transaction() as session:
        session["kiosk"] = {**session["kiosk"], "seen": int(time.time()) - idle + 60}
    assert device.get(path).status_code == 200  # within the limit, and seen again now
    with device.session_transaction() as session:
        assert session["kiosk"]["seen"] >= int(time.time()) - 5
        session["kiosk"] = {**session["kiosk"], "seen": int(time.time()) - idle - 60}
    response = device.get(path)
    assert response.status_code == 303 and location(response) == "/kiosk"
    assert_shows_nothing_of_the_patient(device.get("/kiosk"))
    response = device.get(path)
    assert response.status_code == 410  # replaced when the visit ended
    assert_shows_nothing_of_the_patient(response)
    assert row(app, Screening, ident)["status"] == "invited"


def test_hand_over_of_a_closed_screening_keeps_the_staff_session(app, staff):
    ident, _ = factories.submitted(app, "low tier", name=NAME)
    device = signed_in(app.test_client(), staff["intake"])
    response = device.post(f"/staff/screenings/{ident}/hand-over")
    assert response.status_code == 303
    assert location(response) == f"/staff/screenings/{ident}"
    assert is_signed_in(device)
    assert "This screening is submitted." in page(device.get(location(response))).text
    assert audit_events(app, "handed_to_patient") == []


def test_after_submitting_on_the_device_the_patient_can_finish(app, staff):
    device, ident, path = hand_over(app, staff)
    token = path.rsplit("/", 1)[1]
    walk(device, app, token, example(app, "low tier"))
    response = device.post(f"{path}/submit")
    assert response.status_code == 303
    result = page(device.get(location(response))).find("main")
    finish = [f for f in result.find_all("form") if f.attrs.get("action") == "/kiosk/end"]
    assert finish and "I have finished" in finish[0].text
    assert "my-summary.pdf" not in str([a.attrs.get("href") for a in result.find_all("a")])


def test_a_step_page_kept_from_a_home_visit_still_ends_the_visit_on_the_device(app, staff):
    """Step pages are kept for the next patient at the same point (screening.patient.pages):
    the one seen at home has no kiosk controls, the device's has them."""
    from tests.helpers import new_screening

    home, token = app.test_client(), new_screening(app, "Home Patient")
    first_step = location(home.post(f"/s/{token}/start"))
    assert "data-kiosk-idle" not in home.get(first_step).get_data(as_text=True)
    device, _, path = hand_over(app, staff)
    step = device.get(location(device.post(f"{path}/start")))
    assert step.request.path.rsplit("/", 1)[1] == first_step.rsplit("/", 1)[1]
    assert page(step).find("form", id="kiosk-end").attrs["action"] == "/kiosk/end"
    assert "data-kiosk-idle" not in home.get(first_step).get_data(as_text=True)
