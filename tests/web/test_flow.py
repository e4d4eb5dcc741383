"""The patient's whole journey through the real app and database."""

from __future__ import annotations

import sqlalchemy as sa

from screening.domain.demo import submittable
from screening.extensions import db
from screening.models import Answer, Screening
from tests.helpers import complete_questionnaire, location_path, new_screening, questionnaire


def example(app, name_part: str) -> dict:
    q = questionnaire(app)
    return next(e for e in q.examples if name_part in e.name.lower()).answers


def test_complete_flow_scores_like_the_engine(app, client):
    q = questionnaire(app)
    # Every example a patient alone can give (complete, without the clinic's entries: those are
    # scored by the engine's own tests).
    for ex in submittable(q):
        token = new_screening(app)
        client.get(f"/s/{token}")
        visited = complete_questionnaire(client, app, token, ex.answers)
        assert visited[0] == q.steps[0].id
        review = client.get(f"/s/{token}/review")
        assert review.status_code == 200
        response = client.post(f"/s/{token}/submit")
        assert response.status_code == 303
        assert location_path(response) == f"/s/{token}/result"
        result = client.get(f"/s/{token}/result")
        assert result.status_code == 200
        assert b"Thank you, your answers have been sent" in result.data
        with app.app_context():
            row = db.session.scalar(sa.select(Screening).order_by(Screening.id.desc()))
            assert row.status == "submitted"
            assert row.total == ex.expect["total"], ex.name
            assert row.tier == ex.expect["tier"], ex.name
            assert sorted(f["id"] for f in row.assessment["factors"]) == sorted(
                ex.expect["factors"])
            count = db.session.scalar(
                sa.select(sa.func.count()).select_from(Answer).where(Answer.screening_id == row.id))
            assert count >= len(visited)
