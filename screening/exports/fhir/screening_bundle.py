"""A submitted screening as a collection Bundle: the Patient, the QuestionnaireResponse (answers of
visible questions only), an Observation per scored instrument (valueInteger, the band as
interpretation, derivedFrom the response, its attribution as a note), and the RiskAssessment (the
tier as qualitative risk, one prediction per axis, one basis per flagged factor; red flags,
domain alerts, unknowns to verify and the clinic's entries used or differing as notes). The
instruments' attributions and the questionnaire's notices are also the Questionnaire's
`copyright` (questionnaire.py).

fullUrls are urn:uuid, uuid5 of the screening's reference: exporting the same screening twice gives
the same bundle.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from ... import codec
from ...definition import model as m
from ...scoring import Assessment, InstrumentResult
from .common import (
    CATEGORY_SYSTEM,
    FACTOR_PROPERTY_SYSTEM,
    IDENTIFIER_TYPE,
    OBSERVATION_CATEGORY,
    RED_FLAG_URL,
    SCREENING_SYSTEM,
    code_system,
    coding_of,
    fhir_id,
    questionnaire_url,
    step_link_id,
    value_element,
)

OUTCOME = "Persistent pain after spine surgery (failed back surgery syndrome, PSPS type 2)"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SCREENING_SYSTEM)


@dataclass(frozen=True)
class PatientDetails:
    name: str = ""
    birth_date: dt.date | None = None
    mrn: str | None = None


@dataclass(frozen=True)
class ScreeningMeta:
    reference: str  # e.g. S-000012: the bundle's identifier, and the seed of its uuids
    submitted_at: dt.datetime


def _uuid(meta: ScreeningMeta, *parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join((meta.reference, *parts))))


def _datetime(value: dt.datetime) -> str:
    """A FHIR dateTime in UTC, e.g. 2026-03-04T09:30:15Z (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _patient(patient: PatientDetails, ident: str) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": ident}
    if patient.mrn:
        resource["identifier"] = [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": IDENTIFIER_TYPE,
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ],
                    "text": "MRN",
                },
                "value": patient.mrn,
            }
        ]
    if patient.name:
        resource["name"] = [{"text": patient.name}]
    if patient.birth_date:
        resource["birthDate"] = patient.birth_date.isoformat()
    return resource


def _answers(a: Assessment, question: m.Question) -> list[dict[str, Any]]:
    value = a.answers[question.id]
    values = value if question.type == "multi_choice" else (value,)
    return [value_element(a.questionnaire, question, v, "value") for v in values]


def _response(
    a: Assessment, meta: ScreeningMeta, ident: str, subject: dict[str, str]
) -> dict[str, Any]:
    q = a.questionnaire
    groups = []
    for step_id in a.visible_steps:  # the answers of visible questions only
        step = q.step_by_id[step_id]
        items = [
            {"linkId": question.id, "text": question.label, "answer": _answers(a, question)}
            for question in step.questions
            if question.id in a.visible and question.id in a.answers
        ]
        if items:
            groups.append({"linkId": step_link_id(step), "text": step.title, "item": items})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": ident,
        "language": q.language,  # of its texts: the clinic's, whatever the patient read
    }
    resource.update(
        {
            "identifier": {"system": SCREENING_SYSTEM, "value": meta.reference},
            "questionnaire": f"{questionnaire_url(q)}|{q.version}",
            "status": "completed" if a.complete else "in-progress",
            "subject": subject,
            "authored": _datetime(meta.submitted_at),
            "item": groups,
        }
    )
    return resource


def _instrument(
    q: m.Questionnaire,
    r: InstrumentResult,
    ident: str,
    subject: dict[str, str],
    effective: str,
    source: dict[str, str],
) -> dict[str, Any]:
    """An instrument's total: the YAML's code (LOINC for PHQ-9 and GAD-7) or one of ours."""
    instrument = r.instrument
    coding = (
        coding_of(instrument.code)
        if instrument.code is not None
        else {
            "system": code_system(q, "instrument"),
            "code": instrument.id,
            "display": instrument.label,
        }
    )
    resource = {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": {"coding": [coding], "text": instrument.label},
        "subject": subject,
        "effectiveDateTime": effective,
        "valueInteger": r.score,
        "interpretation": [{"text": r.band}],
        "derivedFrom": [source],
    }
    if instrument.attribution:  # shown with it, as its owner asks
        resource["note"] = [{"text": instrument.attribution}]
    return resource


def _factor(
    q: m.Questionnaire,
    factor: m.RiskFactor,
    subject: dict[str, str],
    effective: str,
    source: dict[str, str],
) -> dict[str, Any]:
    """A flagged factor as a contained Observation: its points, why it matters, what to do."""
    notes = [
        {"text": factor.clinician_text},
        {"text": f"Before surgery: {factor.action}"},
        {"text": "Evidence: " + "; ".join(e.short for e in factor.evidence)},
    ]
    return {
        "resourceType": "Observation",
        "id": fhir_id(f"factor-{factor.id}"),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": CATEGORY_SYSTEM,
                        "code": factor.category,
                        "display": m.CATEGORY_LABELS[factor.category],
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": code_system(q, "risk-factor"),
                    "code": factor.id,
                    "display": factor.label,
                }
            ],
            "text": factor.label,
        },
        "subject": subject,
        "effectiveDateTime": effective,
        "valueInteger": factor.points,
        "derivedFrom": [source],
        "note": notes,
        "component": [
            {
                "code": {
                    "coding": [{"system": FACTOR_PROPERTY_SYSTEM, "code": "modifiable"}],
                    "text": "Modifiable before surgery",
                },
                "valueBoolean": factor.modifiable,
            }
        ],
    }


