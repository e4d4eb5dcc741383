"""Conditions, from validated YAML to the model: what they name must exist, and each operand is
typed by the question it is compared with (option values, numbers, dates, true/false).

The shape of a condition (one subject, one operator, all/any/not standing alone) is the schema's;
a condition of the wrong shape is skipped here without a word.
"""

from __future__ import annotations

from typing import Any

from . import model as m
from .reading import Reader, parse_date
from .yaml_source import YMap, describe, join

_BAD = object()  # an operand that cannot be used; its problem is reported


_BASELINE_ELSEWHERE = (
    " (a value of the pre-operative screening, baseline.ID, is read only by a follow-up's "
    "outcome: its criteria and values)"
)


class ConditionReader:
    def __init__(
        self,
        reader: Reader,
        questions: dict[str, dict[str, Any]],
        values: dict[str, str],
        hints: dict[str, str] | None = None,
        baseline_hint: str = _BASELINE_ELSEWHERE,
    ):
        self.r = reader
        self.questions = questions  # id -> its fields ("type" None when the type is unusable)
        # computed value / instrument id -> "computed" | "instrument" (and, for a follow-up's
        # outcome, "outcome" for its values and "baseline" for baseline.ID)
        self.values = values
        # Why a value it does not know is not there (an outcome's value read elsewhere).
        self.hints = hints if hints is not None else {}
        self.baseline_hint = baseline_hint  # why a baseline.ID it does not know is not there

    def condition(self, node: Any, path: str) -> m.Condition | None:
        if not isinstance(node, YMap):
            return None
        for combinator in ("all", "any"):
            if combinator in node:
                entries = self.r.items(node, combinator, path)
                if len(node) != 1 or not entries:
                    return None
                parts = [self.condition(item, item_path) for item, item_path, _ in entries]
                if any(p is None for p in parts):
                    return None
                return m.All(tuple(parts)) if combinator == "all" else m.AnyOf(tuple(parts))
        if "not" in node:
            inner = self.condition(node["not"], join(path, "not")) if len(node) == 1 else None
            return m.Not(inner) if inner is not None else None
        return self.leaf(node, path)

    def leaf(self, node: YMap, path: str) -> m.Leaf | None:
        subjects = [k for k in ("question", "value") if k in node]
        ops = [k for k in node if k in m.LEAF_OPS]
        if len(subjects) != 1 or len(ops) != 1 or len(node) != 2:
            return None
        kind, op = subjects[0], ops[0]
        ref = node[kind]
        if not isinstance(ref, str):
            return None
        ref_line, ref_path = node.key_lines[kind], join(path, kind)
        if kind == "question":
            q = self.questions.get(ref)
            if q is None:
                hint = (
                    f" ('{ref}' is a computed value or instrument: write value: {ref})"
                    if ref in self.values
                    else ""
                )
                self.r.error(ref_line, ref_path, f"there is no question {describe(ref)}{hint}")
                return None
            qtype = q["type"]
            if qtype is None:
                return None
        else:
            if ref not in self.values:
                if ref.startswith(m.BASELINE_PREFIX):
                    hint = self.baseline_hint
                elif ref in self.questions:
                    hint = f" (it is a question: write question: {ref})"
                else:
                    hint = self.hints.get(ref, "")
                self.r.error(
                    ref_line,
                    ref_path,
                    f"there is no computed value or instrument {describe(ref)}{hint}",
                )
                return None
            q, qtype = None, "value"
        where = (join(path, op), node.key_lines[op], ref)
        typed = self.operand(q, qtype, op, node[op], *where)
        if typed is _BAD:
            return None
        return m.Leaf(kind, ref, op, typed)

    def operand(
        self, q: dict | None, qtype: str, op: str, operand: Any, path: str, line: int, ref: str
    ) -> Any:
        r = self.r
        if op == "answered":
            return operand if isinstance(operand, bool) else _BAD  # the schema said so
        if op in ("in", "not_in"):
            if not isinstance(operand, list) or not operand:
                return _BAD  # the schema said so
            if qtype == "multi_choice":
                r.error(line, path, f"'{ref}' is a multi_choice question: test it with contains")
                return _BAD
            typed = [self.scalar(q, qtype, v, path, line, ref) for v in operand]
            return _BAD if _BAD in typed else tuple(typed)
        if op == "contains":
            if qtype != "multi_choice":
                r.error(
                    line, path, f"contains is only for multi_choice questions ('{ref}' is {qtype})"
                )
                return _BAD
            return self.option(q, operand, path, line, ref)
        if qtype == "multi_choice":
            r.error(line, path, f"'{ref}' is a multi_choice question: test it with contains")
            return _BAD
        if op in ("gt", "gte", "lt", "lte"):
            return self.ordered(q, qtype, op, operand, path, line, ref)
        return self.scalar(q, qtype, operand, path, line, ref)

    def ordered(
        self, q: dict | None, qtype: str, op: str, operand: Any, path: str, line: int, ref: str
    ) -> Any:
        """The operand of gt, gte, lt or lte: a number or a date, as the question holds."""
        ordinal_choice = (
            qtype == "choice"
            and q is not None
            and all(isinstance(o.value, int) for o in q["options"])
        )
        if qtype in m.NUMERIC_TYPES or qtype == "value" or ordinal_choice:
            if isinstance(operand, bool) or not isinstance(operand, int | float):
                self.r.error(line, path, f"{op} takes a number, not {describe(operand)}")
                return _BAD
            return operand
        if qtype in m.DATE_TYPES:
            parsed = _date_operand(qtype, operand)
            if parsed is None:
                self.r.error(line, path, f"{op} takes {_DATE_LIKE[qtype]}, not {describe(operand)}")
                return _BAD
            return parsed
        self.r.error(
            line, path, f"'{ref}' is a {qtype} question: {op} is only for numbers and dates"
        )
        return _BAD

    def scalar(self, q: dict | None, qtype: str, value: Any, path: str, line: int, ref: str) -> Any:
        r = self.r
        if qtype == "choice":
            return self.option(q, value, path, line, ref)
        if qtype == "yes_no":
            if not isinstance(value, bool):
                r.error(line, path, f"'{ref}' is a yes/no question: compare it with true or false")
                return _BAD
            return value
        if qtype in m.NUMERIC_TYPES or qtype == "value":
            if isinstance(value, bool) or not isinstance(value, int | float):
                r.error(line, path, f"'{ref}' holds a number: {describe(value)} is not a number")
                return _BAD
            return value
        if qtype in m.DATE_TYPES:
            parsed = _date_operand(qtype, value)
            if parsed is None:
                what = "date" if qtype == "date" else "month (YYYY-MM)"
                r.error(line, path, f"'{ref}' holds a {what}: {describe(value)} is not one")
                return _BAD
            return parsed
        if not isinstance(value, str):
            r.error(line, path, f"'{ref}' holds text: {describe(value)} is not text")
            return _BAD
        return value

    def option(self, q: dict | None, value: Any, path: str, line: int, ref: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.r.error(line, path, f"{describe(value)} is not an option value")
            return _BAD
        options = q["options"] if q is not None else ()
        for option in options:
            if str(option.value) == str(value):
                return option.value
        values = ", ".join(str(o.value) for o in options)
        self.r.error(
            line, path, f"question '{ref}' has no option {value!r} (its options are: {values})"
        )
        return _BAD


_DATE_LIKE = {"date": "a date like 2020-01-31", "month_year": "a month like 2020-01"}


def _date_operand(qtype: str, value: Any) -> Any:
    """A date (a `date` question) or a month (YYYY-MM, a `month_year` question) as written in
    a condition, or None."""
    if qtype == "date":
        return parse_date(value)
    return m.YearMonth.parse(value) if isinstance(value, str) else None
