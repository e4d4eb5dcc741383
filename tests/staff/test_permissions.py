"""Who may open which staff page: every staff route, for anonymous, intake, clinician and admin."""

from __future__ import annotations

from screening import queue
from screening.domain import api_keys as keys
from screening.extensions import db
from tests import factories
from tests.web.support import page, questionnaire

from .conftest import goes_to_login, is_signed_in, login, make_user, signed_in

INTAKE, CLINICIAN, ADMIN = "intake", "clinician", "admin"

# The role rules of screening/staff/views.py, written out: who may use each staff route.
MATRIX: dict[str, set[str]] = {
    "staff.home": {INTAKE, CLINICIAN},
    "staff.new_invitation": {INTAKE},
    "staff.send": {INTAKE},
    "staff.extend": {INTAKE},
    "staff.revoke": {INTAKE},
    "staff.handout": {INTAKE},
    "staff.invitation_email": {INTAKE},
    "staff.invitation_email_html": {INTAKE},
    "staff.invitation_email_test": {INTAKE},
    "staff.hand_over": {INTAKE},
    "staff.screening": {INTAKE, CLINICIAN},
    "staff.clinic_answers": {INTAKE, CLINICIAN},
    "staff.acknowledge": {CLINICIAN},
    "staff.withdraw_acknowledgement": {CLINICIAN},
    "staff.review": {CLINICIAN},
    "staff.undo_review": {CLINICIAN},
    "staff.record_surgery": {CLINICIAN},
    "staff.summary_pdf": {CLINICIAN},
    "staff.summary_version_pdf": {CLINICIAN},
    "staff.refresh_pdf": {CLINICIAN},
    "staff.fhir_bundle": {CLINICIAN},
    "staff.rescore": {CLINICIAN},
    "staff.export_csv": {CLINICIAN},
    "staff.users": {ADMIN},
    "staff.disable_user": {ADMIN},
    "staff.enable_user": {ADMIN},
    "staff.user_sites": {ADMIN},
    "staff.sites": {ADMIN},
    "staff.audit_log": {ADMIN},
    "staff.api_keys": {ADMIN},
    "staff.revoke_api_key": {ADMIN},
    "staff.reset_password": {ADMIN},
    "staff.reset_two_factor": {ADMIN},
    # one's own account: everyone signed in
    "staff.account": set(),
    "staff.change_password": set(),
    "staff.enrol_two_factor": set(),
    "staff.renew_recovery_codes": set(),
}
# Forms that an empty POST does not fill in (the page again with the form's errors, 422).
NEEDS_A_CHOICE = {"staff.record_surgery"}
# Open without signing in: the login's two steps, signing out, a reset link's page.
OPEN = {"staff.login", "staff.login_code", "staff.logout", "staff.set_password"}
TIER_WORDS = ("Risk tier", "points", "modifiable", "All answers", "Red flag", "red flag", "Tier",
              "Acknowledge", "PDF", "Low", "Moderate", "High")


def make_api_key(app, name: str = "Test client") -> int:
    with app.app_context():
        key, _ = keys.create(name)
        db.session.commit()
        return key.id


def staff_rules(app) -> list:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("staff.")]
    return sorted((r for r in rules if r.endpoint not in OPEN), key=lambda r: r.endpoint)


def method_of(rule) -> str:
    return "GET" if "GET" in rule.methods else "POST"


def urls(app, screening_id: int, user_id: int, key_id: int = 0, event_id: int = 0,
         ack_id: int = 0) -> dict[str, tuple[str, str]]:
    """endpoint -> (method, url) for every guarded staff route."""
    values = {"screening_id": screening_id, "user_id": user_id, "key_id": key_id,
              "event_id": event_id, "ack_id": ack_id, "version": 1}
    result = {}
    with app.test_request_context():
        for rule in staff_rules(app):
            path = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
            result[rule.endpoint] = (method_of(rule), path)
    return result


def test_the_matrix_is_the_views_required_roles(app):
    endpoints = {rule.endpoint for rule in staff_rules(app)}
    assert endpoints == set(MATRIX), "a staff route was added or removed: update MATRIX"
    declared = {e: set(app.view_functions[e].required_roles) for e in endpoints}
    assert declared == MATRIX
    for endpoint in OPEN:
        assert not hasattr(app.view_functions[endpoint], "required_roles")


