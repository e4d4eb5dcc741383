"""The YAML of a definition, read with the line of every key and item, and how problems are told.

Every problem is a `Problem` naming file:line, the key path and what is wrong in plain words.
Malformed YAML is reported the same way, never as a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class DefinitionError(Exception):
    """The definition cannot be used; `problems` says why, each with file:line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


# --- a YAML 1.2 reader --------------------------------------------------------------------------


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ~5x faster to parse
    """SafeLoader reading scalars as YAML 1.2 does, and as an editor's YAML language server does:
    only true/false are booleans (never yes/no/on/off), and a date is plain text (YAML 1.2 has
    no timestamps; the definition parses the dates it expects, and JSON Schema sees text)."""


_YAML_11_ONLY = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML_11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class YMap(dict):
    """A mapping that remembers its line and the line of each key (1-based)."""

    line: int
    key_lines: dict[str, int]


class YList(list):
    """A list that remembers its line and the line of each item (1-based)."""

    line: int
    item_lines: list[int]


def _to_python(
    node: yaml.Node,
    loader: Loader,
    problems: list[Problem],
    file: str,
    path: str = "",
    active: frozenset[int] = frozenset(),
) -> Any:
    line = node.start_mark.line + 1
    if id(node) in active:  # an alias used inside its own anchor
        problems.append(Problem(file, line, path, "an alias (*name) refers to the block it is in"))
        return None
    inner = active | {id(node)}
    if isinstance(node, yaml.MappingNode):
        result = YMap()
        result.line, result.key_lines = line, {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = _to_python(key_node, loader, problems, file, path, inner)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str | int) or isinstance(key, bool):
                problems.append(Problem(file, key_line, path, f"a key must be a word, not {key!r}"))
                continue
            key = str(key)
            if key in result:
                message = f"the key '{key}' appears twice in this block"
                problems.append(Problem(file, key_line, join(path, key), message))
                continue
            result[key] = _to_python(value_node, loader, problems, file, join(path, key), inner)
            result.key_lines[key] = key_line
        return result
    if isinstance(node, yaml.SequenceNode):
        items = YList(
            _to_python(n, loader, problems, file, f"{path}[{i}]", inner)
            for i, n in enumerate(node.value)
        )
        items.line, items.item_lines = line, [n.start_mark.line + 1 for n in node.value]
        return items
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """The document as YMap / YList / scalars, and the problems of reading it."""
    problems: list[Problem] = []
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(file, 1, "", "the file is empty")]
        data = _to_python(node, loader, problems, file)
        if data is None and not problems:
            problems.append(Problem(file, 1, "", "the file is empty"))
        return data, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = " ".join(filter(None, [exc.context, exc.problem]))
        return None, [Problem(file, line, "", f"this is not valid YAML: {what}")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, 0, "", f"this is not valid YAML: {exc}")]
    finally:
        loader.dispose()


# --- paths, lines and values in messages --------------------------------------------------------


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def path_text(parts: Sequence[str | int]) -> str:
    """`["steps", 0, "title"]` -> "steps[0].title", as problems name a place."""
    text = ""
    for part in parts:
        text = f"{text}[{part}]" if isinstance(part, int) else join(text, part)
    return text


def line_of(data: Any, parts: Sequence[str | int]) -> int:
    """The line where the value at `parts` is written: its key's line or its item's line."""
    node, line = data, 1
    for part in parts:
        if isinstance(node, YMap) and part in node:
            line, node = node.key_lines[part], node[part]
        elif isinstance(node, YList) and isinstance(part, int) and part < len(node):
            line, node = node.item_lines[part], node[part]
        else:
            break
    return line


def block_line(data: Any, parts: Sequence[str | int]) -> int:
    """The line a block or list at `parts` starts on (where its first key or item is)."""
    node = value_at(data, parts)
    return node.line if isinstance(node, YMap | YList) else line_of(data, parts)


def value_at(data: Any, parts: Sequence[str | int]) -> Any:
    node = data
    for part in parts:
        node = node[part]
    return node


def describe(value: Any) -> str:
    """A value as a message shows it: 'slider', 1.0, a list, the boolean true, empty."""
    if isinstance(value, dict):
        return "a block of keys"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "empty"
    return repr(value)
