"""The load test (tests/bench/loadtest.py) as a test: gunicorn + PostgreSQL, no timing asserts.

`test_load_small` runs in `make test` (8 patients, short ceiling runs); `test_load_full` runs the
50-patient load test and prints its report when LOADTEST_FULL=1.
"""

from __future__ import annotations

import os

import pytest

from tests.bench import loadtest
from tests.conftest import pg_url_or_skip

pytestmark = pytest.mark.postgres


def check(report: loadtest.Report, patients: int) -> None:
    print(report.text())
    assert report.stats.errors == [], report.stats.errors[:20]
    assert report.patient_errors == []
    assert report.completed == patients
    verification = report.verification
    assert verification.ok, verification.problems()
    assert verification.submitted == patients
    assert verification.answers_stored == verification.answers_expected > 0
    assert report.stats.summary("step POST")["count"] >= patients * 5
    assert report.stats.summary("dashboard GET") is not None


def test_load_small():
    """8 patients at once through gunicorn, with 2 clinicians reading the dashboard and PDFs:
    no errors, every screening submitted, every answer stored exactly once."""
    config = loadtest.Config(
        database_url=pg_url_or_skip(),
        patients=8,
        think=0.0,
        staff_think=0.2,
        ceiling_seconds=2.0,
        ceiling_threads=8,
    )
    report = loadtest.run(config, out=None)
    check(report, 8)
    assert report.pdfs >= 1
    for rate in (report.step_rate, report.ceiling_rate):
        assert rate["requests"] > 0 and rate["errors"] == 0
    assert len(report.rounds) == loadtest.CEILING_ROUNDS  # measured in turn
    for index, rate in enumerate((report.step_rate, report.ceiling_rate, report.string_rate)):
        each = [rounds[index] for rounds in report.rounds]  # all rounds make the side's figure
        assert min(each) <= rate["rps"] <= max(each) == rate["best_round_rps"]
    assert report.ceiling_same_markup  # the ceiling is the step page's own markup
    shares = [step / ceiling for step, ceiling, _ in report.rounds]  # the figure's spread
    assert report.round_shares == pytest.approx(shares)
    assert f"lowest {min(shares):.1%}, highest {max(shares):.1%}" in report.text()


@pytest.mark.skipif(os.environ.get("LOADTEST_FULL") != "1", reason="set LOADTEST_FULL=1")
def test_load_full():
    """The full load test: 50 patients, 20 seconds of ceiling runs a side; prints the report
    (-s)."""
    report = loadtest.run(loadtest.Config(database_url=pg_url_or_skip()), out=print)
    check(report, 50)
