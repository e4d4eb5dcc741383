"""The retry page when the database cannot be reached, even when undoing fails too."""

from __future__ import annotations

import sqlalchemy as sa

from screening.extensions import db


def _broken(*args, **kwargs):
    raise sa.exc.OperationalError("ROLLBACK", {}, Exception("cannot exit pipeline mode while busy"))


def test_a_failed_rollback_on_a_broken_connection_is_still_the_retry_page(app, monkeypatch):
    @app.get("/test-broken-database")
    def broken():
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "rollback", _broken)
    response = app.test_client().get("/test-broken-database")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "Please try again in a moment" in response.get_data(as_text=True)
