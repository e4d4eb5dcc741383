"""The structure of a definition, checked against `questionnaire.schema.json` (JSON Schema 2020-12).

The schema file is the one description of the language's shape: editors read it (through the YAML
language server) for completion and inline errors, and the loader checks it here before the rules
a schema cannot express (`build.py`). jsonschema's errors are told the project's way, as
`Problem(file, line, path, message)`, with the wording of MESSAGES.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from .model import LEAF_OPS
from .yaml_source import Problem, YMap, block_line, describe, line_of, path_text, value_at

SCHEMA_PATH = Path(__file__).with_name("questionnaire.schema.json")
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
LANGUAGE_RE = re.compile(SCHEMA["$defs"]["language"]["pattern"])
ID_RE = re.compile(SCHEMA["$defs"]["id"]["pattern"])

# What each kind of schema error says. A key is the jsonschema validator that failed ("type" with
# the type it wanted), or the name of a part of the schema ($defs) whose errors need their own
# words: "name validator" for one of its errors, "name" for all of them. The most specific wins.
MESSAGES = {
    "required": "the required key '{key}' is missing",
    "additionalProperties": "unknown key '{key}' (allowed here: {allowed})",
    "type object": "{a_noun} must be a block of keys, but it is {value}",
    "type array": "must be a list, not {value}",
    "type string": "must be text, not {value}",
    "type integer": "must be a whole number, not {value}",
    "type number": "must be a number, not {value}",
    "type boolean": "must be true or false, not {value}",
    "enum": "unknown {noun} {value} (use one of: {allowed})",
    "minimum": "must be at least {limit}",
    "minItems": "must not be empty",
    "text pattern": "must not be empty",
    "untranslated": "is read by the clinic only: write it as plain text in the clinic's language "
    "({clinic_language}), not once per language",
    "translations additionalProperties": "'{key}' is not one of the questionnaire's languages "
    "({languages}; see 'languages' at the top) (a comma inside {{...}} ends a text there: put "
    "the text in quotes)",
    "questionnaire_id": "{value} is not a valid id (use lower-case letters, digits and _, "
    "starting with a letter)",
    "id": "{value} is not a valid id (use lower-case letters, digits and _, "
    "starting with a letter)",
    "version": "{value} is not a semantic version like 1.0.0 (write it in quotes)",
    "language": "{value} is not a language code like en, es or pt-BR",
    "languages uniqueItems": "the language {value} is listed twice",
    "baseline_values uniqueItems": "the value {value} is listed twice",
    "needs_options": "a {type} question needs options",
    "absent": "a {type} question has no {key}",
    "date_bound": "must be a date like 2020-01-31 or 'today', not {value}",
    "text_length": "must be a whole number of characters",
    "option_value": "an option value must be a word or a whole number, not {value}",
    "computed oneOf": "give exactly one of 'sum' or 'bmi'",
    "outcome_value oneOf": "give exactly one of 'change' or 'percent_change'",
    "offset minProperties": "give one of days, weeks or months, e.g. {{weeks: 6}}",
    "offset maxProperties": "give one of days, weeks or months, e.g. {{weeks: 6}}",
    "followup_file": "{value} is not the name of a YAML file beside this one, like "
    "fbss-followup.yaml",
    "citation anyOf": "a citation needs a doi, a pmid or a url",
    "doi": "{value} is not a DOI like 10.1001/jama.2010.338",
    "pmid": "{value} is not a PubMed id (digits only)",
    "url": "{value} is not an http(s) address",
    "question_ref": "there is no question {value}",
    "value_ref": "there is no computed value or instrument {value}",
    "tier_ref": "there is no tier {value}",
    "factor_ref": "there is no risk factor {value}",
    "flag_ref": "there is no red flag {value}",
    "condition type": "a condition must be a block of keys, not {value}",
    "condition additionalProperties": "unknown key '{key}' in a condition (use question or "
    "value, one of {ops}, or all / any / not)",
    "one_subject": "a condition names exactly one 'question:' or 'value:'",
    "one_test": "a condition has exactly one test ({ops})",
    "alone": "'{combinator}' must stand alone in its block",
    "list_operand": "{key} takes a list of values",
    "answered_operand": "answered takes true or false",
}

# Errors about which keys a block has are told at the line the block starts on; all others at
# the line of the value itself (its key or its list item).
_ABOUT_THE_BLOCK = {"required", "anyOf", "oneOf", "minProperties", "maxProperties"}
# At one condition, some problems hide others that would say the same less clearly: an unknown
# key is most likely the misspelled operator, and without its subject a leaf's test is unclear.
_HIDES = {
    "condition additionalProperties": {"one_subject", "one_test", "alone"},
    "one_subject oneOf": {"one_test"},
}


def _strict_integer(checker: Any, value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # 2.0 is a number, not whole


_ANNOTATIONS = {"title", "description", "default"}  # for editors: they check nothing


def _refs_resolved(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` in which each `{"$ref": "#/$defs/name"}` is that entry's dict itself.

    jsonschema looks a $ref up anew every time it is used, which took half the time of checking
    the shipped questionnaire; resolving them once checks the same. Only a $ref whose other keys
    are annotations for editors is replaced, so nothing that is checked is lost.
    """
    schema = copy.deepcopy(schema)
    entries = schema["$defs"]

    def resolved(node: Any) -> Any:
        if isinstance(node, dict) and set(node) - _ANNOTATIONS == {"$ref"}:
            return entries[node["$ref"].removeprefix("#/$defs/")]
        if isinstance(node, dict):
            for key, value in node.items():
                node[key] = resolved(value)
        elif isinstance(node, list):
            node[:] = [resolved(value) for value in node]
        return node

    return resolved(schema)


