"""What text typed by people may hold: no control characters (a NUL, an escape; PostgreSQL
refuses NUL in text, and none belongs in a name or a note), line breaks and tabs only where the
field takes several lines."""

from __future__ import annotations

import unicodedata

LINE_BREAKS = frozenset("\t\n\r")


def has_control_characters(value: str, multiline: bool = False) -> bool:
    """Whether `value` holds a control character (Unicode category Cc): any, or, for a field of
    several lines, any but a tab and line breaks."""
    allowed = LINE_BREAKS if multiline else frozenset()
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in value)


def without_control_characters(value: str, multiline: bool = False) -> str:
    """`value` with its control characters taken out (as `has_control_characters` counts them)."""
    allowed = LINE_BREAKS if multiline else frozenset()
    return "".join(c for c in value if unicodedata.category(c) != "Cc" or c in allowed)
