"""The clinicians' CSV export of the screenings a filter selects, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from screening.exports.csv import FIXED
from tests import factories

from .conftest import audit_events, signed_in


def export(client, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/staff/export.csv{query}")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=screenings.csv"
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    response.close()  # as a WSGI server does: the spooled file is closed
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_screening_with_a_column_per_question(app, client, staff):
    high, _ = factories.submitted(app, "high tier - long", name="Hugo High")
    low, _ = factories.submitted(app, "low tier", name="Lena Low")
    invited, _ = factories.screening(app, "Ivo Invited")
    signed_in(client, staff["clinician"])
    rows = export(client)
    by_reference = {row["reference"]: row for row in rows}
    assert set(by_reference) == {f"S-{i:06d}" for i in (high, low, invited)}
    header = list(rows[0])
    assert header[: len(FIXED)] == list(FIXED)
    assert {"surgery_type", "phq9_1", "gad7_7", "bmi", "phq9", "gad7"} <= set(header)

    hugo = by_reference[f"S-{high:06d}"]
    answers = factories.example_answers(app, "high tier - long")
    assert hugo["patient_name"] == "Hugo High"
    assert (hugo["status"], hugo["tier"], hugo["total"]) == ("Finished", "high", "18")
    assert hugo["surgery_type"] == str(answers["surgery_type"])
    assert hugo["phq9_1"] == str(answers["phq9_1"])
    assert hugo["phq9"] == str(sum(answers[f"phq9_{i}"] for i in range(1, 10)))
    assert "nicotine" in hugo["factors"].split(";")
    ivo = by_reference[f"S-{invited:06d}"]
    assert (ivo["status"], ivo["tier"], ivo["surgery_type"], ivo["factors"]) == (
        "Invited", "", "", "")


def test_the_filters_of_the_list_apply(app, client, staff):
    factories.submitted(app, "high tier - long", name="Hugo High")
    factories.submitted(app, "low tier", name="Lena Low")
    signed_in(client, staff["clinician"])
    assert [r["patient_name"] for r in export(client, "?tier=high")] == ["Hugo High"]
    assert [r["patient_name"] for r in export(client, "?q=lena")] == ["Lena Low"]
    assert export(client, "?status=revoked") == []


def test_cells_that_a_spreadsheet_would_run_are_neutralised(app, client, staff):
    factories.submitted(app, "low tier", name="=HYPERLINK(\"http://evil.example\")")
    signed_in(client, staff["clinician"])
    [row] = export(client)
    assert row["patient_name"] == "'=HYPERLINK(\"http://evil.example\")"


def test_the_export_is_audited_without_any_patient_data(app, client, staff):
    lena, _ = factories.submitted(app, "low tier", name="Lena Low")
    others = [factories.submitted(app, "low tier", name=f"Other {n}")[0] for n in range(3)]
    signed_in(client, staff["clinician"])
    export(client)
    export(client, "?q=lena&status=submitted&date_from=2020-01-01")
    assert len(export(client, "?q=nobody")) == 0
    events = audit_events(app, "answers_exported")
    assert [e.user_email for e in events] == [staff["clinician"].email] * 3
    ids = sorted([lena, *others])
    assert [e.detail for e in events] == [
        f"4 screenings; sort=created desc; ids {ids[0]}-{ids[-1]}",
        f"1 screenings; status=submitted search (4 chars) date_from=2020-01-01 sort=created "
        f"desc; ids {lena}",
        "0 screenings; search (6 chars) sort=created desc; ids -",
    ]
    for event in events:
        assert "lena" not in repr((event.detail, event.user_email, event.screening_id)).lower()


def test_only_clinicians_may_export(app, client, staff):
    factories.submitted(app, "low tier")
    for role in ("intake", "admin"):
        other = app.test_client()
        signed_in(other, staff[role])
        assert other.get("/staff/export.csv").status_code == 403
    assert client.get("/staff/export.csv").status_code == 302  # to the sign-in page
    assert audit_events(app, "answers_exported") == []


def test_the_status_in_the_pages_words_the_review_and_the_acknowledgements(app, client, staff):
    from screening.models import Screening, utcnow

    from .conftest import set_columns
    from .test_review_workflow import emergency_and_same_day, flag_ids

    flagged = emergency_and_same_day(app, "Cora Cauda")
    started, _ = factories.screening(app, "Sol Started")
    set_columns(app, Screening, started, status="in_progress", started_at=utcnow())
    revoked, _ = factories.screening(app, "Rae Revoked")
    set_columns(app, Screening, revoked, status="revoked", revoked_at=utcnow())
    factories.screening(app, "Eli Expired", days=0)
    factories.screening(app, "Ivo Invited")
    signed_in(client, staff["clinician"])
    ids = flag_ids(app, flagged)
    client.post(f"/staff/screenings/{flagged}/flags/{ids['cauda_equina']}/acknowledge",
                data={"note": "Sent to the emergency department."})
    client.post(f"/staff/screenings/{flagged}/review", data={"note": "=Seen; proceed."})
    by_name = {r["patient_name"]: r for r in export(client)}
    assert {name: r["status"] for name, r in by_name.items()} == {
        "Cora Cauda": "Finished", "Sol Started": "Started", "Rae Revoked": "Revoked",
        "Eli Expired": "Expired", "Ivo Invited": "Invited"}
    cora = by_name["Cora Cauda"]
    assert sorted(cora["flags_raised"].split("; ")) == [
        "cauda_equina (emergency)", "self_harm (same_day)"]
    acknowledgement = cora["flag_acknowledgements"]
    assert acknowledgement.startswith("cauda_equina 20") and acknowledgement.endswith(
        "Z by clinician@clinic.example: Sent to the emergency department.")
    assert cora["reviewed_by"] == "clinician@clinic.example"
    assert cora["review_note"] == "'=Seen; proceed."  # a spreadsheet will not run it
    assert cora["reviewed_at"].startswith("20") and cora["reviewed_at"].endswith("+00:00")
    assert by_name["Ivo Invited"]["reviewed_at"] == by_name["Ivo Invited"]["review_note"] == ""
    # The header says so.
    assert {"reviewed_at", "reviewed_by", "review_note"} <= set(FIXED)
