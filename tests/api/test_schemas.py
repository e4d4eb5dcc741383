"""The API's shapes are declared once (screening/api/schemas.py): every body served is its model,
exactly, and the OpenAPI document is generated from the same models, with the tiers of the
questionnaire in force."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel

from screening.api import schemas
from screening.domain import questionnaires
from screening.domain.listing import SORTS
from screening.models import STATUSES
from tests import factories
from tests.conftest import SHIPPED

from .conftest import bearer, call, ok


def document(client) -> dict:
    return ok(client.get("/api/v1/openapi.json"))


def parameter(doc: dict, name: str) -> dict:
    [found] = [p for p in doc["paths"]["/screenings"]["get"]["parameters"] if p["name"] == name]
    return found


def served_as(doc: dict, model: type[BaseModel], response) -> BaseModel:
    """The body, read back through its model: it must validate, and be exactly what the model
    serves (no field left out, none added); and it must match the document's schema for it."""
    value = model.model_validate_json(response.get_data())
    assert schemas.body(value) == response.get_json()
    jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{model.__name__}", "components": doc["components"]}
    ).validate(response.get_json())
    return value


def test_the_tier_enum_is_the_questionnaire_in_forces(app, client):
    doc = document(client)
    with app.app_context():
        tiers = questionnaires.in_force().tiers
    assert parameter(doc, "tier")["schema"]["enum"] == [t.id for t in tiers]
    for name in ("Screening", "ScreeningDetail"):
        described = doc["components"]["schemas"][name]["properties"]["tier"]["description"]
        for tier in tiers:
            assert f"`{tier.id}` ({tier.label})" in described, name
    # The statuses and sorts are the models' and the list's own.
    assert parameter(doc, "status")["schema"]["enum"] == list(STATUSES)
    assert doc["components"]["schemas"]["Screening"]["properties"]["status"]["enum"] == list(
        STATUSES
    )
    assert parameter(doc, "sort")["schema"]["enum"] == list(SORTS)


def with_other_tiers(tmp_path: Path) -> Path:
    """The shipped questionnaire with tiers of other names (and without its examples, which
    expect the shipped ones)."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = text[: text.index("\nexamples:")] + "\n"
    text, replaced = re.subn(
        r"^tiers:\n(  - .*\n)+",
        "tiers:\n  - {id: green, label: Green}\n  - {id: amber, label: Amber}\n"
        "  - {id: red, label: Red}\n",
        text,
        flags=re.M,
    )
    assert replaced == 1
    # Each axis gives the tiers' maxima, and the floors name a tier.
    text, replaced = re.subn(
        r"tier_max: \{low: (\d+), moderate: (\d+)\}", r"tier_max: {green: \1, amber: \2}", text
    )
    assert replaced == 2
    text = re.sub(r"^(\s+)tier: moderate$", r"\1tier: amber", text, flags=re.M)
    path = tmp_path / "other-tiers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_another_questionnaire_in_force_changes_the_document_and_the_check(
    app, client, api_key, tmp_path
):
    """One source: the document and the list's validation follow the file in force."""
    assert call(client, "/screenings?tier=low", api_key).status_code == 200
    app.config["SCREENING_QUESTIONNAIRE"] = str(with_other_tiers(tmp_path))
    doc = document(client)
    assert parameter(doc, "tier")["schema"]["enum"] == ["green", "amber", "red"]
    described = doc["components"]["schemas"]["Screening"]["properties"]["tier"]["description"]
    assert "`red` (Red)" in described and "`low`" not in described
    assert ok(call(client, "/screenings?tier=red", api_key))["total"] == 0
    refused = call(client, "/screenings?tier=low", api_key)
    assert refused.status_code == 400
    assert refused.get_json()["message"] == "tier must be one of: green, amber, red."


def test_every_body_served_is_its_model(app, client, api_key):
    doc = document(client)
    submitted, _ = factories.submitted(app, "self-harm", name="Eve Evans", patient_mrn="MRN-5")
    invited, _ = factories.screening(app, "Ivy Invited", surgeon="Dr. B")
    factories.screening(app, "Finn Ford", days=0)

    page = served_as(doc, schemas.ScreeningList, call(client, "/screenings?per_page=2", api_key))
    assert (page.total, len(page.items), page.next is not None) == (3, 2, True)
    served_as(doc, schemas.ScreeningList, call(client, "/screenings?page=2&per_page=2", api_key))
    served_as(doc, schemas.ScreeningList, call(client, "/screenings?q=nobody", api_key))

    read = call(client, f"/screenings/{submitted}", api_key)
    detail = served_as(doc, schemas.ScreeningDetail, read)
    assert detail.assessment is not None and detail.answers
    assert detail.assessment.red_flags
    read = call(client, f"/screenings/{invited}", api_key)
    detail = served_as(doc, schemas.ScreeningDetail, read)
    assert detail.assessment is None and detail.answers is None

    errors = {
        400: call(client, "/screenings?page=0", api_key),
        401: call(client, "/screenings", None),
        404: call(client, "/screenings/99999", api_key),
        405: client.post("/api/v1/screenings", headers=bearer(api_key)),
    }
    for status, response in errors.items():
        assert response.status_code == status
        served_as(doc, schemas.Error, response)
    # `parameter` is there only when a parameter is wrong: never null.
    assert errors[400].get_json()["parameter"] == "page"
    assert errors[404].get_json()["parameter"] == "id"
    assert "parameter" not in errors[401].get_json()
    assert "parameter" not in errors[405].get_json()


class TestTooMany:
    @pytest.fixture
    def app_config(self):
        return {"SCREENING_API_FAILED_KEY_LIMIT": "1 per 15 minutes"}

    def test_the_429_body_is_an_error(self, app, client):
        doc = document(client)
        assert call(client, "/screenings", "scr_00000000.guess").status_code == 401
        response = call(client, "/screenings", "scr_00000001.guess")
        assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
        assert served_as(doc, schemas.Error, response).error == "too_many_requests"
