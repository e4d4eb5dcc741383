"""A submitted screening as a FHIR R4 Bundle: Patient, QuestionnaireResponse, Observations for the
instruments' totals, RiskAssessment; every resource validated with the fhir.resources R4B models."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from screening.definition import load_path
from screening.domain import NotAllowed, answering, exporting
from screening.exports import fhir
from screening.extensions import db
from screening.models import Screening
from screening.scoring import score, type_answers, visible_questions
from tests import factories
from tests.conftest import SHIPPED
from tests.web.support import example, questionnaire

from .support import check_bundle, check_questionnaire, check_response, entries, items

LOINC = "http://loinc.org"
SUBMITTED = dt.datetime(2026, 3, 4, 9, 30, 15, tzinfo=dt.UTC)
PATIENT = fhir.PatientDetails("Ann Example", dt.date(1961, 7, 30), "MRN-0042")
META = fhir.ScreeningMeta("S-000042", SUBMITTED)


@pytest.fixture(scope="module")
def shipped():
    return load_path(SHIPPED)


@pytest.fixture(scope="module")
def shipped_questionnaire(shipped) -> dict[str, Any]:
    resource = fhir.questionnaire_resource(shipped)
    check_questionnaire(resource)
    return resource


def one(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    [resource] = entries(bundle, resource_type)
    return resource


def answered(response: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """linkId -> answers of the response's question items."""
    return {i["linkId"]: i["answer"] for i in items(response) if "answer" in i}


def check_assessment(bundle: dict[str, Any], a) -> None:
    """What the bundle says about the assessment is the engine's assessment."""
    q = a.questionnaire
    patient = one(bundle, "Patient")
    subject = {"reference": f"urn:uuid:{patient['id']}"}
    response = one(bundle, "QuestionnaireResponse")
    response_ref = {"reference": f"urn:uuid:{response['id']}"}
    assert response["subject"] == subject
    assert response["questionnaire"] == f"https://example.org/fhir/Questionnaire/{q.id}|{q.version}"

    # The Observations: one per scored instrument, its LOINC code, the band, from the response.
    observations = {o["code"]["coding"][0]["code"]: o for o in entries(bundle, "Observation")}
    scored = [r for r in a.instruments.values() if r.score is not None]
    assert len(observations) == len(scored)
    for r in scored:
        # The YAML's code (LOINC), or the questionnaire's own code system for an instrument
        # without one (STarT Back, PEG, AUDIT-C in 2.0.0).
        code = r.instrument.code
        observation = observations[code.code if code else r.instrument.id]
        assert observation["code"]["coding"][0]["system"] == (
            LOINC if code else f"https://example.org/fhir/CodeSystem/{q.id}/instrument"
        )
        assert observation["valueInteger"] == r.score
        assert observation["interpretation"] == [{"text": r.band}]
        assert observation["derivedFrom"] == [response_ref]
        assert observation["subject"] == subject
        assert observation["category"][0]["coding"][0]["code"] == "survey"

    # The RiskAssessment: the tier, a basis per flagged factor, the red flags.
    # The tier (none while incomplete: then the assessment is preliminary), and one prediction
    # per axis with its points and tier.
    risk = one(bundle, "RiskAssessment")
    status = "final" if a.tier else "preliminary"
    assert (risk["status"], risk["subject"]) == (status, subject)
    prediction, *by_axis = risk["prediction"]

    def tier_coding(tier):
        return [
            {
                "system": f"https://example.org/fhir/CodeSystem/{q.id}/tier",
                "code": tier.id,
                "display": tier.label,
            }
        ]

    if a.tier:
        assert prediction["qualitativeRisk"]["coding"] == tier_coding(a.tier)
    else:
        assert "qualitativeRisk" not in prediction
    assert f"{a.total} of {a.max_total} points" in prediction["rationale"]
    assert len(by_axis) == len(a.axes)
    for axis_prediction, axis in zip(by_axis, a.axes, strict=True):
        assert axis_prediction["outcome"]["text"] == f"{axis.axis.label}: {axis.axis.outcome}"
        assert axis_prediction["rationale"].startswith(f"{axis.points} of {axis.max} points")
        if axis.tier:
            assert axis_prediction["qualitativeRisk"]["coding"] == tier_coding(axis.tier)
    contained = {c["id"]: c for c in risk.get("contained", [])}
    assert len(risk.get("basis", [])) == len(a.factors) == len(contained)
    for basis, r in zip(risk.get("basis", []), a.factors, strict=True):
        factor = contained[basis["reference"].removeprefix("#")]
        assert factor["code"]["coding"][0]["code"] == r.factor.id
        assert factor["code"]["text"] == r.factor.label
        assert factor["valueInteger"] == r.factor.points
        assert factor["note"][0]["text"] == r.factor.clinician_text
        assert factor["derivedFrom"] == [response_ref]
        assert basis["display"].startswith(f"{r.factor.label}: {r.factor.points} point")
        assert r.factor.clinician_text in basis["display"]
    flags = [
        n
        for n in risk.get("note", [])
        if n.get("extension", [{}])[0].get("url") == fhir.RED_FLAG_URL
    ]
    assert [n["extension"][0]["valueCoding"]["code"] for n in flags] == [
        r.flag.id for r in a.red_flags
    ]
    for note, r in zip(flags, a.red_flags, strict=True):
        assert note["text"].startswith("RED FLAG: ") and r.flag.clinician_message in note["text"]


