"""The draft being previewed: its file read again on every request, linted once per content.

No watcher thread: each request stats the file, and reads and hashes it only when its modification
time or size changed; a new content is linted (`screening.definition.lint`, exactly as `screening
lint` does) and kept until the file changes again. Pure: no Flask.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..definition import DefinitionError, content_hash, read_path
from ..definition import model as m
from ..definition.lint import LintResult, lint
from ..definition.yaml_source import Problem, YList, YMap, parse_yaml


@dataclass(frozen=True)
class State:
    """One content of the draft: its hash, its lint result, and the line of each part."""

    hash: str
    result: LintResult
    lines: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def questionnaire(self) -> m.Questionnaire | None:
        return self.result.questionnaire if self.result.ok else None

    @property
    def problems(self) -> list[Problem]:
        return self.result.problems

    def line(self, kind: str, ident: str) -> int:
        """The YAML line where a part is defined (0 when not known)."""
        return self.lines.get((kind, ident), 0)


# The lists of the language whose items have an `id`, and what the lines are keyed by.
PARTS = {
    "steps": "step",
    "computed": "computed",
    "instruments": "instrument",
    "risk_factors": "factor",
    "red_flags": "flag",
    "domain_alerts": "alert",
    "axes": "axis",
    "tiers": "tier",
    "caps": "cap",
}


def source_lines(text: str, name: str) -> dict[tuple[str, str], int]:
    """(kind, id) -> the line where it is defined, for the parts whose model keeps no line
    (steps, instruments, axes, tiers...); also questions and examples, by id and by name."""
    data, _ = parse_yaml(text, name)
    lines: dict[tuple[str, str], int] = {}
    if not isinstance(data, YMap):
        return lines
    for key, kind in PARTS.items():
        items = data.get(key)
        if not isinstance(items, YList):
            continue
        for item, line in zip(items, items.item_lines, strict=True):
            if isinstance(item, YMap) and isinstance(item.get("id"), str):
                lines[(kind, item["id"])] = line
            if (
                key == "steps"
                and isinstance(item, YMap)
                and isinstance(item.get("questions"), YList)
            ):
                questions = item["questions"]
                for question, q_line in zip(questions, questions.item_lines, strict=True):
                    if isinstance(question, YMap) and isinstance(question.get("id"), str):
                        lines[("question", question["id"])] = q_line
    examples = data.get("examples")
    if isinstance(examples, YList):
        for item, line in zip(examples, examples.item_lines, strict=True):
            if isinstance(item, YMap) and isinstance(item.get("name"), str):
                lines[("example", item["name"])] = line
    return lines


class Draft:
    """A questionnaire file as it is on disk now."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._state: State | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def current(self) -> State:
        """The draft's state now: linted again when its content changed since the last look."""
        with self._lock:
            stamp = self._stat()
            if self._state is not None and stamp is not None and stamp == self._stamp:
                return self._state
            try:
                text = read_path(self.path)
            except DefinitionError as exc:  # gone, unreadable: its problem, as lint tells it
                self._stamp, self._state = (
                    None,
                    State("", LintResult(str(self.path), exc.problems, None)),
                )
                return self._state
            digest = content_hash(text)
            if self._state is None or self._state.hash != digest:
                self._state = State(digest, lint(self.path), source_lines(text, str(self.path)))
            self._stamp = stamp
            return self._state
