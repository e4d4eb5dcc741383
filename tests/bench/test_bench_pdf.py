"""Time to make the PDF summary, against WeasyPrint's own floor, and to serve a stored copy.

Run with `.venv/bin/python -m pytest tests/bench/test_bench_pdf.py --benchmark-only`. Each benchmark
checks what it timed: a PDF, and for the download the stored document's sha256.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa
from weasyprint import HTML

from screening.definition import load_path
from screening.extensions import db
from screening.models import Document
from screening.report.render import PatientInfo, ReportSettings, render_summary
from screening.scoring import score
from tests.conftest import SHIPPED
from tests.helpers import new_screening, signed_in_clinician
from tests.web.support import example, screening_row, walk

pytestmark = pytest.mark.benchmark(group="pdf")

INFO = PatientInfo(
    name="Ann Example",
    dob=dt.date(1960, 4, 30),
    mrn="MRN-0042",
    planned_surgery="L4-S1 posterior fusion",
    reference="S-000042",
    screening_date=dt.datetime(2026, 2, 27, 14, 30, tzinfo=dt.UTC),
)
GENERATED_AT = dt.datetime(2026, 3, 2, 9, 5, tzinfo=dt.UTC)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the cached download is a database read: SQLite is enough here


def test_bench_render_summary_high(benchmark):
    q = load_path(SHIPPED)
    answers = next(e for e in q.examples if e.expect.get("tier") == "high").answers
    assessment = score(q, answers)
    assert assessment.total == 17
    result = benchmark(render_summary, assessment, INFO, ReportSettings(), GENERATED_AT)
    assert result.content.startswith(b"%PDF-")
    assert result.sha256 == hashlib.sha256(result.content).hexdigest()
    assert result.refused_urls == ()


def test_bench_weasyprint_floor(benchmark):
    """WeasyPrint itself on a one-line document: what no summary can go below."""
    pdf = benchmark(lambda: HTML(string="<p>x</p>").write_pdf())
    assert pdf.startswith(b"%PDF-")


def test_bench_summary_words_unstyled(benchmark):
    """The floor for this content: the words of the high-tier summary (its PDF's text, line by
    line) as plain paragraphs, no stylesheet, no tags. What the summary costs beyond this is its
    layout and tagging; what this costs beyond the one-line floor is the amount of text."""
    import io

    from markupsafe import escape
    from pypdf import PdfReader

    q = load_path(SHIPPED)
    answers = next(e for e in q.examples if e.expect.get("tier") == "high").answers
    summary = render_summary(score(q, answers), INFO, ReportSettings(), GENERATED_AT)
    reader = PdfReader(io.BytesIO(summary.content))
    lines = [line for page in reader.pages for line in page.extract_text().splitlines()
             if line.strip()]
    assert len(reader.pages) >= 5 and len(lines) > 200
    html = "".join(f"<p>{escape(line)}</p>" for line in lines)
    pdf = benchmark(lambda: HTML(string=html).write_pdf())
    assert pdf.startswith(b"%PDF-")


def test_bench_cached_download(benchmark, app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "high tier - long"))
    assert client.post(f"/s/{token}/submit").status_code == 303
    screening_id = screening_row(app, token)["id"]
    url = f"/staff/screenings/{screening_id}/summary.pdf"
    client = signed_in_clinician(app)
    first = client.get(url)  # renders and stores the document
    assert first.status_code == 200

    response = benchmark(client.get, url)
    assert response.status_code == 200
    assert response.get_data() == first.get_data()
    with app.app_context():
        sha256 = db.session.scalar(
            sa.select(Document.sha256).where(Document.screening_id == screening_id)
        )
        db.session.remove()
    assert hashlib.sha256(response.get_data()).hexdigest() == sha256
    assert response.headers["ETag"] == f'"{sha256}"'
