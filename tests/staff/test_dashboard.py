"""The screenings list: filters, search, sorting, pagination, red flags first for clinicians."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from screening.domain import invitations, questionnaires
from screening.extensions import db
from screening.models import Screening, utcnow
from tests import factories
from tests.web.support import page

from .conftest import audit_events, row, set_columns, signed_in

BASE = (utcnow() - dt.timedelta(days=40)).replace(hour=12, minute=0, second=0, microsecond=0)


def day(n: int) -> dt.datetime:
    return BASE + dt.timedelta(days=n)


def names(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    body = page(response).find("tbody")
    return [tr.find("a").text for tr in body.find_all("tr") if tr.find("a") is not None]


@pytest.fixture
def people(app) -> dict[str, int]:
    """Seven screenings, one per situation, invited on different days (Eve first)."""
    ids = {}
    ids["Eve Evans"], _ = factories.screening(app, "Eve Evans", created=day(0), days=60,
                                           surgeon="Dr. B")
    factories.submit_example(app, ids["Eve Evans"], "self-harm")  # low tier, red flag
    for n, (name, surgeon, mrn) in enumerate(
        [("Alice Adams", "Dr. A", "MRN-1"), ("Bob Brown", "Dr. B", "MRN-2"),
         ("Carl Clark", "Dr. A", "MRN-3"), ("Dana Dole", None, "MRN-4"),
         ("Gail Green", "Dr. B", "MRN-5"), ("alan alder", None, "ALAN-9")], start=1):
        ids[name], _ = factories.screening(app, name, created=day(n), days=60, surgeon=surgeon,
                                        patient_mrn=mrn)
    ids["Finn Ford"], _ = factories.screening(app, "Finn Ford", created=day(7), days=1)  # expired
    set_columns(app, Screening, ids["Bob Brown"], status="in_progress", started_at=day(3))
    factories.submit_example(app, ids["Carl Clark"], "low tier")
    factories.submit_example(app, ids["Dana Dole"], "high tier")
    set_columns(app, Screening, ids["Gail Green"], status="revoked", revoked_at=day(6))
    return ids


ALL_NEWEST_FIRST = ["Finn Ford", "alan alder", "Gail Green", "Dana Dole", "Carl Clark",
                    "Bob Brown", "Alice Adams", "Eve Evans"]


def test_the_intake_list_is_newest_first(app, client, staff, people):
    signed_in(client, staff["intake"])
    assert names(client.get("/staff/")) == ALL_NEWEST_FIRST


def test_clinicians_see_unacknowledged_red_flags_first(app, client, staff, people):
    signed_in(client, staff["clinician"])
    response = client.get("/staff/")
    assert names(response) == ["Eve Evans", *ALL_NEWEST_FIRST[:-1]]
    first = page(response).find("tbody").find("tr")
    assert "row-flag" in first.attrs.get("class", "")
    assert "Same day: Thoughts of self-harm Open" in " ".join(first.text.split())
    # Also under any sort, and on top of a filter.
    assert names(client.get("/staff/?sort=name&order=asc"))[0] == "Eve Evans"
    assert names(client.get("/staff/?status=submitted"))[0] == "Eve Evans"

    eve = people["Eve Evans"]
    [flag] = factories.flag_event_ids(app, eve)
    acknowledge = f"/staff/screenings/{eve}/flags/{flag}/acknowledge"
    response = client.post(acknowledge, data={"note": "Phoned her; safe, seeing her GP today."})
    assert response.status_code == 303
    s = row(app, Screening, eve)
    assert s["acknowledged_by_id"] == staff["clinician"].id
    assert abs(s["acknowledged_at"] - utcnow()) < dt.timedelta(minutes=1)
    [event] = audit_events(app, "red_flag_acknowledged")
    assert (event.user_id, event.screening_id) == (staff["clinician"].id, eve)
    detail = page(client.get(f"/staff/screenings/{eve}")).find("main").text
    assert "Acknowledged" in detail and "by clinician@clinic.example" in detail
    assert "Phoned her; safe, seeing her GP today." in detail

    response = client.get("/staff/")
    assert names(response) == ALL_NEWEST_FIRST  # back in its place
    assert "Acknowledged" in page(response).find("tbody").find_all("tr")[-1].text
    # A second acknowledgement changes nothing; a flag of another screening is not found.
    client.post(acknowledge, data={"note": "Again."})
    carl = people["Carl Clark"]
    assert client.post(f"/staff/screenings/{carl}/flags/{flag}/acknowledge",
                       data={"note": "x"}).status_code == 404
    assert len(audit_events(app, "red_flag_acknowledged")) == 1
    assert row(app, Screening, eve)["acknowledged_at"] == s["acknowledged_at"]
    assert row(app, Screening, carl)["acknowledged_at"] is None


FILTERS = {
    "status=invited": ["alan alder", "Alice Adams"],
    "status=in_progress": ["Bob Brown"],
    "status=submitted": ["Eve Evans", "Dana Dole", "Carl Clark"],
    "status=expired": ["Finn Ford"],
    "status=revoked": ["Gail Green"],
    "tier=high": ["Dana Dole"],
    "tier=low": ["Eve Evans", "Carl Clark"],
    "tier=moderate": [],
    "flag=yes": ["Eve Evans"],
    "flag=open": ["Eve Evans"],
    "surgeon=Dr.+A": ["Carl Clark", "Alice Adams"],
    "surgeon=Dr.+B&status=submitted": ["Eve Evans"],
    "q=al": ["alan alder", "Alice Adams"],
    "q=AL": ["alan alder", "Alice Adams"],
    "q=alice+ad": ["Alice Adams"],
    "q=Adams": [],  # the start of the name, not any part
    "q=MRN-3": ["Carl Clark"],
    "q=mrn-3": [],  # the MRN exactly
    "q=%25": [],
    "q=_": [],
    "q=Eve&status=submitted&tier=low&flag=open": ["Eve Evans"],
}


def test_filters(app, client, staff, people):
    signed_in(client, staff["clinician"])
    for query, expected in FILTERS.items():
        assert names(client.get(f"/staff/?{query}")) == expected, query


def test_date_range_is_by_invitation_day(app, client, staff, people):
    signed_in(client, staff["clinician"])
    d = {n: day(n).date().isoformat() for n in range(8)}
    got = names(client.get(f"/staff/?date_from={d[2]}&date_to={d[4]}"))
    assert got == ["Dana Dole", "Carl Clark", "Bob Brown"]
    assert names(client.get(f"/staff/?date_from={d[6]}")) == ["Finn Ford", "alan alder"]
    assert names(client.get(f"/staff/?date_to={d[0]}")) == ["Eve Evans"]
    assert names(client.get(f"/staff/?date_from={d[5]}&date_to={d[1]}")) == []


def test_sorting_by_name(app, client, staff, people):
    signed_in(client, staff["intake"])
    ascending = names(client.get("/staff/?sort=name&order=asc"))
    assert ascending == sorted(ALL_NEWEST_FIRST, key=str.lower)
    assert names(client.get("/staff/?sort=name&order=desc")) == ascending[::-1]
    header = page(client.get("/staff/?sort=name&order=asc")).find(
        "th", **{"aria-sort": "ascending"})
    assert header is not None and header.find("a").text.startswith("Patient")


def test_intake_sees_only_the_status_filters(app, client, staff, people):
    signed_in(client, staff["intake"])
    assert names(client.get("/staff/?status=expired")) == ["Finn Ford"]
    assert names(client.get("/staff/?q=MRN-3")) == ["Carl Clark"]
    assert names(client.get("/staff/?tier=high")) == ALL_NEWEST_FIRST  # ignored for intake


def sixty_patients(app) -> None:
    """Patient 001 ... Patient 060 of Dr. P, invited a minute apart."""
    with app.app_context():
        definition = questionnaires.store_in_force()
        for n in range(1, 61):
            invitations.create_screening(definition, patient_name=f"Patient {n:03d}", link_days=14,
                                      now=day(0) + dt.timedelta(minutes=n), surgeon="Dr. P")
        db.session.commit()
        db.session.remove()


def test_pagination_25_per_page(app, client, staff):
    sixty_patients(app)
    signed_in(client, staff["intake"])
    query = "sort=name&order=asc&surgeon=Dr.+P"
    pages = [names(client.get(f"/staff/?{query}&page={p}")) for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [25, 25, 10]
    assert sum(pages, []) == [f"Patient {n:03d}" for n in range(1, 61)]
    response = client.get(f"/staff/?{query}&page=2")
    main = page(response).find("main")
    assert "60 screenings, page 2 of 3" in main.text
    for rel, number in (("prev", "1"), ("next", "3")):
        args = parse_qs(urlsplit(main.find("a", rel=rel).attrs["href"]).query)
        assert args["page"] == [number] and args["sort"] == ["name"]
        assert args["order"] == ["asc"] and args["surgeon"] == ["Dr. P"]
    assert names(client.get(f"/staff/?{query}&page=99")) == pages[2]  # past the end: the last
    assert names(client.get("/staff/?page=1")) == [f"Patient {n:03d}" for n in range(60, 35, -1)]


def test_a_red_flag_stands_first_once_among_many_pages(app, client, staff):
    with app.app_context():
        definition = questionnaires.store_in_force()
        for n in range(1, 61):
            invitations.create_screening(definition, patient_name=f"Patient {n:03d}", link_days=14,
                                      now=day(1) + dt.timedelta(minutes=n))
        db.session.commit()
        db.session.remove()
    flagged, _ = factories.screening(app, "Fay Flagged", created=day(0))
    factories.submit_example(app, flagged, "self-harm")
    signed_in(client, staff["clinician"])
    pages = [names(client.get(f"/staff/?page={p}")) for p in (1, 2, 3)]
    listed = sum(pages, [])
    assert pages[0][0] == "Fay Flagged"
    assert sorted(listed) == ["Fay Flagged"] + [f"Patient {n:03d}" for n in range(1, 61)]
    assert "61 screenings" in page(client.get("/staff/")).find("main").text


BAD = [
    "page=abc", "page=-5", "page=0", "page=99999999999999999999", "page=1e3",
    "date_from=garbage", "date_to=2030-02-30", "date_from=%00", "date_from=2030-13-01",
    "sort=evil", "sort=total", "order=evil", "status=evil", "tier=evil", "flag=evil",
    "surgeon=" + "x" * 5000, "q=" + "y" * 5000, "q=%27%3B+DROP+TABLE+screenings%3B--",
    "q=%5C", "status=expired&status=invited", "page=", "sort=", "q=%F0%9F%98%80",
]


def test_bad_filter_input_never_fails(app, client, staff, people):
    for role in ("intake", "clinician"):
        signed_in(client, staff[role])
        for query in BAD:
            response = client.get(f"/staff/?{query}")
            assert response.status_code == 200, (role, query)
        client.post("/staff/logout")
    signed_in(client, staff["clinician"])
    main = page(client.get("/staff/?date_from=garbage")).find("main")
    assert "'garbage' is not a date like 2026-01-31; it was ignored." in main.text
    assert names(client.get("/staff/?date_from=garbage&sort=evil")) == names(client.get("/staff/"))
