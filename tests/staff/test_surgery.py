"""The operation as it happened, on the screening's staff page: clinicians record it (performed,
cancelled, postponed) and correct it (a new record; the one before is kept), with the form's
errors in words; intake staff see what happened and when, and cannot record; another site's
screening is not found; every record is audited."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from screening.domain import sites
from screening.extensions import db
from screening.models import Screening, SurgeryRecord, utcnow
from tests import factories
from tests.web.support import page

from .conftest import (
    audit_events,
    count,
    csrf_from,
    flashes,
    location,
    make_user,
    scalars,
    set_columns,
    signed_in,
)

TODAY = dt.date.today()  # UTC's day is the clinic's here (SCREENING_TIMEZONE is UTC)


def post(client, ident: int, **data):
    return client.post(f"/staff/screenings/{ident}/surgery", data=data)


def records(app, ident: int) -> list[SurgeryRecord]:
    return scalars(app, sa.select(SurgeryRecord).where(SurgeryRecord.screening_id == ident)
                   .order_by(SurgeryRecord.id))  # fmt: skip


def made_days_ago(app, ident: int, days: int) -> None:
    set_columns(app, Screening, ident, created_at=utcnow() - dt.timedelta(days=days))


def section(client, ident: int):
    """The screening page's section on the operation."""
    found = page(client.get(f"/staff/screenings/{ident}")).find(
        "section", **{"aria-labelledby": "surgery"})
    assert found is not None
    return found


def errors(response) -> dict[str, str]:
    """The error summary's links: field id -> message."""
    summary = page(response).find(id="error-summary")
    assert summary is not None, response.get_data(as_text=True)[:2000]
    found = {}
    for link in summary.find_all("a"):
        label, _, message = link.text.partition(": ")
        found[link.attrs["href"].lstrip("#")] = message
    return found


def test_a_clinician_records_the_operation_performed(app, client, staff):
    ident, _ = factories.submitted(app, "low tier", clinic_answers={"surgery_type": "fusion"})
    made_days_ago(app, ident, 10)
    signed_in(client, staff["clinician"])
    form = section(client, ident)
    assert "Not recorded yet." in form.text
    # Before any record, the procedure is the clinic's entry of the planned surgery.
    chosen = [o.attrs["value"] for o in form.by_id("clinic_surgery_type").find_all("option")
              if "selected" in o.attrs]
    assert chosen == ["fusion"]
    day = TODAY - dt.timedelta(days=2)
    response = post(client, ident, status="performed", surgery_date=day.isoformat(),
                    clinic_surgery_type="fusion", clinic_fusion_levels="two",
                    note="  L4-S1,\n instrumented  ", replaces="")
    assert response.status_code == 303 and location(response) == f"/staff/screenings/{ident}"
    assert flashes(client) == ["The operation is recorded: performed."]
    [made] = records(app, ident)
    assert (made.status, made.surgery_date, made.planned_date) == ("performed", day, None)
    assert made.procedure == {"surgery_type": "fusion", "fusion_levels": "two"}
    assert made.note == "L4-S1, instrumented"
    assert (made.via, made.recorded_by_id, made.replaces_id) == ("staff", staff["clinician"].id,
                                                                  None)
    [event] = audit_events(app, "surgery_recorded")
    assert (event.user_id, event.screening_id) == (staff["clinician"].id, ident)
    assert event.detail == f"record {made.id}: performed"  # never the note or the procedure
    standing = section(client, ident).by_id("surgery-standing").text
    assert f"Performed on {day.isoformat()}" in standing
    assert "Fusion" in standing and "Two levels" in standing and "L4-S1, instrumented" in standing
    assert "UTC by clinician@clinic.example" in standing  # the clinic's time zone, and who


