"""The questionnaire language as immutable dataclasses.

Built by `build.py` from validated YAML (see `load.py`); everything downstream (the engine, the
forms, the PDF, the exports) reads these objects and never the YAML. What follows from the
questionnaire alone (the order to decide visibility in, the questions a rule reads) is computed
once, when it is loaded, and kept here as plain fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from .model_followup import (  # re-exported, as the terms below
    BASELINE_PREFIX,
    OFFSET_UNITS,
    Baseline,
    Criterion,
    Followup,
    Offset,
    Outcome,
    OutcomeValue,
    add_months,
    numeric_values,
)
from .terms import (  # noqa: E402 - re-exported: the model is read as one module
    CATEGORIES,
    CATEGORY_LABELS,
    DATE_TYPES,
    DEFAULT_BOUNDS,
    LEAF_OPS,
    NUMERIC_TYPES,
    ORDERED_TYPES,
    QUESTION_TYPES,
    TEXT_MAX_DEFAULT,
    URGENCIES,
    URGENCY_LABELS,
    URGENCY_NAMES,
    All,
    AnyOf,
    Condition,
    Leaf,
    LeafOp,
    Not,
    OptionValue,
    Text,
    YearMonth,
    localize,
)

# The terms above are re-exported; every other name of this module is public too.
__all__ = [
    "CATEGORIES", "CATEGORY_LABELS", "DATE_TYPES", "DEFAULT_BOUNDS", "NUMERIC_TYPES",
    "ORDERED_TYPES", "QUESTION_TYPES", "TEXT_MAX_DEFAULT", "URGENCIES", "URGENCY_LABELS",
    "URGENCY_NAMES", "OptionValue", "BASELINE_PREFIX", "OFFSET_UNITS", "Baseline", "Criterion",
    "Followup", "Offset", "Outcome", "OutcomeValue", "add_months", "numeric_values",
    "LEAF_OPS", "All", "AnyOf", "Condition", "Leaf", "LeafOp", "Not", "Text", "YearMonth",
    "localize",
]  # fmt: skip


# --- questions and steps ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coding:
    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Option:
    value: OptionValue
    label: str
    code: Coding | None = None
    # "Not sure" and the like: the answer does not tell, so a risk factor that depends on it is
    # an unknown to verify, never scored as absent.
    unknown: bool = False
    score: int | None = None  # what it adds to an instrument (else its value, a whole number)
    # "None of these", "Nowhere else": on a multi_choice question, never chosen with another
    # option (the page unticks the others; the engine refuses the combination).
    exclusive: bool = False

    @property
    def item_score(self) -> int:
        return self.score if self.score is not None else self.value  # type: ignore[return-value]


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    label: str
    step_id: str
    help: str | None = None
    options: tuple[Option, ...] = ()
    required: bool = True
    min: Any = None
    max: Any = None
    unit: str | None = None
    show_if: Condition | None = None
    code: Coding | None = None
    line: int = 0
    # The clinic may enter this answer too (on the invitation); it is scored when the patient's
    # own answer does not tell (no answer, or an `unknown` option).
    clinic: bool = False

    @cached_property
    def unknown_values(self) -> frozenset[OptionValue]:
        return frozenset(o.value for o in self.options if o.unknown)

    @cached_property
    def option_by_key(self) -> dict[str, Option]:
        """Options keyed by the string spelling of their value ("2" and 2 are the same option)."""
        return {str(o.value): o for o in self.options}

    @cached_property
    def option_by_value(self) -> dict[str | int, Option]:
        """Options keyed by their value itself, as an answer stores it: the values whose
        spelling `option_by_key` would find as they are (no spaces around them)."""
        return {o.value: o for o in self.options if (key := str(o.value)) and key == key.strip()}

    @cached_property
    def exclusive_values(self) -> frozenset[OptionValue]:
        return frozenset(o.value for o in self.options if o.exclusive)

    def option_label(self, value: Any) -> str | None:
        option = self.option_by_key.get(str(value))
        return option.label if option else None


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    questions: tuple[Question, ...]
    intro: str | None = None
    show_if: Condition | None = None


# --- derived values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Computed:
    id: str
    label: str
    kind: Literal["sum", "bmi"]
    inputs: tuple[str, ...]  # sum: the questions; bmi: (height, weight)


@dataclass(frozen=True)
class Band:
    label: str
    max: int


@dataclass(frozen=True)
class Instrument:
    id: str
    label: str
    items: tuple[str, ...]
    bands: tuple[Band, ...]
    source: str | None = None
    code: Coding | None = None
    # Items hidden by branching count as 0 (AUDIT-C: someone who never drinks scores 0); an item
    # shown and not answered still leaves the score unknown.
    hidden_items_zero: bool = False
    attribution: str | None = None  # the line its owner asks to be shown with it (PDF, FHIR)
    licence: str | None = None  # the terms it is used under, with where they were read
    # The words its items complete ("Over the last 2 weeks, how often have you been bothered
    # by..."): shown with every item, so each question makes sense read alone (patient text).
    stem: str | None = None

    def band_for(self, score: int) -> str:
        for band in self.bands:
            if score <= band.max:
                return band.label
        return self.bands[-1].label


# --- scoring rules ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    citation: str
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None

    @property
    def link(self) -> str:
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return self.url or ""

    @property
    def short(self) -> str:
        """The citation with its identifier, as printed on the PDF."""
        if self.doi:
            return f"{self.citation}, doi:{self.doi}"
        if self.pmid:
            return f"{self.citation}, PMID {self.pmid}"
        return f"{self.citation}, {self.url}"


EFFECT_MEASURES = ("OR", "RR", "HR", "SMD")
# ln(OR) = SMD x pi / sqrt(3) (Chinn, Statistics in Medicine 2000;19:3127).
SMD_TO_LN_OR = math.pi / math.sqrt(3)


@dataclass(frozen=True, slots=True)
class Effect:
    """The effect size a factor's points rest on, for its axis's outcome."""

    measure: str  # one of EFFECT_MEASURES
    value: float
    low: float | None
    high: float | None
    outcome: str  # one of its axis's `outcomes`
    source: str  # the start of one of the factor's evidence citations

    @property
    def log_odds(self) -> float:
        """ln(OR); a risk or hazard ratio is taken as an odds ratio (close when the outcome is
        uncommon), a standardized mean difference converted by Chinn's rule."""
        if self.measure == "SMD":
            return self.value * SMD_TO_LN_OR
        return math.log(self.value)

    def points(self, base: float) -> int:
        """round(ln(effect) / ln(base)), halves away from zero."""
        x = self.log_odds / math.log(base)
        return int(math.copysign(math.floor(abs(x) + 0.5), x))

    @property
    def text(self) -> str:
        interval = f" ({self.low:g}-{self.high:g})" if self.low is not None else ""
        return f"{self.measure} {self.value:g}{interval}"


