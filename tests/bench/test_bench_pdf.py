"""Time to make the PDF summary (page 1 alone; page 1 and the detail against the same words
unstyled), and to serve a stored version.

Run with `.venv/bin/python -m pytest tests/bench/test_bench_pdf.py --benchmark-only`. Each benchmark
checks what it timed: a PDF, and for the download the stored document's sha256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import statistics
import time

import pytest
import sqlalchemy as sa
from markupsafe import escape
from pypdf import PdfReader
from weasyprint import HTML

from screening import queue
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


def high_tier():
    q = load_path(SHIPPED)
    answers = next(e for e in q.examples if e.expect.get("tier") == "high").answers
    return score(q, answers)


def summary_words(pdf: bytes) -> str:
    """The words of a PDF, line by line, as plain paragraphs (no stylesheet, no tags)."""
    reader = PdfReader(io.BytesIO(pdf))
    lines = [line for page in reader.pages for line in page.extract_text().splitlines()
             if line.strip()]  # fmt: skip
    return "".join(f"<p>{escape(line)}</p>" for line in lines)


def test_bench_render_summary_high(benchmark):
    """The whole document, as a worker renders it (page 1, the detail, "All answers")."""
    assessment = high_tier()
    result = benchmark(render_summary, assessment, INFO, ReportSettings(), GENERATED_AT)
    assert result.content.startswith(b"%PDF-")
    assert result.sha256 == hashlib.sha256(result.content).hexdigest()
    assert result.refused_urls == ()


def test_bench_page_one_alone(benchmark):
    """Page 1 by itself: the target is 250 ms on this machine."""
    assessment = high_tier()
    result = benchmark(render_summary, assessment, INFO, ReportSettings(), GENERATED_AT,
                       parts=("page_one",))  # fmt: skip
    assert len(PdfReader(io.BytesIO(result.content)).pages) == 1
    median = benchmark.stats.stats.median
    assert median < 0.250, f"page 1 alone took {median * 1000:.0f} ms (target 250 ms)"


def test_bench_summary_against_its_words_unstyled(benchmark):
    """The summary without "All answers" (page 1 and the detail) against WeasyPrint's time for
    the same words as unstyled paragraphs, measured side by side in one run, alternating: the
    target is at most 1.5 times. Both are written as the summary is, a tagged PDF/UA-1 (the
    tagging is not style: a screen reader needs it); the untagged figure is printed too. The
    benchmark's own figure is the summary."""
    assessment = high_tier()
    parts = ("page_one", "detail")
    styled = render_summary(assessment, INFO, ReportSettings(), GENERATED_AT, parts=parts)
    plain = summary_words(styled.content)
    runs = {
        "summary": lambda: render_summary(assessment, INFO, ReportSettings(), GENERATED_AT,
                                          parts=parts),
        "words, tagged": lambda: HTML(string=plain).write_pdf(pdf_variant="pdf/ua-1"),
        "words, untagged": lambda: HTML(string=plain).write_pdf(),
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(7):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    ratio = median["summary"] / median["words, tagged"]
    print("\n" + "; ".join(f"{name}: {t * 1000:.0f} ms" for name, t in median.items())
          + f"; ratio {ratio:.2f} (untagged words: "
          f"{median['summary'] / median['words, untagged']:.2f})")  # fmt: skip
    result = benchmark(runs["summary"])
    assert result.content.startswith(b"%PDF-")
    assert ratio <= 1.5, f"the summary took {ratio:.2f} times its words unstyled (target 1.5)"


def test_bench_weasyprint_floor(benchmark):
    """WeasyPrint itself on a one-line document: what no summary can go below."""
    pdf = benchmark(lambda: HTML(string="<p>x</p>").write_pdf())
    assert pdf.startswith(b"%PDF-")


def test_bench_download_from_the_store(benchmark, app, client):
    """A clinician's download, always from the store: the target is p95 under 50 ms."""
    token = new_screening(app)
    walk(client, app, token, example(app, "high tier - long"))
    assert client.post(f"/s/{token}/submit").status_code == 303
    screening_id = screening_row(app, token)["id"]
    queue.run_pending(app)  # the worker renders it
    url = f"/staff/screenings/{screening_id}/summary.pdf"
    client = signed_in_clinician(app)
    first = client.get(url)
    assert first.status_code == 200

    response = benchmark(client.get, url)
    assert response.status_code == 200
    assert response.get_data() == first.get_data()
    with app.app_context():
        sha256 = db.session.scalar(
            sa.select(Document.sha256).where(
                Document.screening_id == screening_id, Document.kind == "summary"
            )
        )
        db.session.remove()
    assert hashlib.sha256(response.get_data()).hexdigest() == sha256
    assert response.headers["ETag"] == f'"{sha256}"'
    p95 = statistics.quantiles(benchmark.stats.stats.data, n=20)[-1]
    print(f"\ndownload from the store: p95 {p95 * 1000:.1f} ms")
    assert p95 < 0.050, f"p95 {p95 * 1000:.1f} ms (target 50 ms)"
