"""Reading values out of a definition whose structure the schema has already checked.

Each getter returns what it finds, or None when the value is missing or of the wrong kind: the
schema reported that, so nothing here reports it again. Only the rule a schema cannot express is
reported: every patient text is given in every language of the questionnaire, and in no other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import model as m
from .schema import ID_RE, LANGUAGE_RE
from .yaml_source import Problem, YList, YMap, describe, join


def parse_date(value: Any) -> dt.date | None:
    """A date written as YYYY-MM-DD (YAML 1.2 reads it as text), or None."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def is_text(value: Any) -> bool:
    """Text as the schema takes it: a string, or a number written where text is expected."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


class Reader:
    """Reads the values of one definition and keeps the problems found in them."""

    def __init__(self, file: str, languages: tuple[str, ...], problems: list[Problem]):
        self.file, self.languages, self.problems = file, languages, problems

    def error(self, line: int, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, path, message))

    # values of one kind
    def ident(self, block: YMap, key: str) -> str | None:
        value = block.get(key)
        return value if isinstance(value, str) and ID_RE.match(value) else None

    def boolean(self, block: YMap, key: str, default: bool | None) -> bool | None:
        value = block.get(key, default)
        return value if isinstance(value, bool) else default

    def integer(self, block: YMap, key: str, minimum: int = 0) -> int | None:
        value = block.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return None
        return value

    def items(self, block: YMap, key: str, path: str) -> list[tuple[Any, str, int]]:
        """(item, path, line) for each entry of a list value."""
        value = block.get(key)
        if not isinstance(value, YList):
            return []
        return [
            (item, f"{join(path, key)}[{i}]", value.item_lines[i]) for i, item in enumerate(value)
        ]

    def blocks(self, block: YMap, key: str, path: str) -> list[tuple[YMap, str, int]]:
        """(block, path, line) for each entry of a list value that is a block of keys."""
        return [entry for entry in self.items(block, key, path) if isinstance(entry[0], YMap)]

    def coding(self, block: YMap, key: str, path: str) -> m.Coding | None:
        value = block.get(key)
        if not isinstance(value, YMap):
            return None
        p = join(path, key)
        system, code = self.text(value, "system", p), self.text(value, "code", p)
        if system is None or code is None:
            return None
        return m.Coding(system, code, self.text(value, "display", p, required=False))

    # texts
    def text(
        self, block: YMap, key: str, path: str, required: bool = True, patient: bool = False
    ) -> str | None:
        """A text. One the patient reads (`patient`) is given in every language of the
        questionnaire, as `{en: ..., es: ...}`, once it has more than one; the others (for the
        clinic) are plain text in the clinic's language."""
        if key not in block:
            return None
        value, line, where = block[key], block.key_lines[key], join(path, key)
        if isinstance(value, YMap):
            return self._translated(value, line, where, required) if patient else None
        if not is_text(value):
            return None
        text = str(value).strip()
        if required and not text:
            return None
        if patient and len(self.languages) > 1 and text:
            missing = ", ".join(self.languages[1:])
            self.error(
                line,
                where,
                f"has no translation for {missing}: the patient may read it in any of the "
                f"questionnaire's languages; write it as {{{self.languages[0]}: ..., "
                f"{self.languages[1]}: ...}}",
            )
        return text

    def _translated(self, value: YMap, line: int, where: str, required: bool) -> str | None:
        texts: dict[str, str] = {}
        for language, text in value.items():
            if not LANGUAGE_RE.match(language):
                continue  # not a language code: the schema said so (a comma, most likely)
            if language not in self.languages:
                self.error(
                    value.key_lines[language],
                    join(where, language),
                    f"{describe(language)} is not one of the questionnaire's languages "
                    f"({', '.join(self.languages)}; see 'languages' at the top)",
                )
                continue
            if is_text(text):
                texts[language] = str(text).strip()
        missing = [lang for lang in self.languages if lang not in value]
        if missing:
            self.error(line, where, f"has no translation for: {', '.join(missing)}")
        empty = [lang for lang, text in texts.items() if not text]
        if empty and (required or len(empty) < len(texts)):
            self.error(line, where, f"must not be empty (in: {', '.join(empty)})")
        first = texts.get(self.languages[0])
        if first is None or missing or empty:
            return None if required or first is None else first
        return m.Text(first, texts)
