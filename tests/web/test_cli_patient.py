"""The clinic's commands that make patient links: `screening invite` and `screening demo`."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from screening.commands import main as screening_cli
from screening.models import utcnow

from .support import db_state, main, screening_row

LINK = re.compile(r"http://localhost/s/([A-Za-z0-9_-]{32})(?![A-Za-z0-9_-])")


def link_in(output: str) -> str:
    links = LINK.findall(output)
    assert len(links) == 1, output
    return links[0]


def test_invite_prints_a_link_that_opens_the_questionnaire(app, client, runner):
    result = runner.invoke(screening_cli, ["invite", "--name", "Ann Example",
                                           "--dob", "1960-04-30"])
    assert result.exit_code == 0, result.output
    token = link_in(result.output)
    assert "Ann Example" in result.output
    assert token not in result.output.replace(f"/s/{token}", "")  # printed once, in the link
    response = client.get(f"/s/{token}")
    assert response.status_code == 200
    assert main(response).find("button").text == "Start"
    row = screening_row(app, token)
    assert row["patient_name"] == "Ann Example"
    assert row["patient_dob"] == dt.date(1960, 4, 30)
    assert row["status"] == "invited"
    days = app.config["SCREENING_LINK_DAYS"]
    assert abs(row["expires_at"] - (utcnow() + dt.timedelta(days=days))) < dt.timedelta(minutes=5)
    assert f"S-{row['id']:06d}" in result.output


def test_invite_with_days_and_a_surgery_date(app, client, runner):
    result = runner.invoke(screening_cli, ["invite", "--name", "Bo Example", "--days", "3",
                                           "--surgery-date", "2031-07-01", "--mrn", "MRN-7"])
    assert result.exit_code == 0, result.output
    row = screening_row(app, link_in(result.output))
    assert row["surgery_date"] == dt.date(2031, 7, 1)
    assert row["patient_mrn"] == "MRN-7"
    assert abs(row["expires_at"] - (utcnow() + dt.timedelta(days=3))) < dt.timedelta(minutes=5)


@pytest.mark.parametrize("dob", ["1960-13-45", "30/04/1960", "yesterday"])
def test_invite_with_a_bad_date_of_birth_fails_clearly(app, runner, dob):
    before = db_state(app)
    result = runner.invoke(screening_cli, ["invite", "--name", "Ann Example", "--dob", dob])
    assert result.exit_code == 2
    assert f"Invalid value: '{dob}' is not a date like 1960-04-30" in result.output
    assert "Traceback" not in result.output
    assert not LINK.search(result.output)
    assert db_state(app) == before


def test_invite_with_an_empty_name_fails_clearly(app, runner):
    before = db_state(app)
    result = runner.invoke(screening_cli, ["invite", "--name", "   "])
    assert result.exit_code == 2
    assert "the name must not be empty" in result.output
    assert db_state(app) == before


def test_demo_prints_a_link_that_works(app, client, runner):
    result = runner.invoke(screening_cli, ["demo"])
    assert result.exit_code == 0, result.output
    token = LINK.findall(result.output)[0]  # the clinic's language first, then Spanish
    assert "Demo Patient" in result.output
    response = client.get(f"/s/{token}")
    assert response.status_code == 200
    assert "It takes about" in main(response).text
    assert screening_row(app, token)["patient_name"] == "Demo Patient"


def test_demo_also_prints_a_spanish_patients_link(app, client, runner):
    result = runner.invoke(screening_cli, ["demo"])
    assert result.exit_code == 0, result.output
    english, spanish = LINK.findall(result.output)
    assert "A patient's link in Spanish" in result.output
    assert screening_row(app, spanish)["language"] == "es"
    assert "Toma unos" in main(client.get(f"/s/{spanish}")).text
    assert screening_row(app, english)["language"] == "en"


def test_demo_refuses_to_run_in_production(app, runner):
    app.config["SCREENING_ENV"] = "production"
    before = db_state(app)
    result = runner.invoke(screening_cli, ["demo"])
    assert result.exit_code == 1
    assert "does not run in production (SCREENING_ENV=production)" in result.output
    assert not LINK.search(result.output)
    assert db_state(app) == before


def test_invite_in_spanish_and_a_language_the_questionnaire_lacks(app, client, runner):
    result = runner.invoke(screening_cli, ["invite", "--name", "Ana Ruiz", "--language", "es"])
    assert result.exit_code == 0, result.output
    token = link_in(result.output)
    assert screening_row(app, token)["language"] == "es"
    assert "Comenzar" in main(client.get(f"/s/{token}")).text
    before = db_state(app)
    result = runner.invoke(screening_cli, ["invite", "--name", "Jean Roux", "--language", "fr"])
    assert result.exit_code == 2
    assert "'fr' is not one of the questionnaire's languages (en, es)" in result.output
    assert db_state(app) == before