@dataclass(frozen=True)
class RiskFactor:
    id: str
    label: str
    category: str
    points: int
    when: Condition
    modifiable: bool
    patient_text: str
    clinician_text: str
    action: str
    evidence: tuple[Evidence, ...]
    patient_action: str | None = None
    line: int = field(default=0, compare=False)
    # The questions `when` reads (values expanded to their inputs), each once: set at load.
    reads: tuple[str, ...] = field(default=(), compare=False)
    axis: str | None = None  # required when the questionnaire declares axes
    effect: Effect | None = None
    justification: str | None = None  # why the points differ from the points rule


@dataclass(frozen=True)
class RedFlag:
    id: str
    when: Condition
    patient_message: str
    clinician_message: str
    urgency: str = "same_day"
    line: int = field(default=0, compare=False)
    # The questions `when` reads (values expanded to their inputs), each once: set at load.
    reads: tuple[str, ...] = field(default=(), compare=False)
    # About harm to self: the patient sees crisis lines while it stands, it escalates as an
    # emergency does, and its acknowledgement needs a note of what was done.
    self_harm: bool = False
    name: str = ""  # the clinic's name for it, from `title`; `title` falls back to the id

    @property
    def urgent(self) -> bool:
        """Treated as an emergency by the clinic's pathway (escalation, a note to acknowledge)."""
        return self.urgency == "emergency" or self.self_harm

    @property
    def title(self) -> str:
        """The flag's name for the clinic: its `title`, else the id spelled out ("Self harm")."""
        return self.name or self.id.replace("_", " ").capitalize()


@dataclass(frozen=True)
class DomainAlert:
    """A note for the clinic, raised when the points of some categories (or of an axis) reach
    `min_points`, or when its condition holds."""

    id: str
    categories: tuple[str, ...]
    min_points: int | None
    clinician_message: str
    axis: str | None = None
    when: Condition | None = None


@dataclass(frozen=True)
class Floor:
    """A condition that puts its axis at least at `tier`, whatever its points."""

    when: Condition
    tier: str
    reason: str


@dataclass(frozen=True)
class Axis:
    """One kind of risk, with its own outcome, points and tiers. The overall tier is the
    highest of the axes' tiers."""

    id: str
    label: str
    outcome: str  # what its effect sizes predict, in words
    outcomes: tuple[str, ...]  # the outcome ids its factors' effects may name
    tiers: tuple[Tier, ...]  # the questionnaire's tier ids, each with this axis's max
    floors: tuple[Floor, ...] = ()

    def tier_for(self, points: int) -> Tier:
        for tier in self.tiers:
            if tier.max is None or points <= tier.max:
                return tier
        return self.tiers[-1]


@dataclass(frozen=True)
class Cap:
    """Factors that measure one thing (distress by several instruments): together they add at
    most `max` points."""

    id: str
    label: str
    factors: tuple[str, ...]
    max: int


@dataclass(frozen=True)
class Tier:
    id: str
    label: str
    max: int | None  # None for the last tier


