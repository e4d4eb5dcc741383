"""The questionnaires screenings are answered against: the file in force, the stored definitions
that screenings are pinned to (by the hash of their text), and the languages a patient may use."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from ..definition import Questionnaire, content_hash, load_text, read_path
from ..extensions import db
from ..i18n import LANGUAGES
from ..models import Definition, Screening

# Parsed definitions by content hash, whether read from the file in force or from a stored
# definition: a text never changes under its hash, and parsing one (with its analysis) takes a
# tenth of a second.
_by_hash: dict[str, Questionnaire] = {}


def _parsed(text: str, name: str) -> Questionnaire:
    pinned = content_hash(text)
    found = _by_hash.get(pinned)
    if found is None:
        found = _by_hash[pinned] = load_text(text, name)
    return found


def in_force_path() -> Path:
    return Path(current_app.config["SCREENING_QUESTIONNAIRE"])


def in_force() -> Questionnaire:
    """The questionnaire file in force, parsed (not stored: see `store_in_force`);
    DefinitionError when it cannot be used."""
    path = in_force_path()
    return _parsed(read_path(path), str(path))


def store_in_force() -> Definition:
    """The Definition row of the file in force, added if its text is new."""
    path = in_force_path()
    text = read_path(path)
    questionnaire = _parsed(text, str(path))
    row = db.session.get(Definition, questionnaire.content_hash)
    if row is None:
        row = Definition(
            content_hash=questionnaire.content_hash,
            questionnaire_id=questionnaire.id,
            version=questionnaire.version,
            text=text,
        )
        db.session.add(row)
        db.session.flush()
    return row


def of(source: Screening | Definition) -> Questionnaire:
    """The parsed questionnaire of a stored definition, or of the one a screening is pinned to."""
    pinned = source.content_hash if isinstance(source, Definition) else source.definition_hash
    q = _by_hash.get(pinned)
    if q is None:  # the text is read from the database only the first time
        definition = source if isinstance(source, Definition) else source.definition
        q = _parsed(definition.text, f"{definition.questionnaire_id}-{definition.version}.yaml")
    return q


def patient_languages(q: Questionnaire) -> tuple[str, ...]:
    """The languages a patient may answer `q` in: its own that the patient's pages speak too
    (the clinic's first)."""
    return tuple(lang for lang in q.languages if lang in LANGUAGES) or (q.language,)


def offered_languages() -> tuple[str, ...]:
    """The languages a new screening may be answered in (the questionnaire in force's)."""
    return patient_languages(in_force())


def patient_language(screening: Screening) -> str:
    """The language the patient reads: the screening's, if its questionnaire offers it, else the
    clinic's."""
    q = of(screening)
    return screening.language if screening.language in patient_languages(q) else q.language