def test_a_correction_is_a_new_record_and_the_one_before_is_kept(app, client, staff):
    ident, _ = factories.screening(app)
    made_days_ago(app, ident, 30)
    signed_in(client, staff["clinician"])
    later = TODAY + dt.timedelta(days=20)
    assert post(client, ident, status="postponed", planned_date=later.isoformat(),
                replaces="").status_code == 303
    [first] = records(app, ident)
    assert (first.status, first.planned_date, first.surgery_date) == ("postponed", later, None)
    # The form now shows the standing record, to correct it.
    form = section(client, ident).find("form", action=f"/staff/screenings/{ident}/surgery")
    assert form.find("input", name="replaces").attrs["value"] == str(first.id)
    assert "checked" in form.find("input", name="status", value="postponed").attrs
    day = TODAY - dt.timedelta(days=1)
    assert post(client, ident, status="performed", surgery_date=day.isoformat(),
                clinic_surgery_type="discectomy", replaces=str(first.id)).status_code == 303
    assert post(client, ident, status="cancelled", note="Patient declined",
                replaces=str(first.id + 1)).status_code == 303
    kept = records(app, ident)
    assert [r.status for r in kept] == ["postponed", "performed", "cancelled"]
    assert [r.replaces_id for r in kept] == [None, kept[0].id, kept[1].id]
    assert kept[2].procedure == {} and kept[2].surgery_date is None  # nothing of "performed"
    details = [e.detail for e in audit_events(app, "surgery_recorded")]
    assert details == [f"record {kept[0].id}: postponed",
                       f"record {kept[1].id}: performed, replacing record {kept[0].id}",
                       f"record {kept[2].id}: cancelled, replacing record {kept[1].id}"]
    shown = section(client, ident)
    assert "Cancelled" in shown.by_id("surgery-standing").text
    assert "Earlier records (2)" in shown.text
    history = shown.find("ol").text
    assert f"Performed on {day.isoformat()}; What type of surgery is planned? Discectomy" in history
    assert f"Postponed, planned for {later.isoformat()}" in history


def test_the_same_record_twice_is_made_once(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["clinician"])
    assert post(client, ident, status="cancelled", replaces="").status_code == 303
    assert post(client, ident, status="cancelled", replaces="").status_code == 303  # a double click
    assert flashes(client)[-1] == "Nothing was changed: this is the record that stands."
    assert count(app, SurgeryRecord) == 1
    assert len(audit_events(app, "surgery_recorded")) == 1


def test_a_record_made_meanwhile_is_not_overwritten(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["clinician"])
    assert post(client, ident, status="postponed", replaces="").status_code == 303
    # Another clinician's page, opened before that record, records something else.
    response = post(client, ident, status="cancelled", replaces="")
    assert response.status_code == 303
    assert "recorded again since this page was opened" in flashes(client)[-1]
    assert [r.status for r in records(app, ident)] == ["postponed"]


