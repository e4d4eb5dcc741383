"""The application's own catalogs: every marked text translated, and the compiled files current.

The texts are found the way `make translations` finds them (babel's extraction with
screening/translations/babel.cfg), so a text marked for translation but missing from a catalog,
or left untranslated, fails here rather than showing up in English on a Spanish page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from screening import i18n

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = i18n.TRANSLATIONS_DIR
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.CLINIC_LANGUAGE]


def marked_texts() -> set[str]:
    with (CATALOGS / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "N_": None, "pgettext": ((1, "c"), 2)}
    found = set()
    for folder in ("screening", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, options_map, keywords=keywords
        ):
            found.add(message)
    return found


def catalog(language: str):
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f)


def test_spanish_is_shipped():
    assert TRANSLATED == ["es"]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_text_is_in_the_catalog_and_nothing_stale(language):
    marked = marked_texts()
    assert len(marked) > 100  # the extraction found the patient's pages
    ids = {m.id for m in catalog(language) if m.id}
    assert sorted(marked - ids) == [], "marked but not in the catalog: run `make translations`"
    assert sorted(ids - marked) == [], "in the catalog but no longer used"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_entry_is_translated_with_the_same_placeholders(language):
    for message in catalog(language):
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(
            PLACEHOLDER.findall(message.id)
        ), message.id


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalog_is_the_current_one(language):
    with (CATALOGS / language / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = {(m.context, m.id): m.string for m in read_mo(f) if m.id}
    source = {(m.context, m.id): m.string for m in catalog(language) if m.id}
    assert compiled == source, "run `make translations` to compile the catalog"


def test_texts_are_translated_at_run_time():
    assert i18n.gettext("es", "Continue") == "Continuar"
    assert i18n.gettext("es", "Step %(number)s of %(count)s", number=3, count=8) == "Paso 3 de 8"
    assert i18n.gettext("en", "Continue") == "Continue"
    assert i18n.gettext("fr", "Continue") == "Continue"  # no catalog: the source text


def test_dates_in_each_language():
    import datetime as dt

    day = dt.date(2026, 3, 5)
    assert i18n.format_date(day) == "5 March 2026"
    assert i18n.format_date(day, "es") == "5 de marzo de 2026"


def test_engine_messages_say_the_same_in_spanish():
    from screening.definition import load_text
    from screening.scoring import AnswerError, normalize

    q = load_text(
        "id: t\nversion: 1.0.0\ntitle: T\nsteps:\n  - id: s\n    title: S\n    questions:\n"
        "      - {id: h, type: height, label: Height, min: 100, max: 250}\n"
        "tiers:\n  - {id: low}\n"
    )
    with pytest.raises(AnswerError) as caught:
        normalize(q.questions["h"], "20")
    exc = caught.value
    assert str(exc) == "Please enter a height between 100 cm and 250 cm."
    assert i18n.message(exc.template, exc.params, "es") == (
        "Por favor, escriba una estatura entre 100 cm y 250 cm."
    )
