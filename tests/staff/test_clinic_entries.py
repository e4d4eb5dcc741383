"""What the clinic knows about the planned surgery: entered on the invitation (web form, command
line) or on the screening's page before submission, kept on the screening, scored where the
patient's own answer does not tell, shown to clinicians (page, PDF, FHIR, API) and never to the
patient. A questionnaire of the tests' own (tests/fixtures/clinic.yaml: two axes, "Not sure"
options, three clinic questions) stands in for the 2.0.0 file; the shipped one is checked too.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from screening import queue
from screening.commands import main as screening_cli
from screening.definition import load_path
from screening.exports import fhir
from screening.models import Screening
from tests import factories
from tests.api.conftest import bearer, make_key
from tests.exports.support import check_questionnaire, entries, validated
from tests.pdf import page_texts
from tests.web.support import main, main_text, page, squash, walk

from .conftest import audit_events, csrf_from, row, scalars, signed_in, token_of
from .test_invitations import invitation_form

CLINIC_YAML = Path(__file__).resolve().parent.parent / "fixtures" / "clinic.yaml"
# The patient is not sure of the operation and of diabetes, and says this is a revision.
PATIENT = {
    "procedure": "not_sure", "revision": "yes", "smoker": False, "diabetes": "not_sure",
    "m1": 2, "m2": 2, "worry": True,
}  # fmt: skip
# The clinic knows it is a decompression of one level, and not a revision.
CLINIC = {"procedure": "decompression", "levels": 1, "revision": "no"}
ATTRIBUTION = "developed by Drs. Spitzer, Williams, Kroenke and colleagues"
NOTICE = "This material contains content from LOINC"


@pytest.fixture
def app_config() -> dict:
    return {"SCREENING_QUESTIONNAIRE": str(CLINIC_YAML)}


def the_screening(app) -> dict:
    [only] = scalars(app, sa.select(Screening))
    return row(app, Screening, only.id)


def submitted(app, clinic: dict | None = None, answers: dict | None = None) -> int:
    ident, _ = factories.screening(app, clinic_answers=CLINIC if clinic is None else clinic)
    factories.answer_and_submit(app, ident, PATIENT if answers is None else answers)
    return ident


# --- the invitation's form ----------------------------------------------------------------------


def test_the_invitation_offers_a_field_per_clinic_question(app, client, staff):
    signed_in(client, staff["intake"])
    html = main(client.get("/staff/invitations/new"))
    [fieldset] = [f for f in html.find_all("fieldset") if f.has_class("clinic-entries")]
    assert squash(fieldset.find("legend").text) == (
        "What the clinic knows about the planned surgery"
    )
    procedure = fieldset.find("select", name="clinic_procedure")
    options = [(o.attrs["value"], squash(o.text)) for o in procedure.find_all("option")]
    # "Not entered" first; never "Not sure": the clinic enters what it knows or nothing.
    assert options == [("", "Not entered"), ("decompression", "Decompression"),
                       ("fusion", "Fusion")]  # fmt: skip
    levels = fieldset.find("input", name="clinic_levels")
    assert (levels.attrs["type"], levels.attrs["min"], levels.attrs["max"]) == ("number", "1", "6")
    assert fieldset.find("select", name="clinic_revision") is not None
    assert fieldset.find("select", name="clinic_smoker") is None  # not a clinic question


def test_the_clinics_entries_are_kept_with_the_invitation(app, client, staff):
    signed_in(client, staff["intake"])
    response = client.post("/staff/invitations/new", data=invitation_form(
        clinic_procedure="fusion", clinic_levels="3", clinic_revision=""))  # fmt: skip
    assert response.status_code == 303
    assert the_screening(app)["clinic_answers"] == {"procedure": "fusion", "levels": 3}


def test_without_entries_nothing_is_kept(app, client, staff):
    signed_in(client, staff["intake"])
    assert client.post("/staff/invitations/new", data=invitation_form()).status_code == 303
    assert the_screening(app)["clinic_answers"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("clinic_levels", "9", "Please enter a number between 1 and 6."),
        ("clinic_levels", "0", "Please enter a number between 1 and 6."),
        ("clinic_levels", "two", "Enter a whole number, using digits only."),
        ("clinic_levels", "1e3", "Enter a whole number, using digits only."),
        ("clinic_procedure", "not_sure", "Not a valid choice."),
        ("clinic_procedure", "laser", "Not a valid choice."),
        ("clinic_revision", "maybe", "Not a valid choice."),
    ],
)
def test_a_value_the_engine_refuses_is_a_form_error(app, client, staff, field, value, message):
    signed_in(client, staff["intake"])
    response = client.post("/staff/invitations/new", data=invitation_form(**{field: value}))
    assert response.status_code == 422
    html = main(response)
    assert message in squash(html.find(class_="error-summary").text)
    assert html.find("a", href=f"#{field}") is not None
    assert scalars(app, sa.select(Screening)) == []


def test_the_invitation_needs_its_csrf_token(csrf, app, client, staff):
    signed_in(client, staff["intake"])
    data = invitation_form(clinic_procedure="fusion")
    assert client.post("/staff/invitations/new", data=data).status_code == 400
    assert scalars(app, sa.select(Screening)) == []
    token = token_of(client, "/staff/invitations/new")
    response = client.post("/staff/invitations/new", data={**data, "csrf_token": token})
    assert response.status_code == 303
    assert the_screening(app)["clinic_answers"] == {"procedure": "fusion"}


# --- changed on the screening's page before submission --------------------------------------------


def test_staff_change_the_entries_before_submission_audited(app, client, staff):
    ident, _ = factories.screening(app, clinic_answers={"procedure": "fusion", "levels": 3})
    signed_in(client, staff["intake"])
    html = main(client.get(f"/staff/screenings/{ident}"))
    form = html.find("form", action=f"/staff/screenings/{ident}/clinic-answers")
    options = form.find("select", name="clinic_procedure").find_all("option")
    assert [o.attrs["value"] for o in options if "selected" in o.attrs] == ["fusion"]
    assert form.find("input", name="clinic_levels").attrs["value"] == "3"

    response = client.post(
        f"/staff/screenings/{ident}/clinic-answers",
        data={"clinic_procedure": "decompression", "clinic_levels": "", "clinic_revision": "yes"},
    )
    assert response.status_code == 303
    assert row(app, Screening, ident)["clinic_answers"] == {
        "procedure": "decompression",
        "revision": "yes",
    }
    [event] = audit_events(app, "clinic_answers_changed")
    assert (event.screening_id, event.user_id) == (ident, staff["intake"].id)
    assert event.detail == "questions levels, procedure, revision"  # ids, never a value

    clinician = signed_in(client.application.test_client(), staff["clinician"])
    response = clinician.post(f"/staff/screenings/{ident}/clinic-answers",
                              data={"clinic_procedure": "fusion"})  # fmt: skip
    assert response.status_code == 303
    assert row(app, Screening, ident)["clinic_answers"] == {"procedure": "fusion"}


def test_a_bad_change_is_shown_on_the_page_and_changes_nothing(app, client, staff):
    ident, _ = factories.screening(app, clinic_answers={"levels": 2})
    signed_in(client, staff["clinician"])
    response = client.post(f"/staff/screenings/{ident}/clinic-answers",
                           data={"clinic_levels": "12"})  # fmt: skip
    assert response.status_code == 422
    assert "Please enter a number between 1 and 6." in squash(main_text(response))
    assert page(response).find("input", name="clinic_levels").attrs["value"] == "12"
    assert row(app, Screening, ident)["clinic_answers"] == {"levels": 2}
    assert audit_events(app, "clinic_answers_changed") == []


def test_the_change_needs_its_csrf_token(csrf, app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["intake"])
    url = f"/staff/screenings/{ident}/clinic-answers"
    assert client.post(url, data={"clinic_levels": "2"}).status_code == 400
    assert row(app, Screening, ident)["clinic_answers"] is None
    token = csrf_from(client.get(f"/staff/screenings/{ident}"))
    response = client.post(url, data={"clinic_levels": "2", "csrf_token": token})
    assert response.status_code == 303
    assert row(app, Screening, ident)["clinic_answers"] == {"levels": 2}


def test_once_submitted_the_entries_no_longer_change(app, client, staff):
    ident = submitted(app)
    signed_in(client, staff["clinician"])
    html = main(client.get(f"/staff/screenings/{ident}"))
    assert html.find("form", action=f"/staff/screenings/{ident}/clinic-answers") is None
    response = client.post(f"/staff/screenings/{ident}/clinic-answers",
                           data={"clinic_procedure": "fusion"})  # fmt: skip
    assert response.status_code == 303
    assert row(app, Screening, ident)["clinic_answers"] == CLINIC
    assert audit_events(app, "clinic_answers_changed") == []


# --- the command line -------------------------------------------------------------------------


def test_invite_takes_the_clinics_entries(app, runner):
    result = runner.invoke(screening_cli, ["invite", "--name", "Ann Example", "--clinic",
                                           "procedure=fusion", "--clinic", "levels=2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert the_screening(app)["clinic_answers"] == {"procedure": "fusion", "levels": 2}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("smoker=yes", "smoker=yes: Not a question the clinic enters (these are: procedure, "
                       "levels, revision)."),
        ("levels=7", "levels=7: Please enter a number between 1 and 6."),
        ("procedure=not_sure", "procedure=not_sure: Leave it blank when the clinic does not know."),
        ("procedure", "'procedure' is not QUESTION=VALUE"),
    ],
)  # fmt: skip
def test_invite_refuses_what_cannot_be_kept(app, runner, given, message):
    result = runner.invoke(screening_cli, ["invite", "--name", "Ann Example", "--clinic", given])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert scalars(app, sa.select(Screening)) == []


# --- scoring a stored screening ---------------------------------------------------------------


def test_the_clinics_entry_is_scored_where_the_patient_was_not_sure(app):
    ident = submitted(
        app,
        clinic={"procedure": "fusion", "levels": 3, "revision": "no"},
        answers={**PATIENT, "procedure": "fusion", "fusion_brace": True},
    )
    stored = row(app, Screening, ident)["assessment"]
    # The patient said fusion themselves: the clinic's levels (not asked of the patient) count.
    assert {f["id"] for f in stored["factors"]} >= {"fusion", "long_fusion", "revision_surgery"}
    clinic = {e["question"]: e for e in stored["clinic"]}
    assert clinic["levels"] == {"question": "levels", "clinic": 3, "patient": None,
                                "used": True, "differs": False}  # fmt: skip
    # The patient says it is a revision; the clinic says not: the patient's answer is scored,
    # and the difference shown.
    assert clinic["revision"]["used"] is False and clinic["revision"]["differs"] is True


def test_not_sure_answers_take_the_clinics_entry_and_the_rest_are_unknowns(app):
    ident = submitted(app, clinic={"procedure": "decompression", "revision": "no"},
                      answers={**PATIENT, "revision": "not_sure"})  # fmt: skip
    stored = row(app, Screening, ident)["assessment"]
    assert {f["id"] for f in stored["factors"]} == {"low_mood", "worrying"}
    assert [u["id"] for u in stored["unknowns"]] == ["diabetes"]
    assert {e["question"]: e["used"] for e in stored["clinic"]} == {
        "procedure": True,
        "revision": True,
    }
    assert stored["complete"] is True and stored["tier"] == "moderate"
    assert [(a["id"], a["tier"]) for a in stored["axes"]] == [
        ("medical", "low"),
        ("psychosocial", "moderate"),
    ]
    assert row(app, Screening, ident)["tier"] == "moderate"


# --- what clinicians see ----------------------------------------------------------------------


def test_the_staff_page_shows_axes_unknowns_and_the_clinics_entries(app, client, staff):
    ident = submitted(app)
    signed_in(client, staff["clinician"])
    html = main(client.get(f"/staff/screenings/{ident}"))
    text = squash(html.text)
    assert "Risk tier: Moderate" in text
    assert "The overall tier is the higher of the axes' tiers." in text
    rows = [squash(tr.text) for tr in html.find("table", class_="data").find_all("tr")]
    assert rows[1] == (
        "Medical Complications within 90 days Revision surgery puts the medical risk at least "
        "at moderate. Moderate 1 of 6"
    )
    assert rows[2] == "Psychosocial Persistent pain a year after surgery Moderate 2 of 2"
    assert "Unknown, to verify" in text
    assert "Diabetes (Medical, 1 point if it applies)" in text
    assert "Do you have diabetes? Not sure The clinic's entries" in text
    assert "Clinic's entry used: Decompression (the patient answered Not sure)" in text
    assert "Differs: the patient answered Yes, the clinic entered No" in text
    assert "Distress measured twice: its factors add 3 points, 2 counted (capped)." in text


def test_intake_staff_see_the_entries_but_no_result(app, client, staff):
    ident = submitted(app)
    signed_in(client, staff["intake"])
    text = squash(main_text(client.get(f"/staff/screenings/{ident}")))
    assert "What the clinic entered about the planned surgery" in text
    assert "Which operation is planned? Decompression" in text
    for word in ("Risk tier", "Unknown, to verify", "Differs", "Moderate", "points"):
        assert word not in text


def test_the_pdf_summary_shows_axes_unknowns_and_attributions(app, client, staff):
    ident = submitted(app)
    queue.run_pending(app)  # the worker renders its PDFs
    signed_in(client, staff["clinician"])
    response = client.get(f"/staff/screenings/{ident}/summary.pdf")
    assert response.status_code == 200
    text = " ".join(squash(t) for t in page_texts(response.data))
    assert "Risk tier: Moderate" in text
    assert "Medical Complications within 90 days Moderate" in text and "1 of 6" in text
    assert "Psychosocial Persistent pain a year after surgery Moderate" in text
    assert "2 of 2" in text
    assert "The overall tier is the higher of the axes' tiers." in text
    assert "To verify (the patient was not sure, not scored): Diabetes." in text
    assert "The answers that did not tell: Do you have diabetes? Not sure." in text
    # Page 1: each planned-surgery question as the patient answered it and as the clinic entered it.
    assert "Which operation is planned? Not sure Decompression" in text
    assert "Have you had an operation on this part of your spine before? Yes No" in text
    assert "the patient answered Yes, the clinic entered No" in text
    # In small print at the end: the instrument's attribution and the notices.
    assert text.index(ATTRIBUTION) > text.index("All answers")
    assert NOTICE in text


def test_fhir_carries_attributions_notices_unknowns_and_entries(app, client, staff):
    q = load_path(CLINIC_YAML)
    resource = fhir.questionnaire_resource(q)
    check_questionnaire(resource)
    copyright_ = validated(resource).copyright
    assert ATTRIBUTION in copyright_ and NOTICE in copyright_

    ident = submitted(app)
    signed_in(client, staff["clinician"])
    bundle = client.get(f"/staff/screenings/{ident}/fhir.json").get_json()
    validated(bundle)
    [observation] = entries(bundle, "Observation")
    assert ATTRIBUTION in observation["note"][0]["text"]
    [risk] = entries(bundle, "RiskAssessment")
    notes = [n["text"] for n in risk["note"]]
    assert "Unknown, to verify: Diabetes (answered 'Not sure': Do you have diabetes?)" in notes
    assert (
        "Differs: Have you had an operation on this part of your spine before? the patient "
        "answered Yes, the clinic entered No"
    ) in notes


def test_the_api_shows_the_entries_read_only(app, client):
    key = make_key(app)
    ident, _ = factories.screening(app, clinic_answers={"procedure": "fusion", "levels": 2})
    body = client.get(f"/api/v1/screenings/{ident}", headers=bearer(key)).get_json()
    assert body["clinic_answers"] == {"procedure": "fusion", "levels": 2}
    assert body["assessment"] is None
    plain, _ = factories.screening(app)
    body = client.get(f"/api/v1/screenings/{plain}", headers=bearer(key)).get_json()
    assert body["clinic_answers"] == {}
    doc = client.get("/api/v1/openapi.json").get_json()
    detail = doc["components"]["schemas"]["ScreeningDetail"]["properties"]
    assert "Read-only" in detail["clinic_answers"]["description"]
    assert client.put(f"/api/v1/screenings/{ident}", headers=bearer(key)).status_code == 405


# --- never to the patient ---------------------------------------------------------------------


def test_the_patient_never_sees_the_clinics_entries(app, client):
    clinic = {"procedure": "fusion", "levels": 3, "revision": "no"}
    _, token = factories.screening(app, clinic_answers=clinic)
    answers = {**PATIENT, "procedure": "decompression", "revision": "yes"}
    assert walk(client, app, token, answers).endswith("/review")
    review = squash(main_text(client.get(f"/s/{token}/review")))
    assert client.post(f"/s/{token}/submit").status_code == 303
    result = squash(main_text(client.get(f"/s/{token}/result")))
    queue.run_pending(app)
    copy = " ".join(page_texts(client.get(f"/s/{token}/my-summary.pdf").data))
    assert "How many levels are planned? Not answered" in review  # not the clinic's 3
    for text in (review, result, copy):
        assert "clinic's entr" not in text.lower()
        assert "Fusion" not in text and "differs" not in text.lower()
    stored = the_screening(app)["assessment"]
    assert {e["question"]: e["differs"] for e in stored["clinic"]} == {
        "procedure": True,
        "levels": False,
        "revision": True,
    }


# --- incomplete: no tier anywhere -------------------------------------------------------------


def test_a_clinic_entry_never_asks_for_an_answer_the_patient_was_not_shown(app):
    # The patient was not sure; the clinic says fusion, which would show a question the patient
    # never saw. Which questions are shown is decided on the patient's own answers: the screening
    # is complete and has its tier, scored with the clinic's entries.
    ident = submitted(app, clinic={"procedure": "fusion", "levels": 3},
                      answers={**PATIENT, "revision": "no", "diabetes": "no"})  # fmt: skip
    stored = row(app, Screening, ident)
    assert stored["status"] == "submitted"
    assert stored["assessment"]["complete"] is True
    assert stored["tier"] is not None and stored["assessment"]["tier"] == stored["tier"]
    used = sorted(e["question"] for e in stored["assessment"]["clinic"] if e["used"])
    assert used == ["levels", "procedure"]


def test_an_incomplete_screening_has_no_tier_anywhere(app, client, staff):
    ident = submitted(app, answers={**PATIENT, "revision": "no", "diabetes": "no"})
    started, token = factories.screening(app, "Ivy Started")
    walk(client, app, token, PATIENT, until="mood")

    signed_in(client, staff["clinician"])
    dashboard = main(client.get("/staff/"))
    for tr in dashboard.find("table", class_="screenings").find("tbody").find_all("tr"):
        if "Ivy Started" in tr.text:
            assert not [n for n in tr.iter() if n.has_class("tier")], tr.text
    text = squash(main_text(client.get(f"/staff/screenings/{started}")))
    for tier in ("Low", "Moderate", "High"):
        assert f"Risk tier: {tier}" not in text
    response = client.get("/staff/export.csv")
    exported = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    response.close()
    assert {r["reference"]: r["tier"] for r in exported}[f"S-{started:06d}"] == ""

    key = make_key(app)
    listed = client.get("/api/v1/screenings", headers=bearer(key)).get_json()["items"]
    assert {s["id"]: s["tier"] for s in listed}[started] is None
    assert {s["id"]: s["tier"] for s in listed}[ident] is not None
    detail = client.get(f"/api/v1/screenings/{started}", headers=bearer(key)).get_json()
    assert detail["tier"] is None


# --- the shipped questionnaire (no clinic questions) still works ---------------------------------


class TestWithoutClinicQuestions:
    """The previous questionnaire (1.2.0) has no clinic questions: nothing changes for it."""

    @pytest.fixture
    def app_config(self) -> dict:
        previous = CLINIC_YAML.parents[2] / "questionnaires" / "previous" / "fbss-preop-1.2.0.yaml"
        return {"SCREENING_QUESTIONNAIRE": str(previous)}

    def test_no_fieldset_and_no_entries(self, app, client, staff, runner):
        signed_in(client, staff["intake"])
        html = main(client.get("/staff/invitations/new"))
        assert not [f for f in html.find_all("fieldset") if f.has_class("clinic-entries")]
        response = client.post("/staff/invitations/new",
                               data=invitation_form(clinic_procedure="fusion"))  # fmt: skip
        assert response.status_code == 303
        assert the_screening(app)["clinic_answers"] is None
        result = runner.invoke(screening_cli, ["invite", "--name", "Bo", "--clinic", "x=1"])
        assert result.exit_code == 2
        assert "Not a question the clinic enters (these are: none)" in result.output

    def test_a_submitted_screening_still_reads_as_before(self, app, client, staff):
        ident, _ = factories.submitted(app, "low tier")
        signed_in(client, staff["clinician"])
        text = squash(main_text(client.get(f"/staff/screenings/{ident}")))
        assert "Risk tier: Low" in text
        assert "axes" not in text and "Unknown, to verify" not in text
        queue.run_pending(app)
        assert client.get(f"/staff/screenings/{ident}/summary.pdf").status_code == 200
