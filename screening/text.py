"""What text typed by people may hold: no control characters (a NUL, an escape; PostgreSQL
refuses NUL in text, and none belongs in a name or a note), line breaks and tabs only where the
field takes several lines; and no format characters, which are taken out wherever text is stored
or shown.

Format characters (Unicode category Cf) are invisible: the bidirectional overrides and isolates
(U+202A-202E, U+2066-2069) that make "evil.exe" read "exe.live" and reverse words in the
clinician's PDF, the left-to-right and right-to-left marks, zero-width spaces and joiners, the
byte-order mark, soft hyphens. Nobody types them on purpose into a name or an answer, so they are
dropped silently rather than refused. That includes the zero-width joiner (U+200D) of emoji
sequences: dropping it shows a family emoji as its people side by side, which loses nothing a
clinic needs."""

from __future__ import annotations

import unicodedata

from markupsafe import Markup

LINE_BREAKS = frozenset("\t\n\r")
# Letters and digits for a code a person reads aloud or types from paper: no 0/o, 1/l/i.
UNAMBIGUOUS = "abcdefghjkmnpqrstuvwxyz23456789"


def has_control_characters(value: str, multiline: bool = False) -> bool:
    """Whether `value` holds a control character (Unicode category Cc): any, or, for a field of
    several lines, any but a tab and line breaks."""
    allowed = LINE_BREAKS if multiline else frozenset()
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in value)


def without_control_characters(value: str, multiline: bool = False) -> str:
    """`value` with its control characters taken out (as `has_control_characters` counts them)."""
    allowed = LINE_BREAKS if multiline else frozenset()
    return "".join(c for c in value if unicodedata.category(c) != "Cc" or c in allowed)


def is_format_character(c: str) -> bool:
    return unicodedata.category(c) == "Cf"


def without_format_characters(value: str) -> str:
    """`value` with its format characters (category Cf) taken out."""
    if value.isascii():  # the common case, at once: no format character is ASCII
        return value
    return "".join(c for c in value if unicodedata.category(c) != "Cf")


def kept_note(note: str | None) -> str | None:
    """A staff member's note as kept: format characters out, runs of spaces and line breaks made
    single spaces; None when empty."""
    return " ".join(without_format_characters(note or "").split()) or None


def shown(value):
    """What a template prints, without format characters (Jinja's `finalize`, for the pages and
    the PDF): values stored before they were taken out at the door are shown without them too."""
    if isinstance(value, str):
        cleaned = without_format_characters(value)
        if cleaned is not value and isinstance(value, Markup):  # markup stays markup
            return Markup(cleaned)
        return cleaned
    return value