@pytest.mark.parametrize(
    ("data", "wanted"),
    [
        ({}, {"status-0": "Choose whether the operation was performed, cancelled or postponed."}),
        ({"status": "done"}, {"status-0": "Not a valid choice."}),
        ({"status": "performed", "clinic_surgery_type": "fusion"},
         {"surgery_date": "Enter the date of surgery."}),
        ({"status": "performed", "surgery_date": "31/12/2025", "clinic_surgery_type": "fusion"},
         {"surgery_date": "Enter a real date, like 2026-03-31."}),
        ({"status": "performed", "surgery_date": "2026-02-30", "clinic_surgery_type": "fusion"},
         {"surgery_date": "Enter a real date, like 2026-03-31."}),
        ({"status": "performed", "surgery_date": "tomorrow", "clinic_surgery_type": "fusion"},
         {"surgery_date": "Enter a real date, like 2026-03-31."}),
        ({"status": "performed", "surgery_date": (TODAY + dt.timedelta(days=1)).isoformat(),
          "clinic_surgery_type": "fusion"},
         {"surgery_date": f"The date of surgery must be today ({TODAY.isoformat()}) or before: "
                          "record a later date as postponed."}),
        ({"status": "performed", "surgery_date": "2020-01-01", "clinic_surgery_type": "fusion"},
         {"surgery_date": "The date of surgery cannot be before this pre-operative screening "
                          "was made ({made})."}),
        ({"status": "performed", "surgery_date": TODAY.isoformat()},
         {"clinic_surgery_region": "Say which procedure was performed: choose from the lists, "
                                   "or describe it in the note."}),
        ({"status": "performed", "surgery_date": TODAY.isoformat(),
          "clinic_surgery_type": "not_sure"}, {"clinic_surgery_type": "Not a valid choice."}),
        ({"status": "postponed", "planned_date": TODAY.isoformat()},
         {"planned_date": f"The new planned date must be after today ({TODAY.isoformat()})."}),
        ({"status": "cancelled", "note": "x" * 2001},
         {"surgery_note": "Use at most 2000 characters."}),
        ({"status": "cancelled", "note": "bad\x00note"},
         {"surgery_note": "Remove the control characters (such as a NUL) from this field."}),
    ],
)
def test_what_cannot_be_recorded_is_said_on_its_field(app, client, staff, data, wanted):
    ident, _ = factories.screening(app)
    with app.app_context():
        made = db.session.get(Screening, ident).created_at.date().isoformat()
    signed_in(client, staff["clinician"])
    response = post(client, ident, replaces="", **data)
    assert response.status_code == 422
    assert errors(response) == {k: v.format(made=made) for k, v in wanted.items()}
    assert count(app, SurgeryRecord) == 0
    assert audit_events(app, "surgery_recorded") == []


def test_fields_under_an_option_not_chosen_are_not_recorded(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["clinician"])
    response = post(client, ident, status="cancelled", surgery_date="not a date",
                    planned_date="2020-01-01", clinic_surgery_type="fusion", replaces="")
    assert response.status_code == 303
    [made] = records(app, ident)
    assert (made.status, made.surgery_date, made.planned_date, made.procedure) == (
        "cancelled", None, None, {})


def test_intake_staff_see_what_happened_and_cannot_record_it(app, staff):
    ident, _ = factories.submitted(app, "low tier")
    clinician = signed_in(app.test_client(), staff["clinician"])
    assert post(clinician, ident, status="performed", surgery_date=TODAY.isoformat(),
                clinic_surgery_type="fusion", note="Private words", replaces="").status_code == 303
    intake = signed_in(app.test_client(), staff["intake"])
    shown = section(intake, ident)
    assert f"Performed on {TODAY.isoformat()}" in shown.text
    assert "Fusion" not in shown.text and "Private words" not in shown.text
    assert shown.find("form") is None
    assert post(intake, ident, status="cancelled", replaces="1").status_code == 403
    admin = signed_in(app.test_client(), staff["admin"])
    assert post(admin, ident, status="cancelled", replaces="1").status_code == 403
    assert [r.status for r in records(app, ident)] == ["performed"]


def test_another_sites_screening_is_not_found(app, staff):
    ident, _ = factories.screening(app)
    with app.app_context():
        other = sites.create("North Clinic", None)
        db.session.commit()
        other_id = other.id
    set_columns(app, Screening, ident, site_id=other_id)
    client = signed_in(app.test_client(), staff["clinician"])
    assert post(client, ident, status="cancelled", replaces="").status_code == 404
    assert count(app, SurgeryRecord) == 0
    network = make_user(app, "all@clinic.example", ["clinician"], all_sites=True)
    client = signed_in(app.test_client(), network)
    assert post(client, ident, status="cancelled", replaces="").status_code == 303
    assert count(app, SurgeryRecord) == 1


def test_the_form_needs_its_csrf_token(app, csrf, staff):
    ident, _ = factories.screening(app)
    client = signed_in(app.test_client(), staff["clinician"])
    assert post(client, ident, status="cancelled", replaces="").status_code == 400
    token = csrf_from(client.get(f"/staff/screenings/{ident}"))
    response = post(client, ident, status="cancelled", replaces="", csrf_token=token)
    assert response.status_code == 303
    assert count(app, SurgeryRecord) == 1