def _points(n: int) -> str:
    return f"{n} point{'' if n == 1 else 's'}"


def _risk_assessment(
    a: Assessment, ident: str, subject: dict[str, str], effective: str, source: dict[str, str]
) -> dict[str, Any]:
    q = a.questionnaire
    contained = [_factor(q, r.factor, subject, effective, source) for r in a.factors]
    basis = [
        {
            "reference": f"#{observation['id']}",
            "display": f"{r.factor.label}: {_points(r.points)}. {r.factor.clinician_text}",
        }
        for r, observation in zip(a.factors, contained, strict=True)
    ]
    notes = []
    for r in a.red_flags:
        flag = r.flag
        title = flag.title
        notes.append(
            {
                "extension": [
                    {
                        "url": RED_FLAG_URL,
                        "valueCoding": {
                            "system": code_system(q, "red-flag"),
                            "code": flag.id,
                            "display": title,
                        },
                    }
                ],
                "text": (
                    f"RED FLAG: {title} ({m.URGENCY_LABELS.get(flag.urgency, flag.urgency)}). "
                    f"{flag.clinician_message}"
                ),
            }
        )
    notes += [{"text": alert.clinician_message} for alert in a.domain_alerts]
    for r in a.unknowns:
        asked = "; ".join(q.questions[i].label for i in a.unknown_answers(r))
        notes.append(
            {"text": f"Unknown, to verify: {r.factor.label} (answered 'Not sure': {asked})"}
        )
    for e in a.clinic:
        question = q.questions[e.question_id]
        clinic = codec.display(question, e.clinic)
        if e.used:
            notes.append({"text": f"The clinic's entry was used: {question.label} {clinic}"})
        elif e.differs:
            patient = codec.display(question, e.patient)
            notes.append(
                {
                    "text": f"Differs: {question.label} the patient answered {patient}, "
                    f"the clinic entered {clinic}"
                }
            )
    resource: dict[str, Any] = {"resourceType": "RiskAssessment", "id": ident}
    if contained:
        resource["contained"] = contained
    resource.update(
        {
            # Incomplete answers have no tier: the assessment is preliminary, with no risk.
            "status": "final" if a.tier else "preliminary",
            "method": {
                "coding": [{"system": questionnaire_url(q), "code": q.version}],
                "text": f"{q.title} ({q.id} {q.version}): points model",
            },
            "subject": subject,
            "occurrenceDateTime": effective,
        }
    )
    if basis:
        resource["basis"] = basis
    overall: dict[str, Any] = {"outcome": {"text": OUTCOME}}
    if a.tier:
        overall["qualitativeRisk"] = _risk(q, a.tier)
    overall["rationale"] = (
        f"{a.total} of {a.max_total} points ({a.modifiable_points} modifiable), "
        f"{len(a.factors)} risk factor{'' if len(a.factors) == 1 else 's'}"
        + (f"; the higher of the {len(a.axes)} axes' tiers" if a.axes else "")
        + (f"; {len(a.unknowns)} unknown, to verify" if a.unknowns else "")
    )
    resource["prediction"] = [overall]
    for axis in a.axes:  # each axis predicts its own outcome
        prediction: dict[str, Any] = {
            "outcome": {"text": f"{axis.axis.label}: {axis.axis.outcome}"}
        }
        if axis.tier:
            prediction["qualitativeRisk"] = _risk(q, axis.tier)
        floors = "".join(f"; {f.reason}" for f in axis.floors)
        prediction["rationale"] = f"{axis.points} of {axis.max} points{floors}"
        resource["prediction"].append(prediction)
    if notes:
        resource["note"] = notes
    return resource


def bundle(a: Assessment, patient: PatientDetails, meta: ScreeningMeta) -> dict[str, Any]:
    """The screening as a collection Bundle (see the module's docstring)."""
    q = a.questionnaire
    ids = {
        "Patient": _uuid(meta, "Patient"),
        "QuestionnaireResponse": _uuid(meta, "QuestionnaireResponse"),
        "RiskAssessment": _uuid(meta, "RiskAssessment"),
    }
    subject = {"reference": f"urn:uuid:{ids['Patient']}"}
    source = {"reference": f"urn:uuid:{ids['QuestionnaireResponse']}"}
    effective = _datetime(meta.submitted_at)
    resources = [
        _patient(patient, ids["Patient"]),
        _response(a, meta, ids["QuestionnaireResponse"], subject),
    ]
    for instrument in q.instruments:
        r = a.instruments.get(instrument.id)
        if r is not None and r.score is not None:
            ident = _uuid(meta, "Observation", instrument.id)
            resources.append(_instrument(q, r, ident, subject, effective, source))
    resources.append(_risk_assessment(a, ids["RiskAssessment"], subject, effective, source))
    return {
        "resourceType": "Bundle",
        "id": _uuid(meta, "Bundle"),
        "identifier": {"system": SCREENING_SYSTEM, "value": meta.reference},
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def _risk(q: m.Questionnaire, tier: m.Tier) -> dict[str, Any]:
    return {
        "coding": [{"system": code_system(q, "tier"), "code": tier.id, "display": tier.label}],
        "text": tier.label,
    }
