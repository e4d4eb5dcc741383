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
import math
import re
from dataclasses import replace
from typing import Any

from . import model as m
from .build_conditions import ConditionReader
from .conditions import questions_read
from .reading import Reader, parse_date
from .schema import declared_languages
from .visibility import visibility_order
from .yaml_source import Problem, YList, YMap, describe, join

_DATE_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the schema takes this; the calendar may not


def build(data: Any, file: str, problems: list[Problem]) -> m.Questionnaire | None:
    """The questionnaire, or None. `problems` (those found so far) gets every problem found
    here; the questionnaire is made only when there are none at all."""
    if not isinstance(data, YMap):
        return None  # the schema said what it is instead
    return _Builder(data, file, problems).build()


class _Builder:
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
        raw_steps = self.read_steps(top)
        computed = self.read_computed(top)
        instruments = self.read_instruments(top)
        steps = self.finish_steps(raw_steps)
        tiers = self.read_tiers(top)
        axes = self.read_axes(top, tiers)
        points_base = self.read_points_rule(top)
        factors = self.read_factors(top, axes, points_base)
        caps = self.read_caps(top, factors)
        flags = self.read_red_flags(top)
        alerts = self.read_alerts(top, axes)
        examples = self.read_examples(top, factors, flags, tiers, axes)
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
            points_base=points_base,
            languages=r.languages,
            source_name=self.file,
        )
        return self.finish(draft)

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
            q["options"] = self.read_options(b, path)
        for bound in ("min", "max"):
            if bound in b:
                q[bound] = self.read_bound(b, bound, path, qtype)
        lo, hi = q["min"], q["max"]
        if qtype == "date":
            lo = dt.date.today() if lo == "today" else lo
            hi = dt.date.today() if hi == "today" else hi
        if lo is not None and hi is not None and lo > hi:
            r.error(b.key_lines["min"], join(path, "min"), "min is greater than max")
        if qtype == "text" and q["max"] is None:
            q["max"] = m.TEXT_MAX_DEFAULT
        return q

    def read_options(self, b: YMap, path: str) -> tuple[m.Option, ...]:
        r = self.r
        options, seen = [], {}
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
            options.append(
                m.Option(
                    value,
                    label or key,
                    r.coding(ob, "code", o_path),
                    unknown=bool(r.boolean(ob, "unknown", False)),
                    score=r.integer(ob, "score"),
                )
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

    # axes and the points rule
    def read_axes(self, top: YMap, tiers: list[m.Tier]) -> list[m.Axis]:
        r, result = self.r, []
        for b, path, _ in r.blocks(top, "axes", ""):
            aid = r.ident(b, "id")
            if aid and not self.claim(aid, f"axis '{aid}'", b, path, "axis"):
                aid = None
            if aid:
                self.declared_axes.add(aid)  # told once: factors on it say nothing more
            outcomes = tuple(o for o, _, _ in r.items(b, "outcomes", path) if isinstance(o, str))
            floors = []
            for fb, f_path, _ in r.blocks(b, "floors", path):
                when, reason = self.when(fb, f_path), r.text(fb, "reason", f_path)
                tier = self.tier_ref(fb, "tier", f_path, tiers)
                if None not in (when, reason, tier):
                    floors.append(m.Floor(when, tier, reason))
            axis_tiers = self.read_tier_max(b, path, tiers)
            label, outcome = r.text(b, "label", path), r.text(b, "outcome", path)
            if None not in (aid, label, outcome, axis_tiers):
                result.append(m.Axis(aid, label, outcome, outcomes, axis_tiers, tuple(floors)))
        return result

    def tier_ref(self, b: YMap, key: str, path: str, tiers: list[m.Tier]) -> str | None:
        value = b.get(key)
        if not isinstance(value, str):
            return None
        if value not in {t.id for t in tiers}:
            self.r.error(b.key_lines[key], join(path, key), f"there is no tier {describe(value)}")
            return None
        return value

    def read_tier_max(self, b: YMap, path: str, tiers: list[m.Tier]) -> tuple[m.Tier, ...] | None:
        """An axis's `tier_max` (every tier but the last, in order, with its inclusive max)."""
        given = b.get("tier_max")
        if not isinstance(given, YMap) or not tiers:
            return None
        where = (b.key_lines["tier_max"], join(path, "tier_max"))
        wanted = [t.id for t in tiers[:-1]]
        if list(given) != wanted:
            message = (
                f"must give the max of every tier but the last, in order: {', '.join(wanted)} "
                f"(it gives {', '.join(map(str, given)) or 'none'})"
            )
            self.r.error(*where, message)
            return None
        previous, result = -1, []
        for tier in tiers:
            tmax = given.get(tier.id)
            if tier is not tiers[-1]:
                if isinstance(tmax, bool) or not isinstance(tmax, int) or tmax <= previous:
                    message = f"tier '{tier.id}': the max must be a whole number above {previous}"
                    self.r.error(given.key_lines[tier.id], join(where[1], tier.id), message)
                    return None
                previous = tmax
            result.append(m.Tier(tier.id, tier.label, tmax))
        return tuple(result)

    def read_points_rule(self, top: YMap) -> float | None:
        rule = top.get("points_rule")
        if not isinstance(rule, YMap):
            return None
        base = rule.get("base")
        if isinstance(base, bool) or not isinstance(base, int | float) or base <= 1:
            return None  # the schema says what is wrong
        return float(base)

    # scoring rules
    def read_factors(
        self, top: YMap, axes: list[m.Axis], points_base: float | None
    ) -> list[m.RiskFactor]:
        r, result = self.r, []
        axis_by_id = {a.id: a for a in axes}
        for b, path, line in r.blocks(top, "risk_factors", ""):
            fid = r.ident(b, "id")
            if fid and not self.claim(fid, f"risk factor '{fid}'", b, path, "factor"):
                fid = None
            fields = dict(
                id=fid,
                label=r.text(b, "label", path),
                category=b.get("category") if b.get("category") in m.CATEGORIES else None,
                points=r.integer(b, "points", minimum=0),
                when=self.when(b, path),
                modifiable=r.boolean(b, "modifiable", None),
                patient_text=r.text(b, "patient_text", path, patient=True),
                clinician_text=r.text(b, "clinician_text", path),
                action=r.text(b, "action", path),
                evidence=self.read_evidence(b, path),
            )
            patient_action = r.text(b, "patient_action", path, required=False, patient=True)
            justification = r.text(b, "justification", path, required=False)
            axis = self.factor_axis(b, path, axis_by_id)
            effect = self.read_effect(b, path, axis, fields["evidence"])
            if fields["points"] is not None and points_base is not None:
                self.check_points(b, path, fields["points"], effect, justification, points_base)
            if all(v is not None for v in fields.values()) and (axis is not None or not axes):
                result.append(
                    m.RiskFactor(
                        **fields,
                        patient_action=patient_action,
                        line=line,
                        axis=axis.id if axis else None,
                        effect=effect,
                        justification=justification,
                    )
                )
        return result

    def factor_axis(self, b: YMap, path: str, axis_by_id: dict[str, m.Axis]) -> m.Axis | None:
        given = b.get("axis")
        if not axis_by_id and not self.declared_axes:
            if given is not None:
                message = "the questionnaire declares no axes: remove this or declare `axes`"
                self.r.error(b.key_lines["axis"], join(path, "axis"), message)
            return None
        if given is None:
            message = f"a risk factor needs an axis (one of {', '.join(axis_by_id)})"
            self.r.error(b.line, path, message)
            return None
        if given not in axis_by_id:
            if given in self.declared_axes:
                return None  # the axis itself is wrong, and said so
            message = f"there is no axis {describe(given)} (there are {', '.join(axis_by_id)})"
            self.r.error(b.key_lines["axis"], join(path, "axis"), message)
            return None
        return axis_by_id[given]

    def read_effect(
        self, b: YMap, path: str, axis: m.Axis | None, evidence: tuple[m.Evidence, ...] | None
    ) -> m.Effect | None:
        eb = b.get("effect")
        if not isinstance(eb, YMap):
            return None
        e_path = join(path, "effect")
        measure, value, outcome, source = (
            eb.get(k) for k in ("measure", "value", "outcome", "source")
        )
        ci = eb.get("ci")
        if measure not in m.EFFECT_MEASURES or not _number(value):
            return None  # the schema said why
        if measure != "SMD" and value <= 0:
            self.r.error(eb.key_lines["value"], join(e_path, "value"), "a ratio is above 0")
            return None
        low = high = None
        if isinstance(ci, YList) and len(ci) == 2 and all(_number(v) for v in ci):
            low, high = ci
            if not low <= value <= high:
                message = f"the interval {low:g}-{high:g} does not hold the value {value:g}"
                self.r.error(eb.key_lines["ci"], join(e_path, "ci"), message)
        if axis is not None and outcome not in axis.outcomes:
            message = (
                f"the outcome {describe(outcome)} is not one of axis '{axis.id}''s outcomes "
                f"({', '.join(axis.outcomes)}): an effect size must be for its axis's outcome"
            )
            self.r.error(eb.key_lines.get("outcome", eb.line), join(e_path, "outcome"), message)
            return None
        if not isinstance(source, str) or not isinstance(outcome, str):
            return None
        if evidence is not None and not any(e.citation.startswith(source) for e in evidence):
            message = f"{describe(source)} does not begin any of the factor's evidence citations"
            self.r.error(eb.key_lines["source"], join(e_path, "source"), message)
            return None
        return m.Effect(measure, value, low, high, outcome, source)

    def check_points(
        self,
        b: YMap,
        path: str,
        points: int,
        effect: m.Effect | None,
        justification: str | None,
        base: float,
    ) -> None:
        """The points rule: points = round(ln(effect) / ln(base)), unless justified in words."""
        where = (b.key_lines["points"], join(path, "points"))
        if effect is None:
            if points and not justification and "effect" not in b:
                message = (
                    "the questionnaire has a points_rule: give the `effect` these points rest on "
                    "(or a `justification` for points without one)"
                )
                self.r.error(*where, message)
            return
        expected = effect.points(base)
        if points != expected and not justification:
            x = effect.log_odds / math.log(base)
            message = (
                f"the points rule gives {expected} (ln({effect.text}) / ln({base:g}) = {x:.2f}), "
                f"not {points}: change the points or write a `justification`"
            )
            self.r.error(*where, message)

    def read_caps(self, top: YMap, factors: list[m.RiskFactor]) -> list[m.Cap]:
        r, result = self.r, []
        by_id = {f.id: f for f in factors}
        capped: dict[str, str] = {}
        for b, path, _ in r.blocks(top, "caps", ""):
            cid = r.ident(b, "id")
            if cid and not self.claim(cid, f"cap '{cid}'", b, path, "cap"):
                cid = None
            members = []
            for ref, ref_path, ref_line in r.items(b, "factors", path):
                if not isinstance(ref, str):
                    continue
                if ref not in by_id:
                    r.error(ref_line, ref_path, f"there is no risk factor {describe(ref)}")
                elif ref in capped:
                    r.error(ref_line, ref_path, f"'{ref}' is already in cap '{capped[ref]}'")
                else:
                    capped[ref] = cid or ""
                    members.append(ref)
            axes = {by_id[f].axis for f in members}
            if len(axes) > 1:
                message = "a cap's factors must all be on one axis"
                r.error(b.key_lines["factors"], join(path, "factors"), message)
            label, cmax = r.text(b, "label", path), r.integer(b, "max", minimum=1)
            if None not in (cid, label, cmax) and members:
                result.append(m.Cap(cid, label, tuple(members), cmax))
        return result

    def when(self, b: YMap, path: str) -> m.Condition | None:
        return self.conditions.condition(b["when"], join(path, "when")) if "when" in b else None

    def read_evidence(self, b: YMap, path: str) -> tuple[m.Evidence, ...]:
        result = []
        for eb, e_path, _ in self.r.blocks(b, "evidence", path):
            ids = {key: str(eb[key]).strip() for key in ("doi", "pmid", "url") if key in eb}
            citation = self.r.text(eb, "citation", e_path)
            if ids and citation:
                result.append(m.Evidence(citation, **ids))
        return tuple(result)

    def read_red_flags(self, top: YMap) -> list[m.RedFlag]:
        r, result = self.r, []
        for b, path, line in r.blocks(top, "red_flags", ""):
            fid = r.ident(b, "id")
            if fid and not self.claim(fid, f"red flag '{fid}'", b, path, "flag"):
                fid = None
            urgency = b.get("urgency", "same_day")
            when = self.when(b, path)
            patient = r.text(b, "patient_message", path, patient=True)
            clinician = r.text(b, "clinician_message", path)
            self_harm = r.boolean(b, "self_harm", False)
            name = r.text(b, "title", path, required=False) or ""
            if None not in (fid, when, patient, clinician) and urgency in m.URGENCIES:
                result.append(
                    m.RedFlag(
                        fid, when, patient, clinician, urgency, line, self_harm=self_harm, name=name
                    )
                )
        return result

    def read_alerts(self, top: YMap, axes: list[m.Axis]) -> list[m.DomainAlert]:
        r, result = self.r, []
        for b, path, _ in r.blocks(top, "domain_alerts", ""):
            aid = r.ident(b, "id")
            if aid and not self.claim(aid, f"domain alert '{aid}'", b, path, "alert"):
                aid = None
            categories = [c for c, _, _ in r.items(b, "categories", path) if c in m.CATEGORIES]
            min_points = r.integer(b, "min_points", minimum=1)
            message = r.text(b, "clinician_message", path)
            axis = b.get("axis")
            if axis is not None and axis not in {a.id for a in axes}:
                r.error(
                    b.key_lines["axis"], join(path, "axis"), f"there is no axis {describe(axis)}"
                )
                continue
            when = self.when(b, path)
            counted = min_points is not None and (categories or axis)
            if None not in (aid, message) and (counted or when is not None):
                result.append(
                    m.DomainAlert(aid, tuple(categories), min_points, message, axis, when)
                )
        return result

    def read_tiers(self, top: YMap) -> list[m.Tier]:
        r, tiers, previous = self.r, [], -1
        entries = r.items(top, "tiers", "")
        for index, (b, path, _) in enumerate(entries):
            if not isinstance(b, YMap):
                continue
            tid = r.ident(b, "id")
            if tid and not self.claim(tid, f"tier '{tid}'", b, path, "tier"):
                tid = None
            last = index == len(entries) - 1
            tmax = r.integer(b, "max")
            if "axes" in top:
                if "max" in b:
                    message = "with axes, each axis gives the tiers' maxima (its tier_max)"
                    r.error(b.key_lines["max"], join(path, "max"), message)
                tmax = None
            elif last and "max" in b:
                r.error(
                    b.key_lines["max"],
                    join(path, "max"),
                    "the last tier has no max: it holds every total above the tier before it",
                )
            elif not last and "max" not in b:
                r.error(b.line, path, "every tier but the last needs a max (inclusive)")
            elif tmax is not None and tmax <= previous:
                r.error(
                    b.key_lines["max"],
                    join(path, "max"),
                    f"tiers must be in increasing order and must not overlap: {tmax} is not above "
                    f"{previous}, the max of the tier before",
                )
            if tmax is not None:
                previous = tmax
            if tid:
                label = r.text(b, "label", path, required=False)
                label = label or tid.replace("_", " ").capitalize()
                tiers.append(m.Tier(tid, label, None if last else tmax))
        return tiers

    def read_examples(self, top: YMap, factors, flags, tiers, axes) -> list[m.Example]:
        r, result = self.r, []
        # Ids as declared: a factor or flag left out for a problem of its own is told once.
        factor_ids = {f.id for f in factors} | self.claimed("factor")
        known = {
            "factors": (factor_ids, "risk factor"),
            "unknowns": (factor_ids, "risk factor"),
            "red_flags": ({f.id for f in flags} | self.claimed("flag"), "red flag"),
        }
        tier_ids = {t.id for t in tiers}
        for b, path, line in r.blocks(top, "examples", ""):
            answers, expect = b.get("answers"), b.get("expect")
            if isinstance(answers, YMap):
                for key in answers:
                    if key not in self.questions:
                        r.error(
                            answers.key_lines[key],
                            join(join(path, "answers"), key),
                            f"unknown key '{key}' (allowed here: {', '.join(self.questions)})",
                        )
            if isinstance(expect, YMap):
                e_path = join(path, "expect")
                tier = expect.get("tier")
                if isinstance(tier, str) and tier not in tier_ids:
                    where = (expect.key_lines["tier"], join(e_path, "tier"))
                    r.error(*where, f"there is no tier {describe(tier)}")
                by_axis = expect.get("axes")
                if isinstance(by_axis, YMap):
                    for axis_id, axis_tier in by_axis.items():
                        where = (by_axis.key_lines[axis_id], join(join(e_path, "axes"), axis_id))
                        if axis_id not in self.declared_axes:
                            r.error(*where, f"there is no axis {describe(axis_id)}")
                        elif axis_tier is not None and axis_tier not in tier_ids:
                            r.error(*where, f"there is no tier {describe(axis_tier)}")
                for key, (ids, what) in known.items():
                    for ref, ref_path, ref_line in r.items(expect, key, e_path):
                        if isinstance(ref, str) and ref not in ids:
                            r.error(ref_line, ref_path, f"there is no {what} {describe(ref)}")
            clinic = b.get("clinic", YMap())
            if isinstance(clinic, YMap):
                for key in clinic:
                    if not self.questions.get(key, {}).get("clinic"):
                        r.error(
                            clinic.key_lines[key],
                            join(join(path, "clinic"), key),
                            f"'{key}' is not a question the clinic can enter (`clinic: true`)",
                        )
            name = r.text(b, "name", path)
            if name and isinstance(answers, YMap) and isinstance(expect, YMap):
                result.append(
                    m.Example(
                        name,
                        _plain(answers),
                        _plain(expect),
                        line,
                        _plain(clinic) if isinstance(clinic, YMap) else {},
                    )
                )
        return result


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """YMap / YList as the dict / list an example's answers and expectations are kept as."""
    if isinstance(value, YMap):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, YList):
        return [_plain(v) for v in value]
    return value
