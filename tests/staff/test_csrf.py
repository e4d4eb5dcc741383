"""With CSRF protection on (as in production): every staff POST needs the session's token."""

from __future__ import annotations

from screening.models import Screening
from tests import factories
from tests.web.support import page

from .conftest import (
    audit_events,
    csrf_from,
    is_signed_in,
    location,
    make_user,
    row,
    signed_in,
    snapshot,
    token_of,
)
from .test_invitations import invitation_form
from .test_permissions import MATRIX, make_api_key

GOOD = "Quiet-River-Lantern-92"


def post_routes(app, screening_id: int, user_id: int, key_id: int = 0, event_id: int = 0,
                ack_id: int = 0) -> dict[str, str]:
    values = {"screening_id": screening_id, "user_id": user_id, "key_id": key_id,
              "event_id": event_id, "ack_id": ack_id, "token": "a-reset-link-token"}
    routes = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("staff.") and "POST" in rule.methods:
                args = {k: values[k] for k in rule.arguments}
                routes[rule.endpoint] = rule.build(args, append_unknown=False)[1]
    return routes


FORM_DATA = {
    "staff.new_invitation": invitation_form(send_email="y"),
    "staff.extend": {"days": "7"},
    "staff.users": {"email": "new@clinic.example", "roles": ["intake"], "password": GOOD},
    "staff.api_keys": {"name": "Hospital EHR", "scopes": ["screenings:read"]},
    "staff.sites": {"name": "South Clinic"},
    "staff.user_sites": {"all_sites": "y"},
    "staff.review": {"note": "Seen."},
    "staff.record_surgery": {"status": "cancelled", "replaces": ""},
}


def test_every_staff_post_without_a_token_is_400_and_changes_nothing(
    csrf, app, staff, smtp_server
):
    ident, token = factories.screening(app, patient_email="ann@patients.example")
    flagged, _ = factories.submitted(app, "self-harm")
    target = make_user(app, "target@clinic.example", ["intake"])
    event_id, ack_id = factories.acknowledged_flag(app, flagged, staff["clinician"].id)
    routes = post_routes(app, ident, target.id, make_api_key(app), event_id, ack_id)
    for endpoint in ("staff.acknowledge", "staff.withdraw_acknowledgement"):  # a flag's
        routes[endpoint] = routes[endpoint].replace(f"/screenings/{ident}/",
                                                    f"/screenings/{flagged}/")
    assert set(routes) == {
        "staff.login", "staff.logout", "staff.new_invitation", "staff.send", "staff.extend",
        "staff.revoke", "staff.handout", "staff.hand_over", "staff.acknowledge",
        "staff.invitation_email_test",
        "staff.withdraw_acknowledgement", "staff.review", "staff.undo_review",
        "staff.refresh_pdf", "staff.users",
        "staff.disable_user", "staff.enable_user", "staff.user_sites", "staff.sites",
        "staff.api_keys", "staff.revoke_api_key",
        "staff.login_code", "staff.change_password", "staff.enrol_two_factor",
        "staff.renew_recovery_codes", "staff.reset_password", "staff.reset_two_factor",
        "staff.set_password", "staff.clinic_answers", "staff.record_surgery"}
    clients = {role: signed_in(app.test_client(), who) for role, who in staff.items()}
    before = snapshot(app)
    for endpoint, url in routes.items():
        role = sorted(MATRIX.get(endpoint) or {"intake"})[0]
        client = clients[role]
        for bad in ({}, {"csrf_token": "not-the-token"}, {"csrf_token": token_of(
                app.test_client(), "/staff/login")}):
            response = client.post(url, data={**FORM_DATA.get(endpoint, {}), **bad})
            assert response.status_code == 400, (endpoint, bad, response.status_code)
            assert "Please try again" in page(response).find("main").text
            assert is_signed_in(client), endpoint
    assert snapshot(app) == before
    assert smtp_server.messages == []
    assert row(app, Screening, ident)["status"] == "invited"

    anonymous = app.test_client()
    response = anonymous.post("/staff/login", data={"email": staff["admin"].email,
                                                    "password": staff["admin"].password})
    assert response.status_code == 400 and not is_signed_in(anonymous)
    assert snapshot(app) == before


def test_with_the_token_the_same_posts_work(csrf, app, staff, smtp_server):
    ident, _ = factories.screening(app, patient_email="ann@patients.example")
    client = app.test_client()
    login_page = client.get("/staff/login")
    response = client.post("/staff/login", data={
        "email": staff["intake"].email, "password": staff["intake"].password,
        "csrf_token": csrf_from(login_page)})
    assert response.status_code == 303
    token = token_of(client, f"/staff/screenings/{ident}")
    response = client.post(f"/staff/screenings/{ident}/extend", data={"days": "7",
                                                                      "csrf_token": token})
    assert response.status_code == 303
    response = client.post(f"/staff/screenings/{ident}/send", data={"csrf_token": token})
    assert response.status_code == 303 and len(smtp_server.messages) == 1
    response = client.post("/staff/invitations/new",
                           data={**invitation_form(), "csrf_token": token})
    assert response.status_code == 303 and location(response).startswith("/staff/screenings/")
    assert [e.action for e in audit_events(app)][-3:] == [
        "invitation_extended", "invitation_sent", "invitation_created"]
    response = client.post("/staff/logout", data={"csrf_token": token})
    assert response.status_code == 303 and not is_signed_in(client)


def test_the_login_form_carries_a_token(csrf, app, client, staff):
    response = client.get("/staff/login")
    assert csrf_from(response)
    assert page(response).find("input", name="csrf_token").attrs["type"] == "hidden"