# --- the command line -------------------------------------------------------------------------


def surgery_cli(runner, *args: str):
    from screening.commands import main as screening_cli

    return runner.invoke(screening_cli, ["surgery", "record", *args])


def test_the_command_records_and_corrects_the_operation(app, runner):
    ident, _ = factories.screening(app)
    made_days_ago(app, ident, 5)
    day = (TODAY - dt.timedelta(days=1)).isoformat()
    result = surgery_cli(runner, "--screening", f"S-{ident:06d}", "--status", "performed",
                         "--date", day, "--procedure", "surgery_type=decompression",
                         "--procedure", "surgery_region=lower_back", "--note", "L4-5")
    assert result.exit_code == 0, result.output
    [made] = records(app, ident)
    assert result.output == (f"S-{ident:06d}: recorded performed on {day}: record {made.id}\n")
    assert made.procedure == {"surgery_type": "decompression", "surgery_region": "lower_back"}
    assert (made.via, made.recorded_by_id, made.note) == ("cli", None, "L4-5")
    result = surgery_cli(runner, "--screening", str(ident), "--status", "cancelled")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"(replacing record {made.id})\n")
    result = surgery_cli(runner, "--screening", str(ident), "--status", "cancelled")
    assert "nothing changed" in result.output and result.exit_code == 0
    events = audit_events(app, "surgery_recorded")
    assert [(e.address, e.user_id) for e in events] == [("cli", None)] * 2
    assert events[0].detail == f"record {made.id}: performed (command line)"


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["--status", "performed"], "--date: Enter the date of surgery."),
        (["--status", "performed", "--date", "2999-01-01", "--note", "x"],
         "--date: The date of surgery must be today"),
        (["--status", "performed", "--date", TODAY.isoformat(), "--procedure", "levels=9"],
         "--procedure levels=...: Not a question the clinic enters"),
        (["--status", "performed", "--date", TODAY.isoformat(),
          "--procedure", "surgery_type=laser"], "--procedure surgery_type=...: "),
        (["--status", "cancelled", "--date", TODAY.isoformat()],
         "--date: Only a performed operation has a date of surgery."),
        (["--status", "cancelled", "--procedure", "surgery_type=fusion"],
         "--procedure: Only a performed operation has a procedure performed."),
        (["--status", "postponed", "--planned-date", "2020-01-01"],
         "--planned-date: The new planned date must be after today"),
        (["--status", "cancelled", "--note", "a\x00b"], "--note: Remove the control characters"),
    ],
)
def test_the_command_says_what_cannot_be_recorded(app, runner, args, wanted):
    ident, _ = factories.screening(app)
    result = surgery_cli(runner, "--screening", str(ident), *args)
    assert result.exit_code == 1, result.output
    assert wanted in result.output and "nothing was recorded" in result.output
    assert count(app, SurgeryRecord) == 0 and audit_events(app, "surgery_recorded") == []


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["--screening", "abc", "--status", "cancelled"], "is not a screening number"),
        (["--screening", "99999", "--status", "cancelled"], "there is no screening 99999"),
        (["--screening", "1", "--status", "done"], "'done' is not one of"),
        (["--screening", "1", "--status", "performed", "--date", "2026-02-30"],
         "is not a date like"),
        (["--screening", "1", "--status", "performed", "--procedure", "fusion"],
         "is not QUESTION=VALUE"),
    ],
)
def test_the_command_refuses_what_it_cannot_read(app, runner, args, wanted):
    factories.screening(app)
    result = surgery_cli(runner, *args)
    assert result.exit_code in (1, 2) and wanted in result.output, result.output
    assert count(app, SurgeryRecord) == 0


# --- the domain: the clinic's day, the follow-ups' anchor -------------------------------------


