"""A re-issued link asks who is there (issue 17 §6), as the clinic sees it: a hand-over on a
clinic device records who handed it over and still asks the patient; failed checks show on the
screening's page, and a new link unlocks a locked one (audited, with who issued it)."""

from __future__ import annotations

import datetime as dt

from screening.models import Screening
from tests import factories
from tests.web.support import example, main, main_text, page, walk

from .conftest import audit_events, location, print_handout, row, set_columns, signed_in

DOB = dt.date(1958, 11, 2)
GOALS = "Dance at Pilar's wedding"


def started(app) -> tuple[int, str]:
    """A screening whose patient saved every step through their e-mailed link."""
    ident, token = factories.screening(app, "Rosa Relink", patient_dob=DOB)
    answers = {**example(app, "low tier"), "goals": GOALS}
    assert walk(app.test_client(), app, token, answers).endswith("/review")
    return ident, token


def wrong_tries(client, path: str, count: int) -> None:
    for _ in range(count):
        response = client.post(f"{path}/confirm", data={"day": "1", "month": "1", "year": "1950"})
        assert response.status_code in (403, 422)


def test_a_hand_over_records_the_staff_member_and_still_asks_the_patient(app, staff):
    ident, _ = started(app)
    device = signed_in(app.test_client(), staff["intake"])
    response = device.post(f"/staff/screenings/{ident}/hand-over")
    path = location(response)
    [event] = audit_events(app, "handed_to_patient")
    assert (event.user_id, event.screening_id, event.detail) == (staff["intake"].id, ident,
                                                                 "link 2")
    screening = row(app, Screening, ident)
    assert (screening["link_number"], screening["link_issued_by_id"]) == (2, staff["intake"].id)

    welcome = device.get(path)
    assert welcome.status_code == 303 and location(welcome) == f"{path}/confirm"
    check = device.get(f"{path}/confirm")
    assert main(check).find("h1").text == "Please confirm your date of birth"
    assert GOALS not in check.get_data(as_text=True)
    assert page(check).find("form", id="kiosk-end") is not None  # the visit can still end

    response = device.post(f"{path}/confirm", data={"day": "2", "month": "11", "year": "1958"})
    assert location(response) == path
    assert GOALS in main_text(device.get(f"{path}/review"))
    [confirmed] = audit_events(app, "identity_confirmed")
    assert confirmed.detail == f"link 2, issued by user {staff['intake'].id} (dob)"


def test_the_screening_page_shows_failed_checks_and_a_new_link_unlocks(app, staff):
    ident, _ = started(app)
    intake = signed_in(app.test_client(), staff["intake"])
    assert "Identity check" not in main_text(intake.get(f"/staff/screenings/{ident}"))

    handout = print_handout(intake, ident)
    token = page(handout).find("span", class_="handout-link").text.rsplit("/s/", 1)[1]
    path = f"/s/{token}"
    stranger = app.test_client()
    assert location(stranger.get(path)) == f"{path}/confirm"

    wrong_tries(stranger, path, 2)
    shown = main_text(intake.get(f"/staff/screenings/{ident}"))
    assert "Identity check Failed 2 times" in shown and "locked" not in shown
    wrong_tries(stranger, path, 3)
    shown = main_text(intake.get(f"/staff/screenings/{ident}"))
    assert "Failed 5 times; this link is locked. A new link unlocks it." in shown
    clinician = signed_in(app.test_client(), staff["clinician"])
    assert "Failed 5 times" in main_text(clinician.get(f"/staff/screenings/{ident}"))

    intake.post(f"/staff/screenings/{ident}/handout")
    assert row(app, Screening, ident)["identity_failures"] == 0
    [reset] = audit_events(app, "identity_check_reset")
    assert (reset.user_id, reset.screening_id, reset.detail) == (
        staff["intake"].id, ident, "link 3, after 5 wrong tries")
    shown = main_text(intake.get(f"/staff/screenings/{ident}"))
    assert "Failed 5 times" in shown and "locked" not in shown  # the count is of every link


def test_an_e_mail_that_fails_keeps_the_link_and_its_wrong_tries(app, staff, dead_port):
    ident, _ = started(app)
    intake = signed_in(app.test_client(), staff["intake"])
    intake.post(f"/staff/screenings/{ident}/hand-over")
    before = row(app, Screening, ident)
    set_columns(app, Screening, ident, patient_email="rosa@patients.example",
                identity_failures=3)
    app.config["SCREENING_SMTP_PORT"] = dead_port.port
    intake = signed_in(app.test_client(), staff["intake"])
    intake.post(f"/staff/screenings/{ident}/send")
    after = row(app, Screening, ident)
    assert (after["token_hash"], after["link_number"], after["identity_failures"]) == (
        before["token_hash"], 2, 3)
    assert audit_events(app, "identity_check_reset") == []
