"""Format characters (Unicode category Cf: bidirectional overrides and isolates, zero-width
characters) never reach the PDF: a right-to-left override in a name or an answer would make the
clinician read words reversed, something other than what was stored. Answers lose them when they
are typed (the engine); values stored before that lose them when shown (the codec's display and
the renderer's templates)."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from screening.report.render import render_summary
from screening.scoring import score

from . import GENERATED_AT, example_answers, nospace, page_texts
from .conftest import INFO, SETTINGS

RLO, PDF_, LRI, PDI, ZWSP = "\u202e", "\u202c", "\u2066", "\u2069", "\u200b"


def format_characters(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cf"]


def test_an_answer_loses_its_format_characters_when_typed(fbss):
    answers = {**example_answers(fbss, "low"), "goals": f"walk {LRI}the dog{PDI} again{ZWSP}"}
    assert score(fbss, answers).answers["goals"] == "walk the dog again"


def test_no_format_character_reaches_the_pdf_and_nothing_reads_reversed(fbss):
    assessment = score(fbss, example_answers(fbss, "low"))
    # As stored before the engine took them out: straight into the assessment.
    assessment.answers["goals"] = f"Walk {RLO}niaga god eht{PDF_} soon"
    info = replace(INFO, name=f"Ann {RLO}elpmaxE{PDF_}", surgeon=f"Dr. {LRI}Joan{PDI} Smith{ZWSP}")
    text = " ".join(page_texts(render_summary(assessment, info, SETTINGS, GENERATED_AT).content))
    assert format_characters(text) == []
    squeezed = nospace(text)
    # Printed in the order the characters were stored, as the staff pages show them: the
    # override no longer turns "elpmaxE" into "Example" on paper.
    assert "AnnelpmaxE" in squeezed
    assert "Walkniagagodehtsoon" in squeezed
    assert "Dr.JoanSmith" in squeezed
