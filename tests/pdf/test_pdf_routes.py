"""Downloads of the summary (clinicians) and of the patient's copy, on SQLite and PostgreSQL:
rendered by the queue's job, never in the request; kept in versions, each served byte for byte."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
import sqlalchemy as sa

from screening import queue
from screening.domain import documents as store
from screening.extensions import db
from screening.models import AuditEvent, Document, FlagAcknowledgement, FlagEvent, utcnow
from tests.helpers import location_path, new_screening
from tests.web.support import example, screening_row, walk

from . import body_text, page_texts, reader, squash


@pytest.fixture
def clinician(app, client):
    """`client` signed in as a clinician (the summary's routes are theirs)."""
    from screening.domain.accounts import create_user

    with app.app_context():
        create_user("doctor@example.org", "a long enough passphrase", ["clinician"])
        db.session.commit()
    response = client.post(
        "/staff/login",
        data={"email": "doctor@example.org", "password": "a long enough passphrase"},
    )
    assert response.status_code == 303
    return client


def summary_url(screening_id: int) -> str:
    return f"/staff/screenings/{screening_id}/summary.pdf"


def refresh_url(screening_id: int) -> str:
    return f"/staff/screenings/{screening_id}/summary/refresh"


def submit(client, app, name_part: str = "high tier - long", name: str = "Ann Example") -> dict:
    """A screening answered and submitted by `client`; returns its row."""
    token = new_screening(app, name=name, patient_mrn="MRN-0042")
    walk(client, app, token, example(app, name_part))
    response = client.post(f"/s/{token}/submit")
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/result"
    row = screening_row(app, token)
    assert row["status"] == "submitted"
    return row | {"token": token}


def documents(app, screening_id: int) -> dict[tuple[str, int], dict[str, Any]]:
    """(kind, version) -> the stored version."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Document).where(Document.screening_id == screening_id)
        ).all()
        result = {
            (d.kind, d.version): {"content": d.content, "sha256": d.sha256,
                                  "rendered_at": d.rendered_at, "reason": d.reason}
            for d in rows
        }  # fmt: skip
        db.session.remove()
    return result


def run_jobs(app) -> int:
    """What a worker does: run the queued jobs (the renderings)."""
    return queue.run_pending(app)


def assert_pdf(response, filename: str) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["Cache-Control"] == "no-store"
    content = response.get_data()
    assert content.startswith(b"%PDF-")
    assert response.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    reader(content)  # parses
    return content


def first_page(content: bytes) -> str:
    return squash(reader(content).pages[0].extract_text())


def refuse_to_render(*args, **kwargs):
    raise AssertionError("rendered in the request instead of serving the stored version")


def version_url(screening_id: int, number: int) -> str:
    return f"/staff/screenings/{screening_id}/summary/v{number}.pdf"


# --- the clinician's summary ------------------------------------------------------------------


def test_summary_is_rendered_by_the_job_stored_and_served_byte_for_byte(
    app, client, clinician, monkeypatch
):
    row = submit(client, app)
    url = summary_url(row["id"])
    filename = f"screening-S-{row['id']:06d}-summary.pdf"
    # Submitted: both documents asked for, neither rendered; a download never renders.
    stored = documents(app, row["id"])
    assert set(stored) == {("summary", 1), ("patient_copy", 1)}
    assert all(v["content"] is None and v["reason"] == "submitted" for v in stored.values())
    monkeypatch.setitem(store.RENDERERS, "summary", refuse_to_render)
    waiting = client.get(url)
    assert waiting.status_code == 202
    assert waiting.mimetype == "text/html"
    assert "being prepared" in waiting.get_data(as_text=True)
    assert f'data-ready-url="{url}"' in waiting.get_data(as_text=True)  # looks again by itself
    monkeypatch.undo()

    assert run_jobs(app) == 2
    stored = documents(app, row["id"])
    first = assert_pdf(client.get(url), filename)
    assert stored["summary", 1]["content"] == first
    assert stored["summary", 1]["sha256"] == hashlib.sha256(first).hexdigest()
    text = first_page(first)
    assert "Patient Ann Example" in text
    assert f"S-{row['id']:06d}" in text
    assert "Risk tier: High" in text

    monkeypatch.setitem(store.RENDERERS, "summary", refuse_to_render)
    assert assert_pdf(client.get(url), filename) == first
    assert documents(app, row["id"]) == stored  # the same version, rendered once


def test_render_again_makes_a_new_version_and_keeps_the_old(app, client, clinician):
    row = submit(client, app, "low tier")
    run_jobs(app)
    url = summary_url(row["id"])
    first = assert_pdf(client.get(url), f"screening-S-{row['id']:06d}-summary.pdf")

    response = client.post(refresh_url(row["id"]))
    assert response.status_code == 303
    assert location_path(response) == f"/staff/screenings/{row['id']}"
    # Until the job runs, the newest rendered version is served, and the page says a new one
    # is being prepared.
    assert assert_pdf(client.get(url), f"screening-S-{row['id']:06d}-summary.pdf") == first
    page = client.get(f"/staff/screenings/{row['id']}").get_data(as_text=True)
    assert "Version 2 (rendered again on request) is being prepared" in page
    assert client.get(version_url(row["id"], 2)).status_code == 202

    run_jobs(app)
    stored = documents(app, row["id"])
    second = assert_pdf(client.get(url), f"screening-S-{row['id']:06d}-summary.pdf")
    assert second == stored["summary", 2]["content"] != first
    assert stored["summary", 2]["rendered_at"] > stored["summary", 1]["rendered_at"]
    assert assert_pdf(client.get(version_url(row["id"], 1)),
                      f"screening-S-{row['id']:06d}-summary-v1.pdf") == first  # fmt: skip
    assert client.get(version_url(row["id"], 3)).status_code == 404
    page = client.get(f"/staff/screenings/{row['id']}").get_data(as_text=True)
    assert "Download PDF summary (version 2)" in page
    for n in (1, 2):
        assert stored["summary", n]["sha256"][:12] in page
        assert f'href="/staff/screenings/{row["id"]}/summary/v{n}.pdf"' in page


def flag_event_ids(app, screening_id: int) -> list[int]:
    with app.app_context():
        found = db.session.scalars(
            sa.select(FlagEvent.id).where(FlagEvent.screening_id == screening_id)
        ).all()
        db.session.remove()
    return list(found)


def test_acknowledging_a_flag_makes_a_version_whose_page_one_shows_who(app, client, clinician):
    row = submit(client, app, "self-harm flag")
    run_jobs(app)
    before = first_page(documents(app, row["id"])["summary", 1]["content"])
    assert "Open, not yet acknowledged" in before
    (event,) = flag_event_ids(app, row["id"])

    url = f"/staff/screenings/{row['id']}/flags/{event}/acknowledge"
    assert (
        client.post(url, data={"note": "Phoned the patient; crisis line given"}).status_code == 303
    )
    run_jobs(app)
    stored = documents(app, row["id"])
    assert stored["summary", 2]["reason"] == "flag_acknowledged"
    after = first_page(stored["summary", 2]["content"])
    assert "Acknowledged by doctor@example.org" in after
    assert "Phoned the patient; crisis line given" in after
    assert "Open, not yet acknowledged" not in after
    assert first_page(assert_pdf(client.get(summary_url(row["id"])),
                                 f"screening-S-{row['id']:06d}-summary.pdf")) == after  # fmt: skip

    # Withdrawn: a third version, open again; marked reviewed: a fourth, saying by whom.
    with app.app_context():
        (ack,) = db.session.scalars(sa.select(FlagAcknowledgement.id)).all()
        db.session.remove()
    client.post(f"/staff/screenings/{row['id']}/flags/{event}/acknowledgements/{ack}/withdraw")
    run_jobs(app)
    third = documents(app, row["id"])["summary", 3]
    assert third["reason"] == "acknowledgement_withdrawn"
    assert "Open, not yet acknowledged" in first_page(third["content"])
    client.post(f"/staff/screenings/{row['id']}/review", data={"note": "Seen with the surgeon"})
    run_jobs(app)
    fourth = documents(app, row["id"])["summary", 4]
    assert fourth["reason"] == "reviewed"
    text = first_page(fourth["content"])
    assert "Reviewed by doctor@example.org" in text and "Seen with the surgeon" in text


def test_changes_before_the_job_runs_make_one_version(app, client, clinician):
    row = submit(client, app, "low tier")
    run_jobs(app)
    client.post(refresh_url(row["id"]))
    client.post(f"/staff/screenings/{row['id']}/review")
    assert run_jobs(app) == 2  # two jobs queued, one version: the second finds it rendered
    stored = documents(app, row["id"])
    assert sorted(k for k in stored if k[0] == "summary") == [("summary", 1), ("summary", 2)]
    assert stored["summary", 2]["reason"] == "reviewed"
    assert "Reviewed by doctor@example.org" in first_page(stored["summary", 2]["content"])


def test_the_sweep_renders_a_version_whose_job_was_lost(app, client, clinician):
    row = submit(client, app, "low tier")
    with app.app_context():
        queue.of(app).huey.flush()  # the queue lost its jobs (Redis restarted empty)
        assert store.sweep() == 0  # asked for just now: its job may still come
        later = utcnow() + store.SWEEP_AFTER + dt.timedelta(seconds=1)
        assert store.sweep(later) == 2
        assert store.sweep(later) == 0
        db.session.remove()
    assert documents(app, row["id"])["summary", 1]["content"].startswith(b"%PDF-")


def test_a_failed_rendering_is_let_go_and_tried_again(app, client, clinician, monkeypatch):
    row = submit(client, app, "low tier")

    def broken(*args, **kwargs):
        raise RuntimeError("fonts missing")

    monkeypatch.setitem(store.RENDERERS, "summary", broken)
    with app.app_context():
        (version,) = db.session.scalars(
            sa.select(Document.id).where(Document.kind == "summary")
        ).all()
        with pytest.raises(RuntimeError):
            store.render_pending(version)
        db.session.remove()
    assert documents(app, row["id"])["summary", 1]["content"] is None
    monkeypatch.undo()
    with app.app_context():
        assert store.render_pending(version) is True  # not held by the failed try
        assert store.render_pending(version) is False  # rendered: nothing left to do
        row_ = db.session.get(Document, version)
        assert row_.tries == 2 and row_.claimed_until is None
        db.session.remove()


def test_summary_of_a_screening_not_submitted_is_409(app, client, clinician):
    token = new_screening(app)
    screening_id = screening_row(app, token)["id"]
    assert client.get(summary_url(screening_id)).status_code == 409
    response = client.post(refresh_url(screening_id))
    assert response.status_code == 409
    assert documents(app, screening_id) == {}


def test_summary_of_an_unknown_screening_is_404(app, client, clinician):
    assert client.get(summary_url(999999)).status_code == 404
    assert client.get(version_url(999999, 1)).status_code == 404
    assert client.post(refresh_url(999999)).status_code == 404


def test_summary_needs_a_signed_in_clinician(app, client):
    from screening.domain.accounts import create_user

    row = submit(client, app, "low tier")
    run_jobs(app)
    for sid in (row["id"], 999999):
        for url in (summary_url(sid), version_url(sid, 1)):
            response = client.get(url)
            assert response.status_code == 302
            assert "/staff/login" in response.headers["Location"]
        assert client.post(refresh_url(sid)).status_code == 302
    with app.app_context():
        create_user("desk@example.org", "a long enough passphrase", ["intake"])
        db.session.commit()
    client.post(
        "/staff/login", data={"email": "desk@example.org", "password": "a long enough passphrase"}
    )
    assert client.get(summary_url(row["id"])).status_code == 403
    assert client.get(version_url(row["id"], 1)).status_code == 403
    assert client.post(refresh_url(row["id"])).status_code == 403
    assert ("summary", 2) not in documents(app, row["id"])


def test_each_download_is_audited_with_its_version(app, client, clinician):
    row = submit(client, app, "low tier")
    run_jobs(app)
    client.get(summary_url(row["id"]))
    client.get(version_url(row["id"], 1))
    with app.app_context():
        details = db.session.scalars(
            sa.select(AuditEvent.detail).where(
                AuditEvent.action == "pdf_downloaded", AuditEvent.screening_id == row["id"]
            )
        ).all()
        db.session.remove()
    assert details == ["summary version 1", "summary version 1"]


# --- the patient's copy -----------------------------------------------------------------------


def test_patient_copy_for_the_browser_that_submitted(app, client, monkeypatch):
    row = submit(client, app, "self-harm flag")
    url = f"/s/{row['token']}/my-summary.pdf"
    waiting = client.get(url)
    assert waiting.status_code == 202
    assert "Your copy is nearly ready" in waiting.get_data(as_text=True)
    run_jobs(app)
    first = assert_pdf(client.get(url), "my-pre-surgery-summary.pdf")
    text = body_text(page_texts(first))
    assert "Getting ready for your spine surgery" in text
    assert "For Ann Example" in text
    assert "988" in text
    assert "points" not in text.lower()
    stored = documents(app, row["id"])
    assert stored["patient_copy", 1]["content"] == first

    monkeypatch.setitem(store.RENDERERS, "patient_copy", refuse_to_render)
    assert assert_pdf(client.get(url), "my-pre-surgery-summary.pdf") == first
    assert documents(app, row["id"]) == stored


def test_patient_copy_sends_a_fresh_client_to_the_identity_check(app, client):
    row = submit(client, app, "low tier")
    run_jobs(app)
    fresh = app.test_client()
    response = fresh.get(f"/s/{row['token']}/my-summary.pdf")
    assert response.status_code == 303  # issue 19 §8: from any device, once confirmed
    assert response.headers["Location"].endswith(f"/s/{row['token']}/copy")


def test_patient_copy_before_submission_is_not_served(app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "low tier"))
    response = client.get(f"/s/{token}/my-summary.pdf")
    assert response.status_code == 404
    assert documents(app, screening_row(app, token)["id"]) == {}


def test_patient_copy_of_an_unknown_link_is_404(client):
    assert client.get("/s/not-a-real-token/my-summary.pdf").status_code == 404
