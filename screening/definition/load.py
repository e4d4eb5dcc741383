"""YAML -> validated `Questionnaire`.

Every problem is collected (not only the first) as a `Problem` naming file:line, the key path and
what is wrong in plain words. Malformed YAML is reported the same way, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from . import model as m
from .conditions import questions_read

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
QUESTIONNAIRE_ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
SEMVER_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
PMID_RE = re.compile(r"^\d{1,9}$")
URL_RE = re.compile(r"^https?://\S+$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Z]{2})?$")


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


# --- YAML with line numbers -------------------------------------------------------------------


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ~5x faster to parse
    """SafeLoader reading booleans as YAML 1.2 does: only true/false (never yes/no/on/off)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class YMap(dict):
    """A mapping that remembers its line and the line of each key (1-based)."""

    line: int
    key_lines: dict[str, int]


class YList(list):
    line: int
    item_lines: list[int]


def _to_python(
    node: yaml.Node,
    loader: _Loader,
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
                problems.append(
                    Problem(
                        file,
                        key_line,
                        _join(path, key),
                        f"the key '{key}' appears twice in this block",
                    )
                )
                continue
            result[key] = _to_python(value_node, loader, problems, file, _join(path, key), inner)
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
    problems: list[Problem] = []
    loader = _Loader(text)
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


# --- the checker ------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, YMap | dict):
        return "a block of keys"
    if isinstance(value, YList | list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "empty"
    return repr(value)


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ("en",)

    def error(self, line: int, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, path, message))

    # Mapping with allowed keys
    def block(
        self,
        value: Any,
        path: str,
        line: int,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        what: str = "this",
    ) -> YMap | None:
        if not isinstance(value, YMap):
            self.error(line, path, f"{what} must be a block of keys, but it is {_describe(value)}")
            return None
        allowed = required + optional
        for key in value:
            if key not in allowed:
                self.error(
                    value.key_lines[key],
                    _join(path, key),
                    f"unknown key '{key}' (allowed here: {', '.join(allowed)})",
                )
        for key in required:
            if key not in value:
                self.error(value.line, path, f"the required key '{key}' is missing")
        return value

    def text(
        self, block: YMap, key: str, path: str, required: bool = True, patient: bool = False
    ) -> str | None:
        """A text. One the patient reads (`patient`) is given in every language of the
        questionnaire, as `{en: ..., es: ...}`, once it has more than one; the others (for the
        clinic) are plain text in the clinic's language."""
        if key not in block:
            return None
        value, line, where = block[key], block.key_lines[key], _join(path, key)
        if isinstance(value, YMap):
            if not patient:
                self.error(
                    line,
                    where,
                    "is read by the clinic only: write it as plain text in the clinic's "
                    f"language ({self.languages[0]}), not once per language",
                )
                return None
            return self._translated(value, line, where, required)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(line, where, f"must be text, not {_describe(value)}")
            return None
        text = str(value).strip()
        if required and not text:
            self.error(line, where, "must not be empty")
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
            at = value.key_lines[language]
            if language not in self.languages:
                hint = (
                    ""
                    if isinstance(language, str) and LANGUAGE_RE.match(language)
                    else " (a comma inside {...} ends a text there: put the text in quotes)"
                )
                self.error(
                    at,
                    _join(where, str(language)),
                    f"{_describe(language)} is not one of the questionnaire's languages "
                    f"({', '.join(self.languages)}; see 'languages' at the top){hint}",
                )
                continue
            if isinstance(text, bool) or not isinstance(text, str | int | float):
                self.error(at, _join(where, language), f"must be text, not {_describe(text)}")
                continue
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

    def ident(self, block: YMap, key: str, path: str, pattern: re.Pattern = ID_RE) -> str | None:
        if key not in block:
            return None
        value = block[key]
        if not isinstance(value, str) or not pattern.match(value):
            self.error(
                block.key_lines[key],
                _join(path, key),
                f"{_describe(value)} is not a valid id (use lower-case letters, digits and _, "
                "starting with a letter)",
            )
            return None
        return value

    def boolean(self, block: YMap, key: str, path: str, default: bool | None) -> bool | None:
        if key not in block:
            return default
        value = block[key]
        if not isinstance(value, bool):
            self.error(
                block.key_lines[key],
                _join(path, key),
                f"must be true or false, not {_describe(value)}",
            )
            return default
        return value

    def integer(self, block: YMap, key: str, path: str, minimum: int | None = None) -> int | None:
        if key not in block:
            return None
        value = block[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(
                block.key_lines[key],
                _join(path, key),
                f"must be a whole number, not {_describe(value)}",
            )
            return None
        if minimum is not None and value < minimum:
            self.error(block.key_lines[key], _join(path, key), f"must be at least {minimum}")
            return None
        return value

    def items(self, block: YMap, key: str, path: str, empty_ok: bool = False) -> list[tuple]:
        """(item, path, line) for each entry of a list value."""
        if key not in block:
            return []
        value = block[key]
        if not isinstance(value, YList):
            self.error(
                block.key_lines[key], _join(path, key), f"must be a list, not {_describe(value)}"
            )
            return []
        if not value and not empty_ok:
            self.error(block.key_lines[key], _join(path, key), "must not be empty")
        return [
            (item, f"{_join(path, key)}[{i}]", value.item_lines[i]) for i, item in enumerate(value)
        ]

    def coding(self, block: YMap, key: str, path: str) -> m.Coding | None:
        if key not in block:
            return None
        p = _join(path, key)
        b = self.block(block[key], p, block.key_lines[key], ("system", "code"), ("display",))
        if b is None:
            return None
        system, code = self.text(b, "system", p), self.text(b, "code", p)
        if system is None or code is None:
            return None
        return m.Coding(system, code, self.text(b, "display", p))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- from YAML to the model -------------------------------------------------------------------

TOP_REQUIRED = ("id", "version", "title", "steps", "tiers")
TOP_OPTIONAL = (
    "languages",
    "description",
    "estimated_minutes",
    "computed",
    "instruments",
    "risk_factors",
    "red_flags",
    "domain_alerts",
    "examples",
)


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


class _Builder:
    def __init__(self, data: Any, file: str, reader: _Reader):
        self.data, self.file, self.r = data, file, reader
        self.questions: dict[str, dict[str, Any]] = {}  # id -> fields, plus raw show_if
        self.values: dict[str, str] = {}  # computed / instrument id -> "computed" | "instrument"
        self.seen_ids: dict[str, tuple[str, int]] = {}

    def claim(self, ident: str, what: str, line: int, path: str, namespace: str) -> bool:
        key = (namespace, ident)
        if key in self.seen_ids:
            other_what, other_line = self.seen_ids[key]
            self.r.error(
                line, path, f"the id '{ident}' is already used by {other_what} (line {other_line})"
            )
            return False
        self.seen_ids[key] = (what, line)
        return True

    def build(self) -> m.Questionnaire | None:
        r = self.r
        top = r.block(self.data, "", 1, TOP_REQUIRED, TOP_OPTIONAL, what="the questionnaire")
        if top is None:
            return None
        r.languages = self.read_languages(top)
        ident = r.ident(top, "id", "", QUESTIONNAIRE_ID_RE)
        version = top.get("version")
        if "version" in top and (not isinstance(version, str) or not SEMVER_RE.match(version)):
            r.error(
                top.key_lines["version"],
                "version",
                f"{_describe(version)} is not a semantic version like 1.0.0 (write it in quotes)",
            )
        title = r.text(top, "title", "", patient=True)
        description = r.text(top, "description", "", required=False, patient=True)
        minutes = r.integer(top, "estimated_minutes", "", minimum=1)

        raw_steps = self.read_steps(top)
        computed = self.read_computed(top)
        instruments = self.read_instruments(top)
        steps = self.finish_steps(raw_steps)
        factors = self.read_factors(top)
        flags = self.read_red_flags(top)
        alerts = self.read_alerts(top)
        tiers = self.read_tiers(top)
        examples = self.read_examples(top, factors, flags, tiers)
        if r.problems:
            return None
        return m.Questionnaire(
            id=ident,
            version=version,
            title=title,
            description=description,
            estimated_minutes=minutes,
            steps=tuple(steps),
            tiers=tuple(tiers),
            computed=tuple(computed),
            instruments=tuple(instruments),
            risk_factors=tuple(factors),
            red_flags=tuple(flags),
            domain_alerts=tuple(alerts),
            examples=tuple(examples),
            languages=r.languages,
            source_name=self.file,
        )

    def read_languages(self, top: YMap) -> tuple[str, ...]:
        """`languages: [en, es]`: the languages a patient may answer in, the clinic's first."""
        r = self.r
        if "languages" not in top:
            return ("en",)
        found: list[str] = []
        for value, path, line in r.items(top, "languages", ""):
            if not isinstance(value, str) or not LANGUAGE_RE.match(value):
                r.error(
                    line,
                    path,
                    f"{_describe(value)} is not a language code like en, es or pt-BR",
                )
            elif value in found:
                r.error(line, path, f"the language '{value}' is listed twice")
            else:
                found.append(value)
        return tuple(found) or ("en",)

    # steps and questions
    def read_steps(self, top: YMap) -> list[dict[str, Any]]:
        r = self.r
        steps = []
        for item, path, line in r.items(top, "steps", ""):
            b = r.block(item, path, line, ("id", "title", "questions"), ("intro", "show_if"))
            if b is None:
                continue
            sid = r.ident(b, "id", path)
            if sid and not self.claim(
                sid, f"step '{sid}'", b.key_lines["id"], _join(path, "id"), "step"
            ):
                sid = None
            step = {
                "id": sid,
                "title": r.text(b, "title", path, patient=True),
                "intro": r.text(b, "intro", path, required=False, patient=True),
                "show_if": (b["show_if"], _join(path, "show_if"), b.key_lines["show_if"])
                if "show_if" in b
                else None,
                "questions": [],
            }
            for q_item, q_path, q_line in r.items(b, "questions", path):
                q = self.read_question(q_item, q_path, q_line, sid or "")
                if q is not None:
                    step["questions"].append(q["id"])
            steps.append(step)
        return steps

    def read_question(self, item: Any, path: str, line: int, step_id: str) -> dict | None:
        r = self.r
        b = r.block(
            item,
            path,
            line,
            ("id", "type", "label"),
            ("help", "options", "required", "min", "max", "unit", "show_if", "code"),
            what="a question",
        )
        if b is None:
            return None
        qid = r.ident(b, "id", path)
        if qid is None:
            return None
        if not self.claim(qid, f"question '{qid}'", b.key_lines["id"], _join(path, "id"), "value"):
            return None
        qtype = b.get("type")
        if "type" in b and qtype not in m.QUESTION_TYPES:
            r.error(
                b.key_lines["type"],
                _join(path, "type"),
                f"unknown question type {_describe(qtype)} "
                f"(use one of: {', '.join(m.QUESTION_TYPES)})",
            )
            qtype = None
        q: dict[str, Any] = {
            "id": qid,
            "type": qtype,
            "label": r.text(b, "label", path, patient=True),
            "help": r.text(b, "help", path, required=False, patient=True),
            "required": r.boolean(b, "required", path, True),
            "unit": r.text(b, "unit", path, required=False, patient=True),
            "code": r.coding(b, "code", path),
            "step_id": step_id,
            "line": line,
            "path": path,
            "options": (),
            "min": None,
            "max": None,
            "show_if": (b["show_if"], _join(path, "show_if"), b.key_lines["show_if"])
            if "show_if" in b
            else None,
        }
        self.questions[qid] = q
        if qtype is None:
            return q
        choice = qtype in ("choice", "multi_choice")
        if choice:
            if "options" not in b:
                r.error(b.line, path, f"a {qtype} question needs options")
            q["options"] = self.read_options(b, path)
        elif "options" in b:
            r.error(
                b.key_lines["options"], _join(path, "options"), f"a {qtype} question has no options"
            )
        if "unit" in b and qtype not in ("integer", "number"):
            r.error(
                b.key_lines["unit"],
                _join(path, "unit"),
                f"a unit is only for integer and number questions ({qtype} has its own units)",
            )
        for bound in ("min", "max"):
            if bound in b:
                q[bound] = self.read_bound(b, bound, path, qtype)
        if q["min"] is not None and q["max"] is not None:
            lo = dt.date.today() if q["min"] == "today" else q["min"]
            hi = dt.date.today() if q["max"] == "today" else q["max"]
            if (
                type(lo) is type(hi)
                and lo > hi
                or (isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi)
            ):
                r.error(b.key_lines["min"], _join(path, "min"), "min is greater than max")
        if qtype == "text" and q["max"] is None:
            q["max"] = m.TEXT_MAX_DEFAULT
        return q

    def read_options(self, b: YMap, path: str) -> tuple[m.Option, ...]:
        r = self.r
        options, seen = [], {}
        for item, o_path, o_line in r.items(b, "options", path):
            ob = r.block(item, o_path, o_line, ("value", "label"), ("code",), what="an option")
            if ob is None or "value" not in ob:
                continue
            value = ob["value"]
            if isinstance(value, bool) or not isinstance(value, str | int):
                r.error(
                    ob.key_lines["value"],
                    _join(o_path, "value"),
                    f"an option value must be a word or a whole number, not {_describe(value)}",
                )
                continue
            key = str(value)
            if key in seen:
                r.error(
                    ob.key_lines["value"],
                    _join(o_path, "value"),
                    f"the option value {value!r} is already used (line {seen[key]})",
                )
                continue
            seen[key] = ob.key_lines["value"]
            label = r.text(ob, "label", o_path, patient=True)
            options.append(m.Option(value, label or key, r.coding(ob, "code", o_path)))
        return tuple(options)

    def read_bound(self, b: YMap, key: str, path: str, qtype: str) -> Any:
        value, line, p = b[key], b.key_lines[key], _join(path, key)
        if qtype in m.NUMERIC_TYPES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.r.error(line, p, f"must be a number, not {_describe(value)}")
                return None
            if qtype == "integer" and not isinstance(value, int):
                self.r.error(line, p, "must be a whole number for an integer question")
                return None
            return value
        if qtype == "date":
            if value == "today":
                return "today"
            parsed = _parse_date(value)
            if parsed is None:
                self.r.error(
                    line, p, f"must be a date like 2020-01-31 or 'today', not {_describe(value)}"
                )
            return parsed
        if qtype == "text":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self.r.error(line, p, "must be a whole number of characters")
                return None
            return value
        self.r.error(line, p, f"a {qtype} question has no {key}")
        return None

    def finish_steps(self, raw_steps: list[dict[str, Any]]) -> list[m.Step]:
        # Conditions are read once every question and value is known, so they can be checked.
        for q in self.questions.values():
            if q["show_if"] is not None:
                q["show_if"] = self.condition(*q["show_if"])
        steps = []
        for s in raw_steps:
            show_if = self.condition(*s["show_if"]) if s["show_if"] else None
            questions = []
            for qid in s["questions"]:
                q = self.questions[qid]
                if q["type"] is None:
                    continue
                questions.append(m.Question(**{k: v for k, v in q.items() if k != "path"}))
            steps.append(
                m.Step(
                    id=s["id"],
                    title=s["title"],
                    intro=s["intro"],
                    show_if=show_if,
                    questions=tuple(questions),
                )
            )
        return steps

    # computed values and instruments
    def read_computed(self, top: YMap) -> list[m.Computed]:
        r, result = self.r, []
        for item, path, line in r.items(top, "computed", "", empty_ok=True):
            b = r.block(item, path, line, ("id", "label"), ("sum", "bmi"), what="a computed value")
            if b is None:
                continue
            cid = r.ident(b, "id", path)
            label = r.text(b, "label", path)
            kinds = [k for k in ("sum", "bmi") if k in b]
            if len(kinds) != 1:
                r.error(b.line, path, "give exactly one of 'sum' or 'bmi'")
                continue
            if cid is None or not self.claim(
                cid, f"computed value '{cid}'", b.key_lines["id"], _join(path, "id"), "value"
            ):
                continue
            if kinds[0] == "sum":
                inputs = []
                for ref, i_path, i_line in r.items(b, "sum", path):
                    if self.numeric_question(ref, i_path, i_line, "summed"):
                        inputs.append(ref)
                result.append(m.Computed(cid, label or cid, "sum", tuple(inputs)))
            else:
                p = _join(path, "bmi")
                bb = r.block(b["bmi"], p, b.key_lines["bmi"], ("height", "weight"))
                if bb is None:
                    continue
                ok = True
                for key in ("height", "weight"):
                    if key not in bb:  # reported by block() as a missing key
                        ok = False
                        continue
                    ref = bb.get(key)
                    q = self.questions.get(ref) if isinstance(ref, str) else None
                    if q is None:
                        r.error(
                            bb.key_lines[key],
                            _join(p, key),
                            f"there is no question {_describe(ref)}",
                        )
                        ok = False
                    elif q["type"] != key:
                        r.error(
                            bb.key_lines[key],
                            _join(p, key),
                            f"question '{ref}' is not a {key} question (it is of type {q['type']})",
                        )
                        ok = False
                if ok:
                    result.append(
                        m.Computed(cid, label or cid, "bmi", (bb["height"], bb["weight"]))
                    )
            self.values[cid] = "computed"
        return result

    def numeric_question(self, ref: Any, path: str, line: int, what: str) -> bool:
        q = self.questions.get(ref) if isinstance(ref, str) else None
        if q is None:
            self.r.error(line, path, f"there is no question {_describe(ref)}")
            return False
        if q["type"] in ("integer", "number"):
            return True
        if (
            q["type"] == "choice"
            and q["options"]
            and all(isinstance(o.value, int) for o in q["options"])
        ):
            return True
        self.r.error(
            line,
            path,
            f"question '{ref}' cannot be {what}: it must be an integer or number question, "
            "or a choice whose option values are all whole numbers",
        )
        return False

    def read_instruments(self, top: YMap) -> list[m.Instrument]:
        r, result = self.r, []
        for item, path, line in r.items(top, "instruments", "", empty_ok=True):
            b = r.block(
                item,
                path,
                line,
                ("id", "label", "items", "bands"),
                ("source", "code"),
                what="an instrument",
            )
            if b is None:
                continue
            iid = r.ident(b, "id", path)
            if iid is None or not self.claim(
                iid, f"instrument '{iid}'", b.key_lines["id"], _join(path, "id"), "value"
            ):
                continue
            items, highest = [], 0
            for ref, i_path, i_line in r.items(b, "items", path):
                if not self.numeric_question(ref, i_path, i_line, "an instrument item"):
                    continue
                q = self.questions[ref]
                if q["type"] != "choice":
                    r.error(
                        i_line,
                        i_path,
                        f"instrument items must be choice questions ('{ref}' is not)",
                    )
                    continue
                items.append(ref)
                highest += max(o.value for o in q["options"])
            bands, previous = [], -1
            for bi, b_path, b_line in r.items(b, "bands", path):
                bb = r.block(bi, b_path, b_line, ("label", "max"), what="a band")
                if bb is None:
                    continue
                label, bmax = r.text(bb, "label", b_path), r.integer(bb, "max", b_path, minimum=0)
                if bmax is None or label is None:
                    continue
                if bmax <= previous:
                    r.error(
                        bb.key_lines["max"],
                        _join(b_path, "max"),
                        f"bands must be in increasing order: {bmax} is not above {previous}",
                    )
                previous = bmax
                bands.append(m.Band(label, bmax))
            if bands and items and len(items) == len(b["items"]) and bands[-1].max != highest:
                r.error(
                    b.key_lines["bands"],
                    _join(path, "bands"),
                    f"the last band must end at the highest possible score, {highest} "
                    f"(it ends at {bands[-1].max})",
                )
            self.values[iid] = "instrument"
            result.append(
                m.Instrument(
                    iid,
                    r.text(b, "label", path) or iid,
                    tuple(items),
                    tuple(bands),
                    r.text(b, "source", path, required=False),
                    r.coding(b, "code", path),
                )
            )
        return result

    # conditions
    def condition(self, node: Any, path: str, line: int) -> m.Condition | None:
        r = self.r
        if not isinstance(node, YMap):
            r.error(line, path, f"a condition must be a block of keys, not {_describe(node)}")
            return None
        for combinator in ("all", "any"):
            if combinator in node:
                if len(node) != 1:
                    r.error(node.line, path, f"'{combinator}' must stand alone in its block")
                    return None
                parts = [self.condition(*entry) for entry in r.items(node, combinator, path)]
                if any(p is None for p in parts) or not parts:
                    return None
                return m.All(tuple(parts)) if combinator == "all" else m.AnyOf(tuple(parts))
        if "not" in node:
            if len(node) != 1:
                r.error(node.line, path, "'not' must stand alone in its block")
                return None
            inner = self.condition(node["not"], _join(path, "not"), node.key_lines["not"])
            return m.Not(inner) if inner is not None else None
        return self.leaf(node, path)

    def leaf(self, node: YMap, path: str) -> m.Leaf | None:
        r = self.r
        subjects = [k for k in ("question", "value") if k in node]
        ops = [k for k in node if k in m.LEAF_OPS]
        unknown = [k for k in node if k not in m.LEAF_OPS and k not in ("question", "value")]
        for k in unknown:
            r.error(
                node.key_lines[k],
                _join(path, k),
                f"unknown key '{k}' in a condition (use question or value, one of "
                f"{', '.join(m.LEAF_OPS)}, or all / any / not)",
            )
        if unknown:
            return None
        if len(subjects) != 1:
            r.error(node.line, path, "a condition names exactly one 'question:' or 'value:'")
            return None
        if len(ops) != 1:
            r.error(node.line, path, f"a condition has exactly one test ({', '.join(m.LEAF_OPS)})")
            return None
        kind, op = subjects[0], ops[0]
        ref, ref_line = node[kind], node.key_lines[kind]
        op_path, op_line, operand = _join(path, op), node.key_lines[op], node[op]
        if kind == "question":
            q = self.questions.get(ref) if isinstance(ref, str) else None
            if q is None:
                hint = (
                    f" ('{ref}' is a computed value or instrument: write value: {ref})"
                    if (isinstance(ref, str) and ref in self.values)
                    else ""
                )
                r.error(
                    ref_line,
                    _join(path, "question"),
                    f"there is no question {_describe(ref)}{hint}",
                )
                return None
            qtype = q["type"]
            if qtype is None:
                return None
        else:
            if not isinstance(ref, str) or ref not in self.values:
                hint = (
                    " (it is a question: write question: " + ref + ")"
                    if (isinstance(ref, str) and ref in self.questions)
                    else ""
                )
                r.error(
                    ref_line,
                    _join(path, "value"),
                    f"there is no computed value or instrument {_describe(ref)}{hint}",
                )
                return None
            q, qtype = None, "value"
        typed = self.operand(q, qtype, op, operand, op_path, op_line, ref)
        if typed is _BAD:
            return None
        return m.Leaf(kind, ref, op, typed)

    def operand(
        self, q: dict | None, qtype: str, op: str, operand: Any, path: str, line: int, ref: str
    ) -> Any:
        r = self.r
        if op == "answered":
            if not isinstance(operand, bool):
                r.error(line, path, "answered takes true or false")
                return _BAD
            return operand
        if op in ("in", "not_in"):
            if not isinstance(operand, list) or not operand:
                r.error(line, path, f"{op} takes a list of values")
                return _BAD
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
            ordinal_choice = qtype == "choice" and all(
                isinstance(o.value, int) for o in q["options"]
            )
            if qtype in m.NUMERIC_TYPES or qtype == "value" or ordinal_choice:
                if isinstance(operand, bool) or not isinstance(operand, int | float):
                    r.error(line, path, f"{op} takes a number, not {_describe(operand)}")
                    return _BAD
                return operand
            if qtype == "date":
                parsed = _parse_date(operand)
                if parsed is None:
                    r.error(
                        line, path, f"{op} takes a date like 2020-01-31, not {_describe(operand)}"
                    )
                    return _BAD
                return parsed
            r.error(
                line, path, f"'{ref}' is a {qtype} question: {op} is only for numbers and dates"
            )
            return _BAD
        return self.scalar(q, qtype, operand, path, line, ref)

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
                r.error(line, path, f"'{ref}' holds a number: {_describe(value)} is not a number")
                return _BAD
            return value
        if qtype == "date":
            parsed = _parse_date(value)
            if parsed is None:
                r.error(line, path, f"'{ref}' holds a date: {_describe(value)} is not a date")
                return _BAD
            return parsed
        if not isinstance(value, str):
            r.error(line, path, f"'{ref}' holds text: {_describe(value)} is not text")
            return _BAD
        return value

    def option(self, q: dict, value: Any, path: str, line: int, ref: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.r.error(line, path, f"{_describe(value)} is not an option value")
            return _BAD
        for option in q["options"]:
            if str(option.value) == str(value):
                return option.value
        values = ", ".join(str(o.value) for o in q["options"])
        self.r.error(
            line, path, f"question '{ref}' has no option {value!r} (its options are: {values})"
        )
        return _BAD

    # scoring rules
    def read_factors(self, top: YMap) -> list[m.RiskFactor]:
        r, result = self.r, []
        required = (
            "id",
            "label",
            "category",
            "points",
            "when",
            "modifiable",
            "patient_text",
            "clinician_text",
            "action",
            "evidence",
        )
        for item, path, line in r.items(top, "risk_factors", "", empty_ok=True):
            b = r.block(item, path, line, required, ("patient_action",), what="a risk factor")
            if b is None:
                continue
            fid = r.ident(b, "id", path)
            if fid and not self.claim(
                fid, f"risk factor '{fid}'", b.key_lines["id"], _join(path, "id"), "factor"
            ):
                fid = None
            category = b.get("category")
            if "category" in b and category not in m.CATEGORIES:
                r.error(
                    b.key_lines["category"],
                    _join(path, "category"),
                    f"unknown category {_describe(category)} "
                    f"(use one of: {', '.join(m.CATEGORIES)})",
                )
            points = r.integer(b, "points", path, minimum=1)
            when = (
                self.condition(b["when"], _join(path, "when"), b.key_lines["when"])
                if ("when" in b)
                else None
            )
            evidence = self.read_evidence(b, path)
            fields = dict(
                id=fid,
                label=r.text(b, "label", path),
                category=category,
                points=points,
                when=when,
                modifiable=r.boolean(b, "modifiable", path, None),
                patient_text=r.text(b, "patient_text", path, patient=True),
                clinician_text=r.text(b, "clinician_text", path),
                action=r.text(b, "action", path),
                evidence=evidence,
            )
            patient_action = r.text(b, "patient_action", path, required=False, patient=True)
            if all(v is not None for v in fields.values()) and category in m.CATEGORIES:
                result.append(m.RiskFactor(**fields, patient_action=patient_action, line=line))
        return result

    def read_evidence(self, b: YMap, path: str) -> tuple[m.Evidence, ...]:
        r, result = self.r, []
        checks: dict[str, tuple[re.Pattern, str]] = {
            "doi": (DOI_RE, "a DOI like 10.1001/jama.2010.338"),
            "pmid": (PMID_RE, "a PubMed id (digits only)"),
            "url": (URL_RE, "an http(s) address"),
        }
        for item, e_path, e_line in r.items(b, "evidence", path):
            eb = r.block(
                item, e_path, e_line, ("citation",), ("doi", "pmid", "url"), what="a citation"
            )
            if eb is None:
                continue
            ids = {}
            for key, (pattern, what) in checks.items():
                if key in eb:
                    value = str(eb[key]).strip()
                    if not pattern.match(value):
                        r.error(eb.key_lines[key], _join(e_path, key), f"{value!r} is not {what}")
                    ids[key] = value
            if not ids:
                r.error(eb.line, e_path, "a citation needs a doi, a pmid or a url")
                continue
            citation = r.text(eb, "citation", e_path)
            if citation:
                result.append(m.Evidence(citation, **ids))
        return tuple(result)

    def read_red_flags(self, top: YMap) -> list[m.RedFlag]:
        r, result = self.r, []
        for item, path, line in r.items(top, "red_flags", "", empty_ok=True):
            b = r.block(
                item,
                path,
                line,
                ("id", "when", "patient_message", "clinician_message"),
                ("urgency",),
                what="a red flag",
            )
            if b is None:
                continue
            fid = r.ident(b, "id", path)
            if fid and not self.claim(
                fid, f"red flag '{fid}'", b.key_lines["id"], _join(path, "id"), "flag"
            ):
                fid = None
            urgency = b.get("urgency", "same_day")
            if urgency not in m.URGENCIES:
                r.error(
                    b.key_lines["urgency"],
                    _join(path, "urgency"),
                    f"unknown urgency {_describe(urgency)} (use one of: {', '.join(m.URGENCIES)})",
                )
            when = (
                self.condition(b["when"], _join(path, "when"), b.key_lines["when"])
                if ("when" in b)
                else None
            )
            patient = r.text(b, "patient_message", path, patient=True)
            clinician = r.text(b, "clinician_message", path)
            if None not in (fid, when, patient, clinician) and urgency in m.URGENCIES:
                result.append(m.RedFlag(fid, when, patient, clinician, urgency, line))
        return result

    def read_alerts(self, top: YMap) -> list[m.DomainAlert]:
        r, result = self.r, []
        for item, path, line in r.items(top, "domain_alerts", "", empty_ok=True):
            b = r.block(
                item,
                path,
                line,
                ("id", "categories", "min_points", "clinician_message"),
                what="a domain alert",
            )
            if b is None:
                continue
            aid = r.ident(b, "id", path)
            if aid and not self.claim(
                aid, f"domain alert '{aid}'", b.key_lines["id"], _join(path, "id"), "alert"
            ):
                aid = None
            categories = []
            for cat, c_path, c_line in r.items(b, "categories", path):
                if cat not in m.CATEGORIES:
                    r.error(
                        c_line,
                        c_path,
                        f"unknown category {_describe(cat)} "
                        f"(use one of: {', '.join(m.CATEGORIES)})",
                    )
                else:
                    categories.append(cat)
            min_points = r.integer(b, "min_points", path, minimum=1)
            message = r.text(b, "clinician_message", path)
            if None not in (aid, min_points, message) and categories:
                result.append(m.DomainAlert(aid, tuple(categories), min_points, message))
        return result

    def read_tiers(self, top: YMap) -> list[m.Tier]:
        r, tiers, previous = self.r, [], -1
        entries = r.items(top, "tiers", "")
        for index, (item, path, line) in enumerate(entries):
            b = r.block(item, path, line, ("id",), ("label", "max"), what="a tier")
            if b is None:
                continue
            tid = r.ident(b, "id", path)
            if tid and not self.claim(
                tid, f"tier '{tid}'", b.key_lines["id"], _join(path, "id"), "tier"
            ):
                tid = None
            last = index == len(entries) - 1
            tmax = r.integer(b, "max", path, minimum=0)
            if last and "max" in b:
                r.error(
                    b.key_lines["max"],
                    _join(path, "max"),
                    "the last tier has no max: it holds every total above the tier before it",
                )
            elif not last and "max" not in b:
                r.error(b.line, path, "every tier but the last needs a max (inclusive)")
            elif tmax is not None and tmax <= previous:
                r.error(
                    b.key_lines["max"],
                    _join(path, "max"),
                    f"tiers must be in increasing order and must not overlap: {tmax} is not above "
                    f"{previous}, the max of the tier before",
                )
            if tmax is not None:
                previous = tmax
            if tid:
                label = (
                    r.text(b, "label", path, required=False) or tid.replace("_", " ").capitalize()
                )
                tiers.append(m.Tier(tid, label, None if last else tmax))
        return tiers

    def read_examples(self, top: YMap, factors, flags, tiers) -> list[m.Example]:
        r, result = self.r, []
        factor_ids = {f.id for f in factors}
        flag_ids = {f.id for f in flags}
        tier_ids = {t.id for t in tiers}
        for item, path, line in r.items(top, "examples", "", empty_ok=True):
            b = r.block(item, path, line, ("name", "answers", "expect"), what="an example")
            if b is None:
                continue
            a_path = _join(path, "answers")
            answers = (
                r.block(
                    b.get("answers"),
                    a_path,
                    b.key_lines.get("answers", line),
                    (),
                    tuple(self.questions),
                    what="answers",
                )
                if "answers" in b
                else None
            )
            e_path = _join(path, "expect")
            expect = (
                r.block(
                    b.get("expect"),
                    e_path,
                    b.key_lines.get("expect", line),
                    (),
                    ("total", "tier", "factors", "red_flags", "complete"),
                    what="expect",
                )
                if "expect" in b
                else None
            )
            if expect is not None:
                if "total" in expect:
                    r.integer(expect, "total", e_path, minimum=0)
                if "complete" in expect:
                    r.boolean(expect, "complete", e_path, None)
                tier = expect.get("tier")
                if "tier" in expect and (not isinstance(tier, str) or tier not in tier_ids):
                    r.error(
                        expect.key_lines["tier"],
                        _join(e_path, "tier"),
                        f"there is no tier {_describe(expect['tier'])}",
                    )
                for key, known, what in (
                    ("factors", factor_ids, "risk factor"),
                    ("red_flags", flag_ids, "red flag"),
                ):
                    for ref, ref_path, ref_line in r.items(expect, key, e_path, empty_ok=True):
                        if not isinstance(ref, str) or ref not in known:
                            r.error(ref_line, ref_path, f"there is no {what} {_describe(ref)}")
            name = r.text(b, "name", path)
            if name and answers is not None and expect is not None:
                result.append(m.Example(name, _plain(answers), _plain(expect), line))
        return result


_BAD = object()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- dependency checks (cycles) ---------------------------------------------------------------


def _question_dependencies(q: m.Questionnaire) -> dict[str, set[str]]:
    """For each question, the questions its visibility reads (its show_if and its step's)."""

    def expand(cond: m.Condition | None) -> set[str]:
        return set() if cond is None else set(questions_read(q, cond))

    deps = {}
    for step in q.steps:
        step_deps = expand(step.show_if)
        for question in step.questions:
            deps[question.id] = step_deps | expand(question.show_if)
    return deps


def visibility_order(q: m.Questionnaire, problems: list[Problem] | None = None) -> list[str]:
    """Question ids ordered so that each comes after every question its visibility reads.

    Cycles are reported into `problems` (and broken, so the order is still complete).
    """
    deps = _question_dependencies(q)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        trail.append(node)
        for dep in sorted(deps.get(node, ())):
            if state.get(dep) == 1:
                cycle = trail[trail.index(dep) :] + [dep]
                key = frozenset(cycle)
                if problems is not None and key not in reported:
                    reported.add(key)
                    first = q.questions[dep]
                    what = "itself" if len(cycle) == 2 else "itself through " + " → ".join(cycle)
                    problems.append(
                        Problem(
                            q.source_name,
                            first.line,
                            f"question '{dep}'",
                            f"whether it is shown depends on {what} (a cycle in show_if)",
                        )
                    )
            elif state.get(dep) is None:
                visit(dep, trail)
        trail.pop()
        state[node] = 2
        order.append(node)

    for question_id in q.questions:
        if question_id not in state:
            visit(question_id, [])
    return order


# --- entry points -----------------------------------------------------------------------------


def load_text(text: str, source_name: str = "<string>", analyse: bool = True) -> m.Questionnaire:
    """Parse and validate a definition; raise DefinitionError listing every problem."""
    return _load_cached(text, source_name, analyse)


@lru_cache(maxsize=32)
def _load_cached(text: str, source_name: str, analyse: bool) -> m.Questionnaire:
    data, problems = parse_yaml(text, source_name)
    if data is None and problems:
        raise DefinitionError(problems)
    reader = _Reader(source_name)
    reader.problems.extend(problems)
    questionnaire = _Builder(data, source_name, reader).build()
    if questionnaire is None or reader.problems:
        raise DefinitionError(reader.problems or [Problem(source_name, 0, "", "cannot be loaded")])
    cycle_problems: list[Problem] = []
    visibility_order(questionnaire, cycle_problems)
    if cycle_problems:
        raise DefinitionError(cycle_problems)
    content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    score_range = None
    if analyse:
        from .lint import analyse as run_analysis

        analysis_problems, score_range = run_analysis(questionnaire)
        if analysis_problems:
            raise DefinitionError(analysis_problems)
    return _replace(questionnaire, content_hash=content_hash, score_range=score_range)


def _replace(q: m.Questionnaire, **changes: Any) -> m.Questionnaire:
    from dataclasses import replace

    return replace(q, **changes)


def load_path(path: str | Path) -> m.Questionnaire:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError([Problem(str(path), 0, "", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            [Problem(str(path), 0, "", f"not UTF-8 text ({exc.reason})")]
        ) from None
    except OSError as exc:
        raise DefinitionError(
            [Problem(str(path), 0, "", f"cannot be read ({exc.strerror})")]
        ) from None
    return load_text(text, str(path))
