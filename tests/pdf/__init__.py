"""Tests of the PDFs: the clinician's summary and the patient's copy, read back with pypdf.

Helpers shared by the modules of this package. Text is compared after normalising whitespace
(`squash`) or after removing it (`nospace`), because WeasyPrint breaks lines wherever it likes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pypdf

from screening.definition import model as m

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "questionnaires" / "fbss-preop.yaml"

SUMMARY_NOTICE = (
    "Discussion aid for the surgical team, not a diagnosis or a prediction of the result."
)
PATIENT_NOTICE = (
    "A summary of your answers to talk through with your care team. It is not a diagnosis."
)

# A fixed moment, so every render of the same answers lays out the same way.
GENERATED_AT = dt.datetime(2026, 3, 2, 9, 5, tzinfo=dt.UTC)
SCREENED_AT = dt.datetime(2026, 2, 27, 14, 30, tzinfo=dt.UTC)
CLINIC = "Northside Spine Clinic"

# Example names of questionnaires/fbss-preop.yaml, by a short key.
EXAMPLES = {
    "low": "low tier - discectomy",
    "moderate": "moderate tier - two-level fusion",
    "high": "high tier - long revision fusion",
    "self_harm": "self-harm flag",
    "safety_flags": "high tier with several safety flags",
}


def squash(text: str) -> str:
    return " ".join(text.split())


def nospace(text: str) -> str:
    return "".join(text.split())


def reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in reader(pdf).pages]


def example_answers(q: m.Questionnaire, key: str) -> dict[str, Any]:
    wanted = EXAMPLES[key]
    matches = [e for e in q.examples if e.name.startswith(wanted)]
    assert len(matches) == 1, (wanted, [e.name for e in q.examples])
    return dict(matches[0].answers)


_FOOTER = re.compile(r"^\S+ · generated .* Page \d+ of \d+$")  # in the clinic's time zone


def body_lines(page_text: str) -> list[str]:
    """A page's lines without the running notice, the footer and the list bullets."""
    lines = []
    for line in page_text.splitlines():
        line = squash(line)
        if line in ("", "•", SUMMARY_NOTICE, PATIENT_NOTICE) or _FOOTER.match(line):
            continue
        lines.append(line)
    return lines


def body_text(pages: list[str]) -> str:
    """The whole document's text without running headers and footers, whitespace squashed."""
    return squash(" ".join(" ".join(body_lines(p)) for p in pages))


def section(text: str, start: str, end: str | None = None) -> str:
    """The part of `text` from the heading `start` up to the heading `end` (or the end)."""
    begin = text.index(start)
    if end is None:
        return text[begin:]
    return text[begin : text.index(end, begin)]


def all_answers_page(pages: list[str]) -> int:
    """The index of the page "All answers" starts: the page whose first line (after the running
    notice) is that heading. The heading must start exactly one page."""
    found = [i for i, page in enumerate(pages) if body_lines(page)[:1] == ["All answers"]]
    assert len(found) == 1, f"'All answers' starts {len(found)} pages"
    return found[0]


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]+", text))


def points(n: int) -> str:
    return f"{n} point" if n == 1 else f"{n} points"
