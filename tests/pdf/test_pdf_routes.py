"""Downloads of the summary (clinicians) and of the patient's copy, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import sqlalchemy as sa

from screening.domain import documents as store
from screening.extensions import db
from screening.models import Document
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


def documents(app, screening_id: int) -> dict[str, dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Document).where(Document.screening_id == screening_id)
        ).all()
        result = {
            d.kind: {"content": d.content, "sha256": d.sha256, "created_at": d.created_at}
            for d in rows
        }
        db.session.remove()
    return result


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
    raise AssertionError("rendered again instead of serving the stored copy")


# --- the clinician's summary ------------------------------------------------------------------


def test_summary_is_rendered_once_stored_and_served_again_byte_for_byte(
    app, client, clinician, monkeypatch
):
    row = submit(client, app)
    url = summary_url(row["id"])
    filename = f"screening-S-{row['id']:06d}-summary.pdf"

    first = assert_pdf(client.get(url), filename)
    stored = documents(app, row["id"])
    assert set(stored) == {"summary"}
    assert stored["summary"]["content"] == first
    assert stored["summary"]["sha256"] == hashlib.sha256(first).hexdigest()
    text = first_page(first)
    assert "Patient Ann Example" in text
    assert f"S-{row['id']:06d}" in text
    assert f"Risk tier: High ({row['total']} of 35 points)" in text

    monkeypatch.setitem(store.RENDERERS, "summary", refuse_to_render)
    second = assert_pdf(client.get(url), filename)
    assert second == first
    assert documents(app, row["id"]) == stored  # same row, same created_at


def test_refresh_renders_the_summary_again(app, client, clinician):
    row = submit(client, app, "low tier")
    url = summary_url(row["id"])
    assert_pdf(client.get(url), f"screening-S-{row['id']:06d}-summary.pdf")
    before = documents(app, row["id"])["summary"]

    response = client.post(refresh_url(row["id"]))
    assert response.status_code == 303
    assert location_path(response) == f"/staff/screenings/{row['id']}"
    after = documents(app, row["id"])["summary"]
    assert after["created_at"] > before["created_at"]
    assert after["sha256"] == hashlib.sha256(after["content"]).hexdigest()

    content = assert_pdf(client.get(url), f"screening-S-{row['id']:06d}-summary.pdf")
    assert content == after["content"]
    assert "Pre-surgery screening summary" in first_page(content)
    assert documents(app, row["id"])["summary"]["created_at"] == after["created_at"]


def test_summary_of_a_screening_not_submitted_is_409(app, client, clinician):
    token = new_screening(app)
    screening_id = screening_row(app, token)["id"]
    assert client.get(summary_url(screening_id)).status_code == 409
    response = client.post(refresh_url(screening_id))
    assert response.status_code == 409
    assert documents(app, screening_id) == {}


def test_summary_of_an_unknown_screening_is_404(app, client, clinician):
    assert client.get(summary_url(999999)).status_code == 404
    assert client.post(refresh_url(999999)).status_code == 404


def test_summary_needs_a_signed_in_clinician(app, client, monkeypatch):
    from screening.domain.accounts import create_user

    monkeypatch.setitem(store.RENDERERS, "summary", refuse_to_render)
    row = submit(client, app, "low tier")
    for sid in (row["id"], 999999):
        response = client.get(summary_url(sid))
        assert response.status_code == 302
        assert "/staff/login" in response.headers["Location"]
        assert client.post(refresh_url(sid)).status_code == 302
    with app.app_context():
        create_user("desk@example.org", "a long enough passphrase", ["intake"])
        db.session.commit()
    client.post("/staff/login",
                data={"email": "desk@example.org", "password": "a long enough passphrase"})
    assert client.get(summary_url(row["id"])).status_code == 403
    assert client.post(refresh_url(row["id"])).status_code == 403
    assert documents(app, row["id"]) == {}


# --- the patient's copy -----------------------------------------------------------------------


def test_patient_copy_for_the_browser_that_submitted(app, client, monkeypatch):
    row = submit(client, app, "self-harm flag")
    url = f"/s/{row['token']}/my-summary.pdf"
    first = assert_pdf(client.get(url), "my-pre-surgery-summary.pdf")
    text = body_text(page_texts(first))
    assert "Getting ready for your spine surgery" in text
    assert "For Ann Example" in text
    assert "988" in text
    assert "points" not in text.lower()
    stored = documents(app, row["id"])
    assert set(stored) == {"patient_copy"}
    assert stored["patient_copy"]["content"] == first

    monkeypatch.setitem(store.RENDERERS, "patient_copy", refuse_to_render)
    assert assert_pdf(client.get(url), "my-pre-surgery-summary.pdf") == first
    assert documents(app, row["id"]) == stored


def test_patient_copy_sends_a_fresh_client_to_the_identity_check(app, client):
    row = submit(client, app, "low tier")
    fresh = app.test_client()
    response = fresh.get(f"/s/{row['token']}/my-summary.pdf")
    assert response.status_code == 303  # issue 19 §8: from any device, once confirmed
    assert response.headers["Location"].endswith(f"/s/{row['token']}/copy")
    assert documents(app, row["id"]) == {}


def test_patient_copy_before_submission_is_not_served(app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "low tier"))
    response = client.get(f"/s/{token}/my-summary.pdf")
    assert response.status_code == 404
    assert documents(app, screening_row(app, token)["id"]) == {}


def test_patient_copy_of_an_unknown_link_is_404(client):
    assert client.get("/s/not-a-real-token/my-summary.pdf").status_code == 404
