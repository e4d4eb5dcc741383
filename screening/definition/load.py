"""The entry points: definition text or file -> validated `Questionnaire`.

Loading runs in four stages, each reporting every problem it finds (never only the first):
the YAML is read with the line of every key (`yaml_source.py`), its structure is checked against
the JSON Schema (`schema.py`), the rules a schema cannot express are checked while the model is
built (`build.py`), and the exhaustive analysis finds what can never happen (`analysis.py`).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from . import model as m
from . import schema
from .analysis import analyse as run_analysis
from .build import build
from .yaml_source import DefinitionError, Problem, parse_yaml

__all__ = ["DefinitionError", "Problem", "content_hash", "load_path", "load_text"]


def content_hash(text: str) -> str:
    """What pins a screening to the exact text of its definition."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_text(text: str, source_name: str = "<string>", analyse: bool = True) -> m.Questionnaire:
    """Parse and validate a definition; raise DefinitionError listing every problem."""
    return _load_cached(text, source_name, analyse)


@lru_cache(maxsize=32)  # a file is loaded again and again by the command line and the tests
def _load_cached(text: str, source_name: str, analyse: bool) -> m.Questionnaire:
    data, problems = parse_yaml(text, source_name)
    if data is None and problems:
        raise DefinitionError(problems)
    problems += schema.check(data, source_name)
    questionnaire = build(data, source_name, problems)
    if questionnaire is None or problems:
        raise DefinitionError(problems or [Problem(source_name, 0, "", "cannot be loaded")])
    score_range = None
    if analyse:
        analysis_problems, score_range = run_analysis(questionnaire)
        if analysis_problems:
            raise DefinitionError(analysis_problems)
    return replace(questionnaire, content_hash=content_hash(text), score_range=score_range)


def load_path(path: str | Path) -> m.Questionnaire:
    return load_text(read_path(path), str(path))


def read_path(path: str | Path) -> str:
    """A definition file's text; DefinitionError (with the file's name) when it cannot be read."""
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
    return text
