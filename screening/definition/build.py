"""A definition whose structure the schema has checked -> the immutable `Questionnaire`.

Here are the rules a schema cannot express: ids are unique and what refers to them exists, values
are summed only from numbers, instrument bands end at the highest score, tiers and bands are in
order, the examples name known questions, factors, flags and tiers, and every patient text is in
every language (`reading.py`); conditions are typed by their questions (`build_conditions.py`).
What follows from the questionnaire alone is computed here too, once, as fields of the model.

A value of the wrong kind was reported by the schema and is skipped here without a word, so one
mistake is told once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

from . import model as m
from .build_conditions import ConditionReader
from .build_examples import ExamplesReader
from .build_followup import FollowupReader, outcome_value_hints
from .build_rules import RulesReader
from .conditions import questions_read
from .reading import Reader, parse_date
from .schema import declared_languages
from .visibility import visibility_order
from .yaml_source import Problem, YMap, describe, join

_DATE_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the schema takes this; the calendar may not
_MONTH_SHAPE = re.compile(r"^\d{4}-\d{2}$")


def build(data: Any, file: str, problems: list[Problem]) -> m.Questionnaire | None:
    """The questionnaire, or None. `problems` (those found so far) gets every problem found
    here; the questionnaire is made only when there are none at all."""
    if not isinstance(data, YMap):
        return None  # the schema said what it is instead
    return _Builder(data, file, problems).build()


class _Builder(RulesReader, FollowupReader, ExamplesReader):
    def __init__(self, data: YMap, file: str, problems: list[Problem]):
        self.data, self.file, self.problems = data, file, problems
        self.r = Reader(file, declared_languages(data), problems)
        self.questions: dict[str, dict[str, Any]] = {}  # id -> fields, plus the raw show_if
        self.values: dict[str, str] = {}  # computed / instrument id -> "computed" | "instrument"
        self.seen_ids: dict[tuple[str, str], tuple[str, int]] = {}
        self.conditions = ConditionReader(self.r, self.questions, self.values)
        self.declared_axes: set[str] = set()

    def claim(self, ident: str, what: str, block: YMap, path: str, namespace: str) -> bool:
        """Whether `ident` is still free in its namespace (and take it); a problem if not."""
        key, line = (namespace, ident), block.key_lines["id"]
        if key in self.seen_ids:
            other_what, other_line = self.seen_ids[key]
            message = f"the id '{ident}' is already used by {other_what} (line {other_line})"
            self.r.error(line, join(path, "id"), message)
            return False
        self.seen_ids[key] = (what, line)
        return True

    def claimed(self, namespace: str) -> set[str]:
        return {ident for space, ident in self.seen_ids if space == namespace}

    def build(self) -> m.Questionnaire | None:
        r, top = self.r, self.data
        self.conditions.hints.update(outcome_value_hints(top))
        raw_steps = self.read_steps(top)
        computed = self.read_computed(top)
        instruments = self.read_instruments(top)
        steps = self.finish_steps(raw_steps)
        tiers = self.read_tiers(top)
        if not tiers and "tiers" not in top and "risk_factors" in top:
            message = "risk factors are scored into tiers: give the `tiers`"
            r.error(top.key_lines["risk_factors"], "risk_factors", message)
        axes = self.read_axes(top, tiers)
        points_base = self.read_points_rule(top)
        factors = self.read_factors(top, axes, points_base)
        caps = self.read_caps(top, factors)
        flags = self.read_red_flags(top)
        alerts = self.read_alerts(top, axes)
        followups = self.read_followups(top)
        baseline = self.read_baseline(top)
        outcome = self.read_outcome(top, baseline)
        examples = self.read_examples(top, factors, flags, tiers, axes, baseline, outcome)
        title = r.text(top, "title", "", patient=True)
        description = r.text(top, "description", "", required=False, patient=True)
        if self.problems:
            return None
        draft = m.Questionnaire(
            id=top["id"],
            version=top["version"],
            title=title,
            description=description,
            estimated_minutes=r.integer(top, "estimated_minutes", minimum=1),
            steps=tuple(steps),
            tiers=tuple(tiers),
            computed=tuple(computed),
            instruments=tuple(instruments),
            risk_factors=tuple(factors),
            red_flags=tuple(flags),
            domain_alerts=tuple(alerts),
            examples=tuple(examples),
            axes=tuple(axes),
            caps=tuple(caps),
            notices=tuple(t for t, _, _ in r.items(top, "notices", "") if isinstance(t, str)),
            summary_goals=self.read_summary_goals(top),
            points_base=points_base,
            followups=tuple(followups),
            baseline=baseline,
            outcome=outcome,
            languages=r.languages,
            source_name=self.file,
        )
        return self.finish(draft)

    def read_summary_goals(self, top: YMap) -> tuple[str, ...]:
        """`summary.goals`: questions whose answers are the patient's expectations and goals."""
        summary = top.get("summary")
        if not isinstance(summary, YMap):
            return ()
        goals = []
        for ident, path, line in self.r.items(summary, "goals", "summary"):
            if not isinstance(ident, str):
                continue
            if ident in self.questions:
                goals.append(ident)
            else:
                self.r.error(line, path, f"'{ident}' is not a question of this questionnaire")
        return tuple(goals)

    def finish(self, draft: m.Questionnaire) -> m.Questionnaire | None:
        """The questionnaire with what follows from it alone, computed once here."""
        order, cycles = visibility_order(draft)
        if cycles:
            self.problems.extend(cycles)
            return None
        return replace(
            draft,
            risk_factors=tuple(
                replace(f, reads=questions_read(draft, f.when)) for f in draft.risk_factors
            ),
            red_flags=tuple(
                replace(f, reads=questions_read(draft, f.when)) for f in draft.red_flags
            ),
            visibility_order=order,
            required_questions=tuple(qid for qid, q in draft.questions.items() if q.required),
        )

    # steps and questions
    def read_steps(self, top: YMap) -> list[dict[str, Any]]:
        r, steps = self.r, []
        for b, path, _ in r.blocks(top, "steps", ""):
            sid = r.ident(b, "id")
            if sid and not self.claim(sid, f"step '{sid}'", b, path, "step"):
                sid = None
            step = {
                "id": sid,
                "title": r.text(b, "title", path, patient=True),
                "intro": r.text(b, "intro", path, required=False, patient=True),
                "show_if": (b["show_if"], join(path, "show_if")) if "show_if" in b else None,
                "questions": [],
            }
            for item, q_path, q_line in r.blocks(b, "questions", path):
                question = self.read_question(item, q_path, q_line, sid or "")
                if question is not None:
                    step["questions"].append(question["id"])
            steps.append(step)
        return steps

    def read_question(self, b: YMap, path: str, line: int, step_id: str) -> dict | None:
        r = self.r
        qid = r.ident(b, "id")
        if qid is None or not self.claim(qid, f"question '{qid}'", b, path, "value"):
            return None
        qtype = b.get("type") if b.get("type") in m.QUESTION_TYPES else None
        q: dict[str, Any] = {
            "id": qid,
            "type": qtype,
            "label": r.text(b, "label", path, patient=True),
            "help": r.text(b, "help", path, required=False, patient=True),
            "required": r.boolean(b, "required", True),
            "unit": r.text(b, "unit", path, required=False, patient=True),
            "code": r.coding(b, "code", path),
            "step_id": step_id,
            "line": line,
            "clinic": r.boolean(b, "clinic", False),
            "options": (),
            "min": None,
            "max": None,
            "show_if": (b["show_if"], join(path, "show_if")) if "show_if" in b else None,
        }
        self.questions[qid] = q
        if qtype is None:
            return q  # its type is unknown: nothing more can be checked
        if qtype in ("choice", "multi_choice"):
            q["options"] = self.read_options(b, path, qtype)
        for bound in ("min", "max"):
            if bound in b:
                q[bound] = self.read_bound(b, bound, path, qtype)
        lo, hi = q["min"], q["max"]
        if qtype in m.DATE_TYPES:
            today = dt.date.today() if qtype == "date" else m.YearMonth.of(dt.date.today())
            lo = today if lo == "today" else lo
            hi = today if hi == "today" else hi
        if lo is not None and hi is not None and lo > hi:
            r.error(b.key_lines["min"], join(path, "min"), "min is greater than max")
        if qtype == "text" and q["max"] is None:
            q["max"] = m.TEXT_MAX_DEFAULT
        return q

    def read_options(self, b: YMap, path: str, qtype: str) -> tuple[m.Option, ...]:
        r = self.r
        options, seen = [], {}
        exclusive_lines: list[int] = []
        for ob, o_path, _ in r.blocks(b, "options", path):
            value = ob.get("value")
            if isinstance(value, bool) or not isinstance(value, str | int):
                continue
            key, line = str(value), ob.key_lines["value"]
            if key in seen:
                message = f"the option value {value!r} is already used (line {seen[key]})"
                r.error(line, join(o_path, "value"), message)
                continue
            seen[key] = line
            label = r.text(ob, "label", o_path, patient=True)
            exclusive = bool(r.boolean(ob, "exclusive", False))
            if exclusive and qtype != "multi_choice":
                r.error(
                    ob.key_lines["exclusive"],
                    join(o_path, "exclusive"),
                    f"only an option of a multi_choice question can be exclusive (this is a "
                    f"{qtype} question, whose options are exclusive already)",
                )
                exclusive = False
            elif exclusive:
                exclusive_lines.append(ob.key_lines["exclusive"])
            options.append(
                m.Option(
                    value,
                    label or key,
                    r.coding(ob, "code", o_path),
                    unknown=bool(r.boolean(ob, "unknown", False)),
                    score=r.integer(ob, "score"),
                    exclusive=exclusive,
                )
            )
        if options and len(exclusive_lines) == len(options):
            r.error(
                exclusive_lines[0],
                join(path, "options"),
                "every option is exclusive, so only one can ever be chosen: make it a choice "
                "question, or mark only the options that cannot go with others (\"None of these\")",
            )
        return tuple(options)

    def read_bound(self, b: YMap, key: str, path: str, qtype: str) -> Any:
        """A min or max as the question's type takes it (None when it is not one)."""
        value = b[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if qtype == "text":  # a length
            return value if number and isinstance(value, int) and value >= 0 else None
        if qtype in m.NUMERIC_TYPES:
            if not number:
                return None
            if qtype == "integer" and not isinstance(value, int):
                # The schema takes any number here; an integer question holds whole ones.
                self.r.error(
                    b.key_lines[key],
                    join(path, key),
                    "must be a whole number for an integer question",
                )
                return None
            return value
        if qtype == "month_year":
            if value == "today":
                return "today"
            month = m.YearMonth.parse(value) if isinstance(value, str) else None
            if month is None and isinstance(value, str) and _MONTH_SHAPE.match(value.strip()):
                message = f"must be a month like 2020-01 or 'today', not {describe(value)}"
                self.r.error(b.key_lines[key], join(path, key), message)
            return month
        if qtype == "date":
            if value == "today":
                return "today"
            parsed = parse_date(value)
            if parsed is None and isinstance(value, str) and _DATE_SHAPE.match(value.strip()):
                message = f"must be a date like 2020-01-31 or 'today', not {describe(value)}"
                self.r.error(b.key_lines[key], join(path, key), message)
            return parsed
        return None

    def finish_steps(self, raw_steps: list[dict[str, Any]]) -> list[m.Step]:
        # Conditions are read once every question and value is known, so they can be checked.
        for q in self.questions.values():
            if q["show_if"] is not None:
                q["show_if"] = self.conditions.condition(*q["show_if"])
        steps = []
        for s in raw_steps:
            show_if = self.conditions.condition(*s["show_if"]) if s["show_if"] else None
            questions = tuple(
                m.Question(**self.questions[qid])
                for qid in s["questions"]
                if self.questions[qid]["type"] is not None
            )
            steps.append(m.Step(s["id"], s["title"], questions, s["intro"], show_if))
        return steps

    # computed values and instruments
    def read_computed(self, top: YMap) -> list[m.Computed]:
        r, result = self.r, []
        for b, path, _ in r.blocks(top, "computed", ""):
            cid = r.ident(b, "id")
            label = r.text(b, "label", path)
            kinds = [k for k in ("sum", "bmi") if k in b]
            if cid is None or len(kinds) != 1:
                continue
            if not self.claim(cid, f"computed value '{cid}'", b, path, "value"):
                continue
            self.values[cid] = "computed"
            if kinds[0] == "sum":
                inputs = [
                    ref
                    for ref, i_path, i_line in r.items(b, "sum", path)
                    if self.numeric_question(ref, i_path, i_line, "summed")
                ]
                result.append(m.Computed(cid, label or cid, "sum", tuple(inputs)))
                continue
            bmi = b["bmi"]
            if not isinstance(bmi, YMap):
                continue
            inputs = [self.bmi_input(bmi, key, join(path, "bmi")) for key in ("height", "weight")]
            if None not in inputs:
                result.append(m.Computed(cid, label or cid, "bmi", tuple(inputs)))
        return result

    def bmi_input(self, bmi: YMap, key: str, path: str) -> str | None:
        """The height (or weight) question of a BMI, if it is one."""
        ref = bmi.get(key)
        if not isinstance(ref, str):
            return None
        q = self.questions.get(ref)
        where = (bmi.key_lines[key], join(path, key))
        if q is None:
            self.r.error(*where, f"there is no question {describe(ref)}")
            return None
        if q["type"] != key:
            if q["type"] is not None:
                message = f"question '{ref}' is not a {key} question (it is of type {q['type']})"
                self.r.error(*where, message)
            return None
        return ref

    def numeric_question(self, ref: Any, path: str, line: int, what: str) -> bool:
        if not isinstance(ref, str):
            return False
        q = self.questions.get(ref)
        if q is None:
            self.r.error(line, path, f"there is no question {describe(ref)}")
            return False
        if q["type"] is None:
            return False
        if q["type"] in ("integer", "number"):
            return True
        options = q["options"]
        if q["type"] == "choice" and options and all(isinstance(o.value, int) for o in options):
            return True
        if what == "an instrument item" and q["type"] == "choice" and options:
            if all(isinstance(o.item_score, int) for o in options):
                return True
        self.r.error(
            line,
            path,
            f"question '{ref}' cannot be {what}: it must be an integer or number question, "
            "or a choice whose option values are all whole numbers"
            + (" (or whose options all give a `score`)" if what == "an instrument item" else ""),
        )
        return False

    def read_instruments(self, top: YMap) -> list[m.Instrument]:
        r, result = self.r, []
        for b, path, _ in r.blocks(top, "instruments", ""):
            iid = r.ident(b, "id")
            if iid is None or not self.claim(iid, f"instrument '{iid}'", b, path, "value"):
                continue
            self.values[iid] = "instrument"
            entries = r.items(b, "items", path)
            items, highest = [], 0
            for ref, i_path, i_line in entries:
                if not self.numeric_question(ref, i_path, i_line, "an instrument item"):
                    continue
                q = self.questions[ref]
                if q["type"] != "choice":
                    message = f"instrument items must be choice questions ('{ref}' is not)"
                    r.error(i_line, i_path, message)
                    continue
                items.append(ref)
                highest += max(o.item_score for o in q["options"])
            bands = self.read_bands(b, path)
            if bands and items and len(items) == len(entries) and bands[-1].max != highest:
                r.error(
                    b.key_lines["bands"],
                    join(path, "bands"),
                    f"the last band must end at the highest possible score, {highest} "
                    f"(it ends at {bands[-1].max})",
                )
            result.append(
                m.Instrument(
                    iid,
                    r.text(b, "label", path) or iid,
                    tuple(items),
                    tuple(bands),
                    r.text(b, "source", path, required=False),
                    r.coding(b, "code", path),
                    hidden_items_zero=bool(r.boolean(b, "hidden_items_zero", False)),
                    attribution=r.text(b, "attribution", path, required=False),
                    licence=r.text(b, "licence", path, required=False),
                    stem=r.text(b, "stem", path, required=False, patient=True),
                )
            )
        return result

    def read_bands(self, b: YMap, path: str) -> list[m.Band]:
        r, bands, previous = self.r, [], -1
        for bb, b_path, _ in r.blocks(b, "bands", path):
            label, bmax = r.text(bb, "label", b_path), r.integer(bb, "max")
            if bmax is None or label is None:
                continue
            if bmax <= previous:
                r.error(
                    bb.key_lines["max"],
                    join(b_path, "max"),
                    f"bands must be in increasing order: {bmax} is not above {previous}",
                )
            previous = bmax
            bands.append(m.Band(label, bmax))
        return bands
