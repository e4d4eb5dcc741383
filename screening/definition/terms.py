"""The language's smallest terms: a text in several languages, and the nodes of a condition.

Part of the model (`model.py` re-exports them); apart so that the model stays one readable room.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, Literal

# --- texts in several languages ---------------------------------------------------------------


class Text(str):
    """A text in the questionnaire's first language that also carries its translations.

    It is a `str`, so everything that reads the questionnaire (the engine, the clinician's PDF)
    sees the first language; `Questionnaire.localized(lang)` swaps every one for `lang`.
    """

    translations: dict[str, str]

    def __new__(cls, value: str, translations: Mapping[str, str]) -> Text:
        text = super().__new__(cls, value)
        text.translations = dict(translations)
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (Text, (str(self), self.translations))

    def to(self, language: str) -> str:
        return self.translations.get(language, str(self))


def localize(node: Any, language: str) -> Any:
    """`node` (a dataclass of this module, a tuple of them, or a Text) in `language`."""
    if isinstance(node, Text):
        return node.to(language)
    if isinstance(node, tuple):
        items = tuple(localize(item, language) for item in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if is_dataclass(node) and not isinstance(node, type):
        changes = {}
        for f in fields(node):
            if not f.init:
                continue
            value = getattr(node, f.name)
            new = localize(value, language)
            if new is not value:
                changes[f.name] = new
        return replace(node, **changes) if changes else node
    return node


# --- conditions -------------------------------------------------------------------------------

LeafOp = Literal[
    "equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "answered"
]
LEAF_OPS: tuple[str, ...] = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "answered",
)


@dataclass(frozen=True, slots=True)
class Leaf:
    """`{question: ID, op: operand}` or `{value: ID, op: operand}`."""

    kind: Literal["question", "value"]
    ref: str
    op: str
    operand: Any


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Leaf | All | AnyOf | Not