@dataclass(frozen=True)
class Example:
    name: str
    answers: dict[str, Any]
    expect: dict[str, Any]
    line: int
    clinic: dict[str, Any] = field(default_factory=dict)  # the clinic's entries
    # A follow-up's example: the pre-operative screening's values its outcome compares with.
    baseline: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreRange:
    """What totals the rules can produce, found by the linter's exhaustive analysis."""

    lowest: int
    highest: int
    reachable_tiers: tuple[str, ...]
    exact: bool  # False when a part was too large to enumerate and a bound was used
    axes: dict[str, tuple[int, int]] = field(default_factory=dict)  # axis id -> (lowest, highest)


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: str
    title: str
    steps: tuple[Step, ...]
    tiers: tuple[Tier, ...]
    description: str | None = None
    estimated_minutes: int | None = None
    computed: tuple[Computed, ...] = ()
    instruments: tuple[Instrument, ...] = ()
    risk_factors: tuple[RiskFactor, ...] = ()
    red_flags: tuple[RedFlag, ...] = ()
    domain_alerts: tuple[DomainAlert, ...] = ()
    examples: tuple[Example, ...] = ()
    axes: tuple[Axis, ...] = ()
    caps: tuple[Cap, ...] = ()
    notices: tuple[str, ...] = ()  # notices owed to code systems and instruments (LOINC's)
    # The questions whose answers are the patient's own expectations and goals (`summary.goals`),
    # on the first page of the clinician's summary.
    summary_goals: tuple[str, ...] = ()
    points_base: float | None = None  # the points rule's base: points = round(ln(OR) / ln(base))
    # Follow-up questionnaires sent after surgery (a pre-operative questionnaire's).
    followups: tuple[Followup, ...] = ()
    # A follow-up questionnaire's: the pre-operative values it reads, and its outcome.
    baseline: Baseline | None = None
    outcome: Outcome | None = None
    languages: tuple[str, ...] = ("en",)  # the first is the clinic's own
    source_name: str = "<string>"
    content_hash: str = ""
    score_range: ScoreRange | None = field(default=None, compare=False)
    # Question ids, each after every question its visibility depends on: set at load.
    visibility_order: tuple[str, ...] = field(default=(), compare=False)
    # The ids of the required questions, in the order they are asked: set at load.
    required_questions: tuple[str, ...] = field(default=(), compare=False)

    @property
    def language(self) -> str:
        """The clinic's language: the one the engine, the staff pages and the PDF use."""
        return self.languages[0]

    def localized(self, language: str | None) -> Questionnaire:
        """The same questionnaire with the patient's texts in `language` (itself when that is
        the first language or one the definition does not have)."""
        if not language or language == self.languages[0] or language not in self.languages:
            return self
        found = self._localized.get(language)
        if found is None:
            found = self._localized[language] = localize(self, language)
        return found

    @cached_property
    def _localized(self) -> dict[str, Questionnaire]:
        return {}

    @cached_property
    def questions(self) -> dict[str, Question]:
        return {q.id: q for step in self.steps for q in step.questions}

    @cached_property
    def step_by_id(self) -> dict[str, Step]:
        return {s.id: s for s in self.steps}

    @cached_property
    def computed_by_id(self) -> dict[str, Computed]:
        return {c.id: c for c in self.computed}

    @cached_property
    def instrument_by_id(self) -> dict[str, Instrument]:
        return {i.id: i for i in self.instruments}

    @cached_property
    def factor_by_id(self) -> dict[str, RiskFactor]:
        return {f.id: f for f in self.risk_factors}

    @cached_property
    def red_flag_by_id(self) -> dict[str, RedFlag]:
        return {f.id: f for f in self.red_flags}

    def item_score(self, question_id: str, value: Any) -> Any:
        """What an answer adds to an instrument: its option's score, else the value itself."""
        option = self.questions[question_id].option_by_value.get(value)
        return option.item_score if option is not None else value

    def value_inputs(self, value_id: str) -> tuple[str, ...]:
        """The questions a computed value or an instrument score is made from."""
        computed = self.computed_by_id.get(value_id)
        return computed.inputs if computed is not None else self.instrument_by_id[value_id].items

    @property
    def max_points(self) -> int:
        """The highest total the rules can produce (the sum of all points when not analysed)."""
        if self.score_range is not None:
            return self.score_range.highest
        return sum(f.points for f in self.risk_factors)

    def axis_max(self, axis_id: str) -> int:
        """The highest points an axis can reach."""
        if self.score_range is not None and axis_id in self.score_range.axes:
            return self.score_range.axes[axis_id][1]
        return sum(f.points for f in self.risk_factors if f.axis == axis_id)

    @cached_property
    def axis_by_id(self) -> dict[str, Axis]:
        return {a.id: a for a in self.axes}

    @cached_property
    def cap_of(self) -> dict[str, Cap]:
        """The cap each capped factor falls under."""
        return {f: c for c in self.caps for f in c.factors}

    def tier_for(self, total: int) -> Tier:
        for tier in self.tiers:
            if tier.max is None or total <= tier.max:
                return tier
        return self.tiers[-1]