def test_every_staff_route_for_every_role(app, staff):
    screening_id, _ = factories.submitted(app, "self-harm")
    queue.run_pending(app)  # its PDFs, rendered as a worker would
    target = make_user(app, "target@clinic.example", [INTAKE])
    event_id, ack_id = factories.acknowledged_flag(app, screening_id, staff[CLINICIAN].id)
    routes = urls(app, screening_id, target.id, make_api_key(app), event_id, ack_id)
    assert set(routes) == set(MATRIX)

    anonymous = app.test_client()
    for endpoint, (method, url) in routes.items():
        response = anonymous.open(url, method=method)
        assert goes_to_login(response), (endpoint, response.status_code)
        assert not is_signed_in(anonymous)

    seen: dict[tuple[str, str], int] = {}
    for role, who in staff.items():
        client = signed_in(app.test_client(), who)
        for endpoint, (method, url) in routes.items():
            response = client.open(url, method=method)
            response.close()  # as a WSGI server does (the CSV export is a spooled file)
            seen[role, endpoint] = response.status_code
            if role in (MATRIX[endpoint] or {INTAKE, CLINICIAN, ADMIN}):
                allowed = (200, 303, 422) if endpoint in NEEDS_A_CHOICE else (200, 303)
                assert response.status_code in allowed, (role, endpoint, response.status_code)
            else:
                assert response.status_code == 403, (role, endpoint, response.status_code)
                assert "You do not have access to this page." in response.get_data(as_text=True)
            if not is_signed_in(client):  # a hand-over ends the session: sign in again
                signed_in(client, who)
    assert seen[INTAKE, "staff.home"] == 200
    assert seen[CLINICIAN, "staff.summary_pdf"] == 200
    assert seen[CLINICIAN, "staff.summary_version_pdf"] == 200
    assert seen[ADMIN, "staff.audit_log"] == 200


def test_a_disabled_target_is_enabled_again_by_the_walk(app, staff):
    """The walk above must not leave accounts disabled: disable and enable are both 303."""
    target = make_user(app, "other@clinic.example", [CLINICIAN])
    client = signed_in(app.test_client(), staff[ADMIN])
    assert client.post(f"/staff/users/{target.id}/disable").status_code == 303
    assert client.post(f"/staff/users/{target.id}/enable").status_code == 303
    assert login(app.test_client(), target).status_code == 303


def test_intake_never_sees_answers_or_scores(app, client, staff):
    ident, _ = factories.submitted(app, "self-harm", name="Fay Flagged", patient_mrn="MRN-5")
    signed_in(client, staff[INTAKE])
    response = client.get(f"/staff/screenings/{ident}")
    assert response.status_code == 200
    text = page(response).find("main").text
    assert "Fay Flagged" in text and "Finished" in text
    for word in TIER_WORDS:
        assert word not in text, word
    html = response.get_data(as_text=True)
    assert "summary.pdf" not in html and "/acknowledge" not in html and "/review" not in html
    # No answers either: none of the questions' labels is on the page.
    for question in questionnaire(app).questions.values():
        assert question.label not in text, question.label

    response = client.get("/staff/")
    assert response.status_code == 200
    headers = [th.text.rstrip(" ▲▼") for th in page(response).find_all("th")]
    assert headers == ["Patient", "Surgeon", "Planned surgery", "Status", "Invited", "Finished"]
    html = response.get_data(as_text=True)
    assert "row-flag" not in html and "flag-marker" not in html and "tier-" not in html
    assert 'name="tier"' not in html and 'name="flag"' not in html


def test_intake_cannot_filter_or_sort_by_scores(app, client, staff):
    """Filters on tier or red flags, or sorting by the total, would reveal scores: ignored."""
    flagged, _ = factories.submitted(app, "self-harm", name="Fay Flagged")
    high, _ = factories.submitted(app, "high tier", name="Hal High")
    factories.screening(app, "Ivy Invited")
    signed_in(client, staff[INTAKE])
    plain = client.get("/staff/").get_data(as_text=True)
    for query in ("flag=yes", "flag=open", "tier=high", "tier=low", "sort=total&order=desc"):
        response = client.get(f"/staff/?{query}")
        assert response.status_code == 200
        names = [a.text for a in page(response).find("tbody").find_all("a")]
        assert names == ["Ivy Invited", "Hal High", "Fay Flagged"], query
    assert "3 screenings" in plain


def test_intake_detail_page_does_not_reveal_a_red_flag_or_its_alert(app, client, staff):
    """Neither the flag nor the alert the clinic was sent shows to intake staff."""
    app.config["SCREENING_RED_FLAG_EMAIL"] = "clinicians@clinic.example"
    ident, _ = factories.submitted(app, "self-harm", name="Fay Flagged")
    assert queue.run_pending(app) >= 1  # the alert's delivery (no mail server: it waits)
    signed_in(client, staff[INTAKE])
    text = page(client.get(f"/staff/screenings/{ident}")).find("main").text
    assert "red flag" not in text.lower() and "alert" not in text.lower()
    assert "clinicians@clinic.example" not in text
    client.post("/staff/logout")
    signed_in(client, staff[CLINICIAN])
    text = page(client.get(f"/staff/screenings/{ident}")).find("main").text
    assert "Red flags" in text and "First alert" in text and "clinicians@clinic.example" in text


def test_everyone_lands_on_a_page_they_may_open_after_signing_in(app, staff):
    for role, who in staff.items():
        client = app.test_client()
        response = login(client, who)
        assert response.status_code == 303
        assert client.get(response.headers["Location"]).status_code == 200, role
