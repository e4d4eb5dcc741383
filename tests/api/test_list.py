"""GET /api/v1/screenings: the dashboard's filters and order, a page at a time, 400 on bad input."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

from screening.models import Screening, utcnow
from tests import factories
from tests.staff.conftest import audit_events, set_columns, signed_in
from tests.staff.test_dashboard import FILTERS, day, names, sixty_patients

from .conftest import call, ok

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def listed(client, key, query: str = "") -> list[str]:
    body = ok(call(client, f"/screenings?{query}", key))
    return [item["patient"]["name"] for item in body["items"]]


def test_every_dashboard_filter_gives_the_clinicians_list(app, client, staff, people, api_key):
    signed_in(client, staff["clinician"])
    for query, expected in FILTERS.items():
        assert names(client.get(f"/staff/?{query}")) == expected, query
        assert listed(client, api_key, query) == expected, query
    for query in ("", "sort=name&order=asc", "sort=total&order=desc", "sort=surgery",
                  "sort=submitted&order=asc", "status=submitted&sort=created&order=asc"):
        assert listed(client, api_key, query) == names(client.get(f"/staff/?{query}")), query
    assert listed(client, api_key)[0] == "Eve Evans"  # an unacknowledged red flag first


def test_date_ranges(app, client, staff, people, api_key):
    signed_in(client, staff["clinician"])
    d = {n: day(n).date().isoformat() for n in range(8)}
    for first, last in ((2, 4), (6, None), (None, 0), (5, 1)):
        dashboard = "&".join(
            ([f"date_from={d[first]}"] if first is not None else [])
            + ([f"date_to={d[last]}"] if last is not None else []))
        api = dashboard.replace("date_from", "created_from").replace("date_to", "created_to")
        assert listed(client, api_key, api) == names(client.get(f"/staff/?{dashboard}")), api
    # Submitted days: Eve, Carl and Dana were submitted now; move Carl's back.
    set_columns(app, Screening, people["Carl Clark"], submitted_at=day(3))
    today = utcnow().date()
    assert sorted(listed(client, api_key, f"submitted_from={d[3]}&submitted_to={d[3]}")) == [
        "Carl Clark"]
    assert sorted(listed(client, api_key, f"submitted_from={today - dt.timedelta(days=1)}")) == [
        "Dana Dole", "Eve Evans"]
    assert listed(client, api_key, f"submitted_to={d[2]}") == []
    assert listed(client, api_key, "submitted_to=9999-12-31&created_from=0001-01-01") == [
        "Eve Evans", "Dana Dole", "Carl Clark"]


def test_items_carry_the_listed_fields(app, client, people, api_key):
    set_columns(app, Screening, people["Alice Adams"], patient_dob=dt.date(1960, 5, 17),
                planned_surgery="L4-L5 discectomy", surgery_date=dt.date(2027, 1, 15))
    body = ok(call(client, "/screenings?q=MRN-1", api_key))
    [alice] = body["items"]
    assert alice == {
        "id": people["Alice Adams"],
        "reference": f"S-{people['Alice Adams']:06d}",
        "status": "invited",
        "questionnaire": {"id": "fbss-preop", "version": alice["questionnaire"]["version"]},
        "patient": {"name": "Alice Adams", "date_of_birth": "1960-05-17", "mrn": "MRN-1"},
        "surgeon": "Dr. A",
        "planned_surgery": "L4-L5 discectomy",
        "surgery_date": "2027-01-15",
        "language": "en",
        "created_at": alice["created_at"],
        "started_at": None,
        "submitted_at": None,
        "expires_at": alice["expires_at"],
        "tier": None,
        "total": None,
        "has_red_flag": False,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "reviewed_at": None,
        "reviewed_by": None,
        "review_note": None,
    }
    assert alice["created_at"] == day(1).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert TIMESTAMP.match(alice["expires_at"])
    [eve] = ok(call(client, "/screenings?q=eve", api_key))["items"]
    assert (eve["status"], eve["tier"], eve["has_red_flag"]) == ("submitted", "low", True)
    assert TIMESTAMP.match(eve["submitted_at"]) and isinstance(eve["total"], int)
    # An open screening whose link ran out is listed as expired (its row still says invited).
    [finn] = ok(call(client, "/screenings?q=finn", api_key))["items"]
    assert finn["status"] == "expired"
    # The list never carries answers or assessments.
    assert "answers" not in eve and "assessment" not in eve


def test_pages(app, client, staff, api_key):
    sixty_patients(app)
    query = "sort=name&order=asc&surgeon=Dr.+P"
    pages = [ok(call(client, f"/screenings?{query}&page={p}", api_key)) for p in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [25, 25, 10]
    assert [(p["page"], p["pages"], p["total"], p["per_page"]) for p in pages] == [
        (1, 3, 60, 25), (2, 3, 60, 25), (3, 3, 60, 25)]
    everyone = [i["patient"]["name"] for p in pages for i in p["items"]]
    assert everyone == [f"Patient {n:03d}" for n in range(1, 61)]
    # The same pages as the dashboard's.
    signed_in(client, staff["clinician"])
    for number, p in enumerate(pages, start=1):
        dashboard = names(client.get(f"/staff/?{query}&page={number}"))
        assert [i["patient"]["name"] for i in p["items"]] == dashboard
    # next / previous links keep the filters.
    assert pages[0]["previous"] is None and pages[2]["next"] is None
    link = urlsplit(pages[1]["next"])
    assert link.path == "/api/v1/screenings"
    args = parse_qs(link.query)
    assert args["page"] == ["3"] and args["surgeon"] == ["Dr. P"] and args["sort"] == ["name"]
    assert parse_qs(urlsplit(pages[1]["previous"]).query)["page"] == ["1"]
    assert ok(call(client, pages[1]["next"].removeprefix("/api/v1"), api_key)) == pages[2]
    # per_page, and a page past the end is empty (a client reading until no items stops).
    small = ok(call(client, f"/screenings?{query}&per_page=7&page=9", api_key))
    assert [i["patient"]["name"] for i in small["items"]] == ["Patient 057", "Patient 058",
                                                             "Patient 059", "Patient 060"]
    assert small["pages"] == 9 and small["next"] is None
    beyond = ok(call(client, f"/screenings?{query}&page=4", api_key))
    assert beyond["items"] == [] and beyond["total"] == 60 and beyond["next"] is None
    assert parse_qs(urlsplit(beyond["previous"]).query)["page"] == ["3"]
    assert len(ok(call(client, "/screenings?per_page=100", api_key))["items"]) == 60


BAD = {
    "page=abc": "page", "page=0": "page", "page=-1": "page", "page=1.5": "page",
    "page=100001": "page", "page=99999999999999999999": "page", "page=+1": "page",
    "page=%EF%BC%91": "page",  # a full-width digit one: int() would take it
    "page=1_0": "page", "page=": "page", "per_page=0": "per_page", "per_page=101": "per_page",
    "status=open": "status", "status=": "status", "status=Submitted": "status",
    "tier=extreme": "tier", "flag=no": "flag", "flag=true": "flag",
    "sort=id": "sort", "sort=total;drop": "sort", "order=up": "order",
    "created_from=garbage": "created_from", "created_to=2030-02-30": "created_to",
    "created_from=20260131": "created_from", "submitted_from=2026-1-31": "submitted_from",
    "submitted_to=2026-01-31T00:00": "submitted_to", "created_from=%00": "created_from",
    "q=": "q", "q=%00": "q", "q=ann%00": "q", "q=" + "a" * 201: "q",
    "surgeon=": "surgeon", "surgeon=Dr%0A": "surgeon",
    "stauts=submitted": "stauts", "date_from=2026-01-01": "date_from",
    "status=submitted&status=invited": "status",
}


def test_bad_parameters_are_400_naming_them(app, client, api_key):
    for query, parameter in BAD.items():
        response = call(client, f"/screenings?{query}", api_key)
        assert response.status_code == 400, (query, response.status_code)
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert body["error"] == "bad_request" and body["parameter"] == parameter, query
        assert parameter in body["message"], query


def test_odd_but_valid_text_is_searched_not_refused(app, client, api_key):
    factories.screening(app, "Ann Example", surgeon="Dr. A")
    factories.screening(app, "Bob Brown", patient_mrn="MRN-2")
    for query in ("q=%25", "q=_", "q=%27%3B--", "q=%F0%9F%98%80", "surgeon=%22",
                  "q=%F4%8F%BF%BF", "q=%C3%A9"):
        assert ok(call(client, f"/screenings?{query}", api_key))["items"] == [], query
    assert ok(call(client, "/screenings?q=+++", api_key))["total"] == 2  # blank: no search


def test_each_list_call_is_audited_with_its_ids_and_without_the_search(app, client, api_key):
    for name in ("Alice Adams", "Bob Brown", "Carl Clark", "Dana Dole", "Eve Evans", "Finn Ford",
                 "Gail Green", "alan alder"):
        factories.screening(app, name)
    ok(call(client, "/screenings?q=alice&per_page=2", api_key))
    ok(call(client, "/screenings?page=2&per_page=5", api_key))
    assert call(client, "/screenings?page=x", api_key).status_code == 400
    events = audit_events(app, "api_listed")
    assert [e.detail for e in events] == [
        f"API key {api_key.prefix} (Hospital EHR): page 1, 1 of 1 screenings; "
        "search (5 chars) sort=created desc; ids 1",
        f"API key {api_key.prefix} (Hospital EHR): page 2, 3 of 8 screenings; "
        "sort=created desc; ids 1-3",
    ]
    for event in events:
        assert event.user_id is None and event.screening_id is None
        assert "alice" not in event.detail.lower()


def test_the_dashboard_survives_what_the_api_refuses(app, client, staff, people):
    """Found while fuzzing the API: the dashboard failed (500) on the last possible day and, on
    PostgreSQL, on a NUL in the search. It now lists, as for any other input it cannot use."""
    signed_in(client, staff["clinician"])
    assert len(names(client.get("/staff/?date_to=9999-12-31"))) == 8
    assert names(client.get("/staff/?date_from=0001-01-01&date_to=9999-12-31"))[0] == "Eve Evans"
    assert names(client.get("/staff/?q=Eve%00")) == ["Eve Evans"]
    assert len(names(client.get("/staff/?surgeon=%00"))) == 8
