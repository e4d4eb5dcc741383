"""The engine: answers typed by their questions, scored into an Assessment, and a patient's
progress through the steps. Pure and deterministic: no Flask, no database, no translations (its
messages carry a template and values, translated at the edge).
"""

from ..definition.model import DEFAULT_BOUNDS
from .answers import AnswerError, decimal_number, normalize, type_answers, whole_number
from .assessment import (
    Assessment,
    FactorResult,
    FlagResult,
    InstrumentResult,
    score,
    visible_questions,
)
from .outcome import CriterionResult, OutcomeResult, baseline_values, score_outcome
from .progress import Progress, progress

__all__ = [
    "DEFAULT_BOUNDS",
    "AnswerError",
    "Assessment",
    "CriterionResult",
    "FactorResult",
    "FlagResult",
    "InstrumentResult",
    "OutcomeResult",
    "Progress",
    "baseline_values",
    "decimal_number",
    "normalize",
    "progress",
    "score",
    "score_outcome",
    "type_answers",
    "visible_questions",
    "whole_number",
]