def test_today_is_the_clinics_day(app):
    """At 20:00 UTC on 5 March it is already 6 March in Kiritimati (UTC+14): a surgery
    performed there on 6 March may be recorded, one on 7 March may not."""
    from screening.domain import surgery

    ident, _ = factories.screening(app, created=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    now = dt.datetime(2026, 3, 5, 20, 0, tzinfo=dt.UTC)
    app.config["SCREENING_TIMEZONE"] = "Pacific/Kiritimati"
    with app.app_context():
        assert surgery.today(now) == dt.date(2026, 3, 6)
        s = db.session.get(Screening, ident)
        late = surgery.Given("performed", dt.date(2026, 3, 7), note="Discectomy")
        with pytest.raises(surgery.Refused) as refused:
            surgery.record(s, late, now=now)
        assert "today (2026-03-06)" in refused.value.problems["surgery_date"]
        made, new = surgery.record(s, surgery.Given("performed", dt.date(2026, 3, 6),
                                                    note="Discectomy"), now=now)
        assert new and made.surgery_date == dt.date(2026, 3, 6)
        db.session.rollback()
    app.config["SCREENING_TIMEZONE"] = "UTC"
    with app.app_context():
        assert surgery.today(now) == dt.date(2026, 3, 5)


def test_follow_ups_count_from_a_standing_performed_record_only(app):
    from screening.domain import surgery

    ident, _ = factories.screening(app, created=utcnow() - dt.timedelta(days=60))
    day = TODAY - dt.timedelta(days=30)
    with app.app_context():
        s = db.session.get(Screening, ident)
        assert surgery.anchor(s) is None  # nothing recorded
        surgery.record(s, surgery.Given("postponed", planned_date=TODAY + dt.timedelta(days=9)))
        assert surgery.anchor(s) is None
        surgery.record(s, surgery.Given("performed", day, procedure={"surgery_type": "fusion"}))
        assert surgery.anchor(s) == day
        surgery.record(s, surgery.Given("cancelled", note="Recorded on the wrong patient"))
        assert surgery.anchor(s) is None  # a correction: no follow-up after a cancellation
        assert [r.status for r in surgery.history(s)] == ["cancelled", "performed", "postponed"]
        db.session.commit()
    assert len(audit_events(app, "surgery_recorded")) == 3


def test_a_screening_purged_takes_its_records_with_it(app):
    """Retention removes a screening with one statement; its records (which point at each
    other) go with it."""
    from screening.domain import surgery

    ident, _ = factories.screening(app, created=utcnow() - dt.timedelta(days=60))
    with app.app_context():
        s = db.session.get(Screening, ident)
        surgery.record(s, surgery.Given("postponed"))
        surgery.record(s, surgery.Given("cancelled"))
        db.session.commit()
        db.session.execute(sa.delete(Screening).where(Screening.id == ident))
        db.session.commit()
    assert count(app, SurgeryRecord) == 0


def test_two_records_made_at_once_are_made_one_after_the_other(app, backend):
    """The screening's row is held from the first record to its commit: the second waits, then
    replaces it (one line of history, never two records replacing the same one)."""
    import threading
    import time

    from screening.domain import surgery

    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    ident, _ = factories.screening(app)
    first_made = threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        with app.app_context():
            s = db.session.get(Screening, ident)
            results["first"] = surgery.record(s, surgery.Given("postponed"))[0].id
            first_made.set()
            time.sleep(0.5)  # the second is waiting for the row meanwhile
            db.session.commit()

    def second() -> None:
        first_made.wait(5)
        with app.app_context():
            s = db.session.get(Screening, ident)
            made, _ = surgery.record(s, surgery.Given("cancelled"))
            results["second"] = (made.id, made.replaces_id)
            db.session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["second"] == (results["first"] + 1, results["first"])
    assert [r.status for r in records(app, ident)] == ["postponed", "cancelled"]
