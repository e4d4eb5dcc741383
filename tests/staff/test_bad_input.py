"""No input makes the clinic's side answer 5xx: ids beyond what the database holds, control
characters in form fields, huge page numbers, a `next` with a line break. Every test runs on
SQLite and PostgreSQL (which refuses what SQLite lets through: NUL in text, ids above 2^31-1)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.models import LARGEST_ID, Screening
from tests import factories

from .conftest import make_user, scalars, set_columns, signed_in

EVERY_ROLE = ["intake", "clinician", "admin"]


@pytest.fixture
def everyone(app, client):
    """Signed in with every role, so that only the input decides the answer."""
    return signed_in(client, make_user(app, "all@clinic.example", EVERY_ROLE))


def id_rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules()
                   if r.endpoint.startswith("staff.") and "<id:" in r.rule),
                  key=lambda r: r.rule)  # fmt: skip


def test_every_route_with_an_id_exists(app):
    names = {r.endpoint for r in id_rules(app)}
    assert {"staff.screening", "staff.summary_pdf", "staff.fhir_bundle", "staff.rescore",
            "staff.send", "staff.revoke", "staff.enable_user", "staff.revoke_api_key",
            "staff.acknowledge"} <= names  # fmt: skip


@pytest.mark.parametrize("ident", [LARGEST_ID + 1, 2**63, 10**30, 0])
def test_an_id_the_database_cannot_hold_is_not_found(app, client, everyone, ident):
    for rule in id_rules(app):
        url = rule.build({name: ident for name in rule.arguments}, append_unknown=False)[1]
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method)
        assert response.status_code == 404, (method, url, response.status_code)


def test_the_largest_id_is_an_ordinary_missing_screening(app, client, everyone):
    assert client.get(f"/staff/screenings/{LARGEST_ID}").status_code == 404


NUL = "\x00"
CONTROL = ["\x00", "\x1b", "\x7f", "\u0085"]


@pytest.mark.parametrize("character", CONTROL)
def test_a_control_character_in_the_login_form_is_a_form_error(app, client, character):
    response = client.post("/staff/login", data={"email": f"a{character}b@clinic.example",
                                                 "password": "whatever it is"})  # fmt: skip
    assert response.status_code == 422
    assert "Remove the control characters" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("/staff/invitations/new", {"patient_name": f"Ann{NUL}Example", "patient_dob": "1960-04-30",
                                    "link_days": "14", "language": "en"}, "patient_name"),
        ("/staff/invitations/new", {"patient_name": "Ann Example", "patient_dob": "1960-04-30",
                                    "link_days": "14", "language": "en",
                                    "surgeon": f"Dr{NUL}"}, "surgeon"),
        ("/staff/users", {"email": "new@clinic.example", "name": f"New{NUL}", "roles": ["intake"],
                          "password": "a long and unusual passphrase 42"}, "name"),
        ("/staff/api-keys", {"name": f"Hospital{NUL}EHR"}, "name"),
    ],
)  # fmt: skip
def test_a_nul_in_a_staff_form_is_a_form_error_and_saves_nothing(
    app, client, everyone, path, data, field
):
    response = client.post(path, data=data)
    assert response.status_code in (200, 422), response.status_code
    assert "Remove the control characters" in response.get_data(as_text=True), field
    assert NUL not in response.get_data(as_text=True)


def test_a_nul_in_an_acknowledgement_note_is_refused(app, client, everyone):
    from tests.web.support import example

    from .conftest import answered_until_mood

    ident, _, _ = answered_until_mood(app, {**example(app, "self-harm"), "phq9_9": 1})
    panel = client.get(f"/staff/screenings/{ident}").get_data(as_text=True)
    event_id = int(panel.split("/flags/")[1].split("/")[0])
    response = client.post(f"/staff/screenings/{ident}/flags/{event_id}/acknowledge",
                           data={"note": f"Phoned{NUL}"}, follow_redirects=True)  # fmt: skip
    assert response.status_code == 200
    assert "Remove the control characters" in response.get_data(as_text=True)
    assert "Acknowledged 20" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    ["page=99999999999999999999", "page=-5", "page=%D9%A1", "screening=99999999999999999999",
     "screening=%C2%B2", "user=a%00b", "since=99999-01-01", "action=%00"],
)  # fmt: skip
def test_the_audit_filter_leaves_out_what_it_cannot_use(app, client, everyone, query):
    response = client.get(f"/staff/audit?{query}")
    assert response.status_code == 200
    assert NUL not in response.get_data(as_text=True)


@pytest.mark.parametrize(("page", "read"), [("1_0", 1), ("١٠", 1), ("1e3", 1), ("9" * 5000, 1),
                                           ("10", 10), (" １０ ", 10), ("-3", 1)])
def test_a_page_number_is_digits_only_or_the_first_page(app, client, everyone, page, read):
    from werkzeug.datastructures import MultiDict

    from screening.domain import listing

    assert listing.Filters.from_args(MultiDict({"page": page}), True, ()).page == read
    for path in ("/staff/", "/staff/audit"):
        assert client.get(path, query_string={"page": page}).status_code == 200, path


@pytest.mark.parametrize("query", ["page=99999999999999999999", "q=a%00b", "surgeon=%00",
                                   "created_from=0000-00-00", "sort=%00", "tier=%0a"])
def test_the_dashboard_filters_never_fail(app, client, everyone, query):
    assert client.get(f"/staff/?{query}").status_code in (200, 400)


@pytest.mark.parametrize("target", ["/staff/%0d%0aSet-Cookie:%20x=1", "/staff/\\\\evil.example",
                                    "//evil.example/staff/", "https://evil.example/staff/"])
def test_a_next_page_that_could_leave_or_break_the_headers_is_ignored(app, client, target):
    user = make_user(app, "next@clinic.example", ["clinician"])
    response = client.post(f"/staff/login?next={target}",
                           data={"email": user.email, "password": user.password})  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"


@pytest.mark.parametrize("days", ["1_0", "١٠", "1e1", "0x0a", "9" * 5000])
def test_days_are_digits_only(app, client, everyone, days):
    response = client.post("/staff/invitations/new", data={
        "patient_name": "Ann Example", "patient_dob": "1960-04-30", "link_days": days,
        "language": "en"})  # fmt: skip
    assert response.status_code == 422
    assert "Enter a whole number, using digits only." in response.get_data(as_text=True)


def test_full_width_days_are_days(app, client, everyone):
    response = client.post("/staff/invitations/new", data={
        "patient_name": "Ann Example", "patient_dob": "1960-04-30", "link_days": " １０ ",
        "language": "en"})  # fmt: skip
    assert response.status_code == 303


RLO, PDF_ = "\u202e", "\u202c"


def test_format_characters_are_taken_out_of_staff_fields_silently(app, client, everyone):
    response = client.post("/staff/invitations/new", data={
        "patient_name": f"Ann {RLO}elpmaxE{PDF_}\u200b", "patient_dob": "1960-04-30",
        "surgeon": "Dr.\u2066 Joan\u2069", "link_days": "14", "language": "en"})  # fmt: skip
    assert response.status_code == 303
    [made] = scalars(app, sa.select(Screening))
    assert (made.patient_name, made.surgeon) == ("Ann elpmaxE", "Dr. Joan")


def test_a_name_stored_with_an_override_is_shown_without_it(app, client, everyone):
    ident, _ = factories.screening(app, "Ann Example")
    set_columns(app, Screening, ident, patient_name=f"Ann {RLO}elpmaxE{PDF_}")  # stored before
    text = client.get(f"/staff/screenings/{ident}").get_data(as_text=True)
    assert "Ann elpmaxE" in text
    assert RLO not in text and PDF_ not in text
    assert RLO not in client.get("/staff/?q=Ann").get_data(as_text=True)


def test_a_screening_made_outside_a_form_loses_format_characters_too(app):
    from screening.domain import invitations, questionnaires

    with app.app_context():
        made, _ = invitations.create_screening(
            questionnaires.store_in_force(), patient_name=f"Ann {RLO}elpmaxE{PDF_}",
            link_days=14, surgeon="Dr.\u200b Joan",
        )  # fmt: skip
        assert (made.patient_name, made.surgeon) == ("Ann elpmaxE", "Dr. Joan")


def test_an_acknowledgement_note_loses_format_characters(app, client, everyone):
    from screening.models import FlagAcknowledgement
    from tests.web.support import example

    from .conftest import answered_until_mood

    ident, _, _ = answered_until_mood(app, {**example(app, "self-harm"), "phq9_9": 1})
    panel = client.get(f"/staff/screenings/{ident}").get_data(as_text=True)
    event_id = int(panel.split("/flags/")[1].split("/")[0])
    response = client.post(f"/staff/screenings/{ident}/flags/{event_id}/acknowledge",
                           data={"note": f"Phoned {RLO}tneitap{PDF_}"})  # fmt: skip
    assert response.status_code == 303
    [made] = scalars(app, sa.select(FlagAcknowledgement))
    assert made.note == "Phoned tneitap"
