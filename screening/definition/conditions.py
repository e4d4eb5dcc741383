"""The condition language: evaluation and references. Data, never code: nothing here calls eval."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .model import All, AnyOf, Condition, Leaf, Not


class _Missing:
    """No answer: unanswered, blank, hidden, or a computed value that cannot be computed."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

Lookup = Callable[[Leaf], Any]


def holds(leaf: Leaf, value: Any) -> bool:
    """Whether `leaf` is true of `value` (the typed value it names, or MISSING)."""
    op, operand = leaf.op, leaf.operand
    if op == "answered":
        return (value is not MISSING) == operand
    if value is MISSING:
        return False
    if op == "equals":
        return value == operand
    if op == "not_equals":
        return value != operand
    if op == "in":
        return value in operand
    if op == "not_in":
        return value not in operand
    if op == "contains":
        return operand in value
    if op == "gt":
        return value > operand
    if op == "gte":
        return value >= operand
    if op == "lt":
        return value < operand
    if op == "lte":
        return value <= operand
    raise ValueError(f"unknown operator {op!r}")  # the loader never lets one through


def evaluate(condition: Condition, lookup: Lookup) -> bool:
    """Evaluate `condition`; `lookup(leaf)` returns the typed value the leaf names, or MISSING."""
    if isinstance(condition, Leaf):
        return holds(condition, lookup(condition))
    if isinstance(condition, All):
        return all(evaluate(c, lookup) for c in condition.items)
    if isinstance(condition, AnyOf):
        return any(evaluate(c, lookup) for c in condition.items)
    if isinstance(condition, Not):
        return not evaluate(condition.item, lookup)
    raise TypeError(f"not a condition: {condition!r}")


UNKNOWN: Any = None  # the third truth value of `evaluate3`


def evaluate3(condition: Condition, lookup: Lookup, unknown: Callable[[Leaf], bool]) -> bool | None:
    """Kleene's three-valued `evaluate`: True, False, or UNKNOWN (None) when the answer would
    depend on a leaf that `unknown(leaf)` says cannot be told ("Not sure")."""
    if isinstance(condition, Leaf):
        if condition.op != "answered" and unknown(condition):
            return UNKNOWN
        return holds(condition, lookup(condition))
    if isinstance(condition, All):
        results = [evaluate3(c, lookup, unknown) for c in condition.items]
        if False in results:
            return False
        return UNKNOWN if UNKNOWN in results else True
    if isinstance(condition, AnyOf):
        results = [evaluate3(c, lookup, unknown) for c in condition.items]
        if True in results:
            return True
        return UNKNOWN if UNKNOWN in results else False
    if isinstance(condition, Not):
        result = evaluate3(condition.item, lookup, unknown)
        return UNKNOWN if result is UNKNOWN else not result
    raise TypeError(f"not a condition: {condition!r}")


def leaves(condition: Condition) -> Iterator[Leaf]:
    if isinstance(condition, Leaf):
        yield condition
    elif isinstance(condition, All | AnyOf):
        for item in condition.items:
            yield from leaves(item)
    elif isinstance(condition, Not):
        yield from leaves(condition.item)


def references(condition: Condition) -> set[tuple[str, str]]:
    """The (kind, id) pairs a condition reads: kind is "question" or "value"."""
    return {(leaf.kind, leaf.ref) for leaf in leaves(condition)}


def questions_read(q: Any, condition: Condition) -> tuple[str, ...]:
    """The questions a condition of questionnaire `q` reads, computed values and instruments
    expanded to their inputs; each once, in a stable order. The loader keeps this for every
    risk factor and red flag as `.reads`."""
    ids: list[str] = []
    for kind, ref in sorted(references(condition)):
        ids.extend([ref] if kind == "question" else q.value_inputs(ref))
    return tuple(dict.fromkeys(ids))


def to_data(condition: Condition) -> dict[str, Any]:
    """The condition in its YAML shape, JSON-ready (dates as ISO text): for the browser's script."""
    if isinstance(condition, Leaf):
        operand = condition.operand
        if isinstance(operand, tuple):
            operand = [_plain(v) for v in operand]
        else:
            operand = _plain(operand)
        return {condition.kind: condition.ref, condition.op: operand}
    if isinstance(condition, All):
        return {"all": [to_data(c) for c in condition.items]}
    if isinstance(condition, AnyOf):
        return {"any": [to_data(c) for c in condition.items]}
    return {"not": to_data(condition.item)}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