@pytest.mark.parametrize("name", [e.name for e in load_path(SHIPPED).examples])
def test_every_example_of_the_shipped_questionnaire(shipped, shipped_questionnaire, name):
    answers = next(e for e in shipped.examples if e.name == name).answers
    a = score(shipped, answers, SUBMITTED.date())
    bundle = fhir.bundle(a, PATIENT, META)
    check_bundle(bundle)
    check_response(one(bundle, "QuestionnaireResponse"), shipped_questionnaire)
    check_assessment(bundle, a)
    assert set(answered(one(bundle, "QuestionnaireResponse"))) == set(a.answers)


def test_a_month_and_year_is_a_fhir_date_of_month_precision(shipped, shipped_questionnaire):
    """quit_date (`month_year`, 2.1.0): an item of type date, answered YYYY-MM (R4's date
    allows a year and a month alone); validated by fhir.resources like every export."""
    item = next(i for i in items(shipped_questionnaire) if i["linkId"] == "quit_date")
    assert item["type"] == "date"
    assert {"url": fhir.ENTRY_FORMAT_URL, "valueString": "YYYY-MM"} in item["extension"]
    answers = next(e for e in shipped.examples if e.name.startswith("moderate tier")).answers
    bundle = fhir.bundle(score(shipped, answers, SUBMITTED.date()), PATIENT, META)
    check_bundle(bundle)
    assert answered(one(bundle, "QuestionnaireResponse"))["quit_date"] == [
        {"valueDate": "2021-06"}]


def test_the_resources_read_well(shipped):
    a = score(shipped, example_answers(shipped, "several safety flags"), SUBMITTED.date())
    bundle = fhir.bundle(a, PATIENT, META)
    assert a.tier.id == "high" and a.red_flags and a.factors
    # An Observation per scored instrument: PHQ-9, GAD-7, AUDIT-C, STarT Back (total and
    # psychosocial subscore) and PEG.
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Patient",
        "QuestionnaireResponse",
        *["Observation"] * 6,
        "RiskAssessment",
    ]
    assert bundle["identifier"] == {"system": fhir.SCREENING_SYSTEM, "value": "S-000042"}
    assert one(bundle, "Patient") == {
        "resourceType": "Patient",
        "id": one(bundle, "Patient")["id"],
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ],
                    "text": "MRN",
                },
                "value": "MRN-0042",
            }
        ],
        "name": [{"text": "Ann Example"}],
        "birthDate": "1961-07-30",
    }
    response = one(bundle, "QuestionnaireResponse")
    assert (response["status"], response["authored"]) == ("completed", "2026-03-04T09:30:15Z")
    got = answered(response)
    assert got["height"] == [
        {"valueQuantity": {"value": 163.0, "unit": "cm", "system": fhir.UCUM, "code": "cm"}}
    ]
    assert got["osteoporosis"] == [{"valueBoolean": True}]
    assert [v["valueCoding"]["code"] for v in got["other_pain_areas"]] == [
        "neck_shoulders",
        "hips_knees_feet",
    ]
    assert got["phq9_1"] == [
        {
            "valueCoding": {
                "extension": [{"url": fhir.ORDINAL_URL, "valueDecimal": 1}],
                "system": LOINC,
                "code": "LA6569-3",
                "display": "Several days",
            }
        }
    ]
    assert '"_display"' not in json.dumps(response)  # translations are the Questionnaire's
    observations = {o["code"]["text"]: o for o in entries(bundle, "Observation")}
    assert observations["PHQ-9"]["code"]["coding"][0]["code"] == "44261-6"
    assert observations["GAD-7"]["code"]["coding"][0]["code"] == "70274-6"
    assert (observations["PHQ-9"]["valueInteger"], observations["GAD-7"]["valueInteger"]) == (8, 7)
    assert observations["PHQ-9"]["interpretation"] == [{"text": "mild"}]
    assert one(bundle, "RiskAssessment")["prediction"][0]["qualitativeRisk"]["text"] == "High"


