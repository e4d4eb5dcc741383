"""`screening export fhir SCREENING_ID` and `screening export fhir-questionnaire DEF.yaml`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from screening.commands import main as screening_cli
from screening.definition import load_path
from screening.domain import exporting
from screening.exports import fhir
from screening.extensions import db
from screening.models import Screening
from tests import factories
from tests.conftest import ROOT, SHIPPED
from tests.staff.conftest import audit_events

from .support import check_bundle, check_questionnaire, validated

BROKEN = ROOT / "tests" / "fixtures" / "broken"


def test_fhir_questionnaire_prints_the_questionnaire():
    result = CliRunner().invoke(screening_cli, ["export", "fhir-questionnaire", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads(json.dumps(fhir.questionnaire_resource(load_path(SHIPPED))))
    validated(printed)
    check_questionnaire(printed)
    assert result.stdout.startswith('{\n  "resourceType": "Questionnaire",\n')  # indent 2
    assert "¿" in result.stdout  # Spanish as it is, not as \u escapes


def test_fhir_questionnaire_of_a_broken_definition_prints_its_errors():
    path = BROKEN / "condition_unknown_option.yaml"
    result = CliRunner().invoke(screening_cli, ["export", "fhir-questionnaire", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}:" in result.stderr and "has no option" in result.stderr
    missing = CliRunner().invoke(screening_cli, ["export", "fhir-questionnaire", "nope.yaml"])
    assert (missing.exit_code, missing.stderr.strip()) == (1, "nope.yaml: no such file")


def test_fhir_prints_a_submitted_screenings_bundle(app, runner):
    ident, _ = factories.submitted(app, "self-harm", name="Sam Flagged", patient_mrn="MRN-3")
    result = runner.invoke(screening_cli, ["export", "fhir", str(ident)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    check_bundle(printed)
    with app.app_context():
        expected = exporting.fhir_bundle(db.session.get(Screening, ident), None)
        db.session.remove()
    assert printed == json.loads(json.dumps(expected))
    assert result.stdout.startswith('{\n  "resourceType": "Bundle",\n')
    [event] = audit_events(app, "fhir_exported")
    assert (event.screening_id, event.user_id, event.address, event.detail) == (
        ident,
        None,
        "cli",
        "command line",
    )
    # Its reference as printed on paper does as well.
    by_reference = runner.invoke(screening_cli, ["export", "fhir", f"S-{ident:06d}"])
    assert by_reference.exit_code == 0 and json.loads(by_reference.stdout) == printed


def test_fhir_refuses_a_screening_that_is_missing_or_not_submitted(app, runner):
    ident, _ = factories.screening(app, "Ivy Invited")
    result = runner.invoke(screening_cli, ["export", "fhir", str(ident)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"screening {ident} is not submitted (it is invited)" in result.stderr
    result = runner.invoke(screening_cli, ["export", "fhir", "999"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert "there is no screening 999" in result.stderr
    result = runner.invoke(screening_cli, ["export", "fhir", "twelve"])
    assert result.exit_code == 2 and "is not a screening number" in result.stderr
    assert audit_events(app, "fhir_exported") == []