_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)
_RESOLVED = _refs_resolved(SCHEMA)
_VALIDATOR = _Validator(_RESOLVED)
# jsonschema hands back the very dict of a $defs entry an error came from: its name, by identity.
_NAMES = {id(part): name for name, part in _RESOLVED["$defs"].items()}


def declared_languages(data: Any) -> tuple[str, ...]:
    """The valid codes of `languages`, each once, the clinic's first; ("en",) without any."""
    found: list[str] = []
    listed = data.get("languages") if isinstance(data, dict) else None
    for value in listed if isinstance(listed, list) else ():
        if isinstance(value, str) and LANGUAGE_RE.match(value) and value not in found:
            found.append(value)
    return tuple(found) or ("en",)


@dataclass(frozen=True)
class _Finding:
    parts: tuple[str | int, ...]
    problem: Problem
    part_name: str | None
    validator: str


def check(data: Any, file: str) -> list[Problem]:
    """Every way `data` breaks the schema, each once, as problems of `file`."""
    languages = declared_languages(data)
    findings = [
        finding
        for error in _VALIDATOR.iter_errors(data)
        for finding in _explain(error, data, file, languages)
    ]
    hidden = set()  # (the condition's path, a part of the schema whose errors there are hidden)
    for f in findings:
        condition = f.parts[:-1] if f.validator == "additionalProperties" else f.parts
        for part in _HIDES.get(f"{f.part_name} {f.validator}", ()):
            hidden.add((condition, part))
    kept = [f.problem for f in findings if (f.parts, f.part_name) not in hidden]
    return list(dict.fromkeys(kept))


def _explain(
    error: ValidationError, data: Any, file: str, languages: tuple[str, ...]
) -> Iterator[_Finding]:
    name = _NAMES.get(id(error.schema))
    template = _template(error, name)
    if template and error.validator in _ABOUT_THE_BLOCK and not isinstance(error.instance, dict):
        return  # which keys a value has that is no block at all: its type error says it
    if template is None and error.context:
        # An anyOf / oneOf without words of its own: tell the error of the likeliest alternative.
        yield from _explain(best_match(error.context), data, file, languages)
        return
    parts = tuple(error.absolute_path)
    for at, line, key, value in _places(error, data, parts):
        context = _context(error, data, parts, key, value, languages)
        message = template.format(**context) if template else error.message
        problem = Problem(file, line, path_text(at), message)
        yield _Finding(at, problem, name, str(error.validator))


def _template(error: ValidationError, name: str | None) -> str | None:
    keys = [f"{name} {error.validator}", name] if name else []
    if error.validator == "type":
        wanted = error.validator_value
        keys.append(f"type {wanted[0] if isinstance(wanted, list) else wanted}")
    keys.append(str(error.validator))
    return next((MESSAGES[key] for key in keys if key in MESSAGES), None)


def _places(
    error: ValidationError, data: Any, parts: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], int, str, Any]]:
    """(path, line, key, value) of each place the error is about: one per unknown key, missing
    key or repeated item, else the value itself."""
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, YMap):
        allowed = error.schema.get("properties", {})
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        for key in instance:
            if key not in allowed and not any(p.search(key) for p in patterns):
                yield (*parts, key), instance.key_lines[key], key, instance[key]
    elif error.validator == "required" and isinstance(instance, dict):
        for key in error.validator_value:
            if key not in instance:
                yield parts, block_line(data, parts), key, instance
    elif error.validator == "uniqueItems" and isinstance(instance, list):
        for index, item in enumerate(instance):
            if item in instance[:index]:
                yield (*parts, index), line_of(data, (*parts, index)), "", item
    else:
        key = str(parts[-1]) if parts else ""
        if error.validator in _ABOUT_THE_BLOCK:
            yield parts, block_line(data, parts), key, instance
        else:
            yield parts, line_of(data, parts), key, instance


def _context(
    error: ValidationError,
    data: Any,
    parts: tuple[str | int, ...],
    key: str,
    value: Any,
    languages: tuple[str, ...],
) -> dict[str, Any]:
    """Everything a template of MESSAGES may name."""
    about_block = error.validator in _ABOUT_THE_BLOCK or not parts
    block = error.instance if about_block else value_at(data, parts[:-1])
    block = block if isinstance(block, dict) else {}
    wanted = error.validator_value
    if error.validator == "additionalProperties":
        allowed = ", ".join(error.schema.get("properties", {}))
    else:
        allowed = ", ".join(map(str, wanted)) if error.validator == "enum" else ""
    title = error.schema.get("title", "") if isinstance(error.schema, dict) else ""
    if not parts:
        a_noun = "the questionnaire"
    elif title:
        a_noun = ("an " if title[0].lower() in "aeiou" else "a ") + title.lower()
    else:
        a_noun = next((str(p) for p in reversed(parts) if isinstance(p, str)), "this")
    return {
        "key": key,
        "value": describe(value),
        "allowed": allowed,
        "limit": wanted,
        "noun": title.lower() or "value",
        "a_noun": a_noun,
        "type": block.get("type"),
        "combinator": next((k for k in ("all", "any", "not") if k in block), ""),
        "ops": ", ".join(LEAF_OPS),
        "languages": ", ".join(languages),
        "clinic_language": languages[0],
    }