def test_the_loinc_codes_are_the_yamls(shipped):
    codes = {i.id: (i.code.system, i.code.code) for i in shipped.instruments if i.code}
    assert codes == {"phq9": (LOINC, "44261-6"), "gad7": (LOINC, "70274-6")}
    # No LOINC total-score code was verified for these: they carry none (the bundle codes them
    # in the questionnaire's own code system).
    uncoded = {i.id for i in shipped.instruments if i.code is None}
    assert uncoded == {"audit_c", "startback", "startback_psych", "peg"}


def example_answers(q, name_part: str) -> dict[str, Any]:
    return dict(next(e for e in q.examples if name_part in e.name).answers)


def test_an_export_is_reproducible(shipped):
    a = score(shipped, example_answers(shipped, "several safety flags"), SUBMITTED.date())
    first = json.dumps(fhir.bundle(a, PATIENT, META))
    again = score(shipped, example_answers(shipped, "several safety flags"), SUBMITTED.date())
    assert json.dumps(fhir.bundle(again, PATIENT, META)) == first
    other = fhir.bundle(a, PATIENT, fhir.ScreeningMeta("S-000043", SUBMITTED))
    ids = {e["fullUrl"] for e in json.loads(first)["entry"]}
    assert ids.isdisjoint(e["fullUrl"] for e in other["entry"])


def test_no_mrn_no_birth_date_and_an_unscored_instrument(shipped):
    answers = example_answers(shipped, "several safety flags")
    del answers["gad7_3"]  # GAD-7 incomplete: no total, so no Observation
    a = score(shipped, answers, SUBMITTED.date())
    bundle = fhir.bundle(a, fhir.PatientDetails("Bo"), META)
    check_bundle(bundle)
    assert one(bundle, "Patient") == {
        "resourceType": "Patient",
        "id": one(bundle, "Patient")["id"],
        "name": [{"text": "Bo"}],
    }
    assert [o["code"]["text"] for o in entries(bundle, "Observation")] == [
        i.label for i in shipped.instruments if i.id != "gad7"
    ]
    assert one(bundle, "QuestionnaireResponse")["status"] == "in-progress"


def test_a_screening_without_factors_or_flags(shipped):
    a = score(shipped, example_answers(shipped, "low tier"), SUBMITTED.date())
    assert a.tier.id == "low" and not a.red_flags
    bundle = fhir.bundle(a, PATIENT, META)
    check_bundle(bundle)
    check_assessment(bundle, a)


# --- a screening made and submitted through the real app --------------------------------------


