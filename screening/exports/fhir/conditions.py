"""A `show_if` in the Questionnaire: as enableWhen / enableBehavior when that says it exactly,
otherwise the condition as its YAML's JSON in the extension `CONDITION_URL`, so nothing is lost."""

from __future__ import annotations

import json
from typing import Any

from ...definition import model as m
from ...definition.conditions import evaluate, to_data
from .common import CONDITION_URL, value_element

COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class NotMapped(Exception):
    """The condition cannot be said exactly with enableWhen."""


def _leaf(q: m.Questionnaire, leaf: m.Leaf) -> tuple[str, list[dict[str, Any]]]:
    """The enableWhen entries of one leaf and how they combine: "one", "any" or "all".

    Exact, with R4's operators: `=` and the comparisons are false without an answer, `!=` is true
    without one (no answer equals), `exists` tests for an answer. Choices and yes/no questions are
    written as the options that make the leaf true (so `not_equals` and `gt` on an ordinal choice
    become `=` on each such option, any of them).
    """
    if leaf.kind != "question":
        raise NotMapped("a computed value or an instrument score")
    question = q.questions[leaf.ref]

    def entry(operator: str, value: Any) -> dict[str, Any]:
        return {
            "question": question.id,
            "operator": operator,
            **value_element(q, question, value, "answer", ordinal=False),
        }

    if leaf.op == "answered":
        return "one", [
            {"question": question.id, "operator": "exists", "answerBoolean": leaf.operand}
        ]
    if leaf.op == "contains":  # a multi_choice answer holding the option: R4's "=" on repeats
        return "one", [entry("=", leaf.operand)]
    if question.type in ("choice", "yes_no"):
        values = [o.value for o in question.options] if question.type == "choice" else [True, False]
        chosen = [v for v in values if evaluate(leaf, lambda _leaf, v=v: v)]
        if not chosen:
            raise NotMapped("no answer makes it true")
        return ("one" if len(chosen) == 1 else "any"), [entry("=", v) for v in chosen]
    if leaf.op == "equals":
        return "one", [entry("=", leaf.operand)]
    if leaf.op == "in":
        return ("one" if len(leaf.operand) == 1 else "any"), [entry("=", v) for v in leaf.operand]
    if leaf.op in COMPARISONS:
        return "one", [entry(COMPARISONS[leaf.op], leaf.operand)]
    # not_equals / not_in: answered, and none of the values (R4's != alone is true unanswered).
    values = leaf.operand if leaf.op == "not_in" else (leaf.operand,)
    exists = {"question": question.id, "operator": "exists", "answerBoolean": True}
    return "all", [exists, *(entry("!=", v) for v in values)]


def _simplify(condition: m.Condition) -> m.Condition:
    while isinstance(condition, m.All | m.AnyOf) and len(condition.items) == 1:
        condition = condition.items[0]
    return condition


def _flatten(condition: m.All | m.AnyOf) -> list[m.Condition]:
    """The items of an all (any), with the items of an all (any) inside it taken up."""
    items: list[m.Condition] = []
    for item in condition.items:
        item = _simplify(item)
        if type(item) is type(condition):
            items.extend(_flatten(item))
        else:
            items.append(item)
    return items


def enable_when(
    q: m.Questionnaire, condition: m.Condition
) -> tuple[list[dict[str, Any]], str | None]:
    """enableWhen entries and enableBehavior (None for a single entry); NotMapped when the
    condition cannot be said exactly that way (not, an any inside an all or the reverse, a
    computed value or an instrument score)."""
    condition = _simplify(condition)
    if isinstance(condition, m.Leaf):
        mode, entries = _leaf(q, condition)
        return entries, (mode if len(entries) > 1 else None)
    if isinstance(condition, m.Not):
        raise NotMapped("not")
    behavior = "all" if isinstance(condition, m.All) else "any"
    entries: list[dict[str, Any]] = []
    for item in _flatten(condition):
        if not isinstance(item, m.Leaf):
            raise NotMapped("nested")
        mode, found = _leaf(q, item)
        if mode not in ("one", behavior):
            raise NotMapped("nested")
        entries.extend(e for e in found if e not in entries)
    return entries, (behavior if len(entries) > 1 else None)


def condition_extension(condition: m.Condition) -> dict[str, Any]:
    """The condition in its YAML shape (`to_data`, as the patient's pages get it), as JSON text."""
    text = json.dumps(to_data(condition), ensure_ascii=False, separators=(", ", ": "))
    return {"url": CONDITION_URL, "valueString": text}


def with_condition(
    item: dict[str, Any], q: m.Questionnaire, condition: m.Condition | None
) -> dict[str, Any]:
    """The item with its condition: enableWhen if it maps, else the extension (first, with the
    item's other extensions)."""
    if condition is None:
        return item
    try:
        entries, behavior = enable_when(q, condition)
    except NotMapped:
        return {"extension": [*item.pop("extension", []), condition_extension(condition)], **item}
    item["enableWhen"] = entries
    if behavior:
        item["enableBehavior"] = behavior
    return item
