"""The application's own texts in the patient's language (Flask-Babel, catalogs in translations/).

The questionnaire's texts are translated in its YAML (see questionnaires/FORMAT.md); this module
covers the rest: the patient's pages, messages and e-mails. The staff pages and the clinician's PDF
stay in the clinic's language, English.

The helpers at the top need no Flask, so the PDF renderer can use them; `init_app` wires
Flask-Babel into the application. The engine needs none of this: its messages carry a template and
values, which `message` says in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.support import NullTranslations, Translations

from .definition.terms import YearMonth
from .paths import PACKAGE_DIR
from .scoring.answers import plain

TRANSLATIONS_DIR = PACKAGE_DIR / "translations"
CLINIC_LANGUAGE = "en"
# The languages the application's own texts exist in (a catalog each, English being the source).
LANGUAGES: tuple[str, ...] = (CLINIC_LANGUAGE,) + tuple(
    sorted(p.name for p in TRANSLATIONS_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
)


def N_(text: str) -> str:  # noqa: N802 - the name gettext's tools look for
    """Marks a text for the catalog where it is written; it is translated where it is shown."""
    return text


DEFAULT_CONTACT = N_("If you have questions, please call the clinic's front desk.")


def clinic_contact(config: Any, language: str) -> str:
    """The clinic's contact line for a reader of `language`: its own setting for that language
    (SCREENING_CLINIC_CONTACT_ES), else the shipped default's translation, else the line as set."""
    own = config.get(f"SCREENING_CLINIC_CONTACT_{language.upper()}")
    if own:
        return own
    contact = config["SCREENING_CLINIC_CONTACT"]
    return gettext(language, contact) if contact == DEFAULT_CONTACT else contact


@lru_cache(maxsize=8)
def translations(language: str) -> NullTranslations:
    """The catalog of `language` (the source texts themselves for English or an unknown one)."""
    if language == CLINIC_LANGUAGE or language not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language])


def gettext(language: str, text: str, **params: Any) -> str:
    translated = translations(language).gettext(text)
    return translated % params if params else translated


@lru_cache(maxsize=64)
def language_name(language: str, in_language: str | None = None) -> str:
    """A language's name: in itself ("English", "Español"), or in `in_language` ("Spanish")."""
    return Locale.parse(language).get_display_name(in_language or language).capitalize()


def format_date(value: dt.date, language: str = CLINIC_LANGUAGE) -> str:
    """A date as people write it: "1 December 2026", "1 de diciembre de 2026"; a month (a
    `month_year` answer) "December 2026", "diciembre de 2026"."""
    if language == CLINIC_LANGUAGE:
        return plain(value)
    if isinstance(value, YearMonth):
        return format_skeleton("yMMMM", value, locale=language)
    return babel_format_date(value, format="long", locale=language)


def format_value(value: Any, language: str = CLINIC_LANGUAGE) -> str:
    """A number without a needless ".0", or a date, for a sentence in `language`."""
    if isinstance(value, dt.date):
        return format_date(value, language)
    return plain(value)


def message(template: str, params: dict[str, Any], language: str) -> str:
    """A patient message (an AnswerError's template and values) in `language`."""
    return gettext(language, template, **{k: format_value(v, language) for k, v in params.items()})


# --- Flask ------------------------------------------------------------------------------------


def current_language() -> str:
    """The language of the page being made (the clinic's outside a request)."""
    from flask_babel import get_locale

    locale = get_locale()
    return str(locale) if locale is not None else CLINIC_LANGUAGE


def use_language(language: str | None) -> None:
    """Make the rest of this request speak `language` (e.g. the patient's, once the link is
    known)."""
    from flask import g
    from flask_babel import refresh

    g.language = language if language in LANGUAGES else CLINIC_LANGUAGE
    refresh()  # Flask-Babel keeps the locale it found first for the request


def _select_locale() -> str:
    from flask import g, has_request_context, request

    if not has_request_context():
        return CLINIC_LANGUAGE
    chosen = g.get("language")
    if chosen:
        return chosen
    if request.blueprint == "patient":
        # No screening known (a broken link, the kiosk's neutral page): the browser's language.
        return request.accept_languages.best_match(LANGUAGES) or CLINIC_LANGUAGE
    return CLINIC_LANGUAGE


def init_app(app: Any) -> None:
    from flask_babel import Babel

    app.config.setdefault("BABEL_DEFAULT_LOCALE", CLINIC_LANGUAGE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    # Flask-Babel also gives the templates `_()` (newstyle gettext) in the request's language.
    Babel(app, locale_selector=_select_locale)

    @app.context_processor
    def language() -> dict[str, Any]:
        return {"page_language": current_language(), "language_name": language_name}