def test_the_bundle_of_a_submitted_screening(app):
    """Submitted with a stale answer to a question that became hidden: the answer is still
    stored, and not in the QuestionnaireResponse."""
    q = questionnaire(app)
    answers = example(app, "several safety flags")
    assert answers["nicotine"] == "never"  # so nicotine_forms is hidden at submission
    ident, _ = factories.screening(
        app, "Nia Example", patient_dob=dt.date(1958, 2, 1), patient_mrn="MRN-9"
    )
    with app.app_context():
        screening = db.session.get(Screening, ident)
        # First the patient said she smokes, and which forms; then she went back and changed it.
        earlier, errors = type_answers(
            q, {**answers, "nicotine": "current", "nicotine_forms": ["vape"]}
        )
        assert not errors
        visible, _ = visible_questions(q, earlier)
        assert "nicotine_forms" in visible
        answering.save_step(screening, q, q.questions["nicotine"].step_id, earlier, visible)
        db.session.commit()
        db.session.remove()
    factories.submit_example(app, ident, "several safety flags")

    with app.app_context():
        screening = db.session.get(Screening, ident)
        assert answering.saved_answers(screening)["nicotine_forms"] == ["vape"]
        bundle = exporting.fhir_bundle(screening, None)
        again = exporting.fhir_bundle(screening, None)
        a = score(q, answering.saved_answers(screening), screening.submitted_at.date())
        submitted_at, reference = screening.submitted_at, screening.reference
        db.session.remove()

    assert bundle == again
    check_bundle(bundle)
    resource = fhir.questionnaire_resource(q)
    check_response(one(bundle, "QuestionnaireResponse"), resource)
    check_assessment(bundle, a)
    response = one(bundle, "QuestionnaireResponse")
    got = answered(response)
    assert "nicotine_forms" not in got and "nicotine_forms" not in json.dumps(response)
    assert got["nicotine"][0]["valueCoding"]["code"] == "never"
    assert set(got) == set(a.answers)
    assert response["authored"] == submitted_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert response["identifier"] == {"system": fhir.SCREENING_SYSTEM, "value": reference}
    patient = one(bundle, "Patient")
    assert patient["name"] == [{"text": "Nia Example"}]
    assert patient["birthDate"] == "1958-02-01"
    assert patient["identifier"][0]["value"] == "MRN-9"
    risk = one(bundle, "RiskAssessment")
    assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "high"
    assert {r.flag.id for r in a.red_flags} and all(
        n["text"].startswith("RED FLAG") for n in risk["note"][: len(a.red_flags)]
    )


def test_an_unsubmitted_screening_has_no_bundle(app):
    ident, _ = factories.screening(app, "Ivy Invited")
    with app.app_context():
        with pytest.raises(NotAllowed):
            exporting.fhir_bundle(db.session.get(Screening, ident), None)
        db.session.remove()


# --- clinical model 2.0: axes, floors, unknowns, incomplete answers -----------------------------

AXES = SHIPPED.parent.parent / "tests" / "fixtures" / "axes.yaml"


def test_each_axis_is_a_prediction_of_its_own_outcome():
    q = load_path(AXES)
    answers = {"procedure": "fusion", "smoker": True, "m1": 3, "m2": 3, "bother": "none",
               "drinks": False}  # fmt: skip
    a = score(q, answers, SUBMITTED.date())
    bundle = fhir.bundle(a, PATIENT, META)
    check_bundle(bundle)
    risk = one(bundle, "RiskAssessment")
    tiers = [p["qualitativeRisk"]["text"] for p in risk["prediction"]]
    assert tiers == ["High", "High", "Moderate"]
    assert [p["outcome"]["text"] for p in risk["prediction"]] == [
        fhir.screening_bundle.OUTCOME,
        "Medical and surgical: Complications, non-union or reoperation",
        "Psychosocial and pain: Persistent pain and disability",
    ]
    assert risk["prediction"][2]["rationale"] == (
        "2 of 2 points; A distress score of 6 or more puts this axis at least at moderate."
    )


def test_incomplete_answers_are_a_preliminary_assessment_with_no_tier():
    q = load_path(AXES)
    a = score(q, {"procedure": "not_sure", "smoker": True}, SUBMITTED.date())
    bundle = fhir.bundle(a, PATIENT, META)
    check_bundle(bundle)
    risk = one(bundle, "RiskAssessment")
    assert risk["status"] == "preliminary"
    assert all("qualitativeRisk" not in p for p in risk["prediction"])
    assert "2 unknown, to verify" in risk["prediction"][0]["rationale"]
