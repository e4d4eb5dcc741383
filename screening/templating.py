"""Jinja filters and globals shared by the pages and the PDF."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from markupsafe import Markup, escape

from . import clock
from .definition.conditions import to_data
from .models import STATUS_LABELS
from .text import shown


def condition_json(condition: Any) -> Markup:
    """A condition as JSON safe inside a single-quoted HTML attribute."""
    text = json.dumps(to_data(condition), separators=(",", ":"))
    return Markup(escape(text))


def paragraphs(text: str | None) -> Markup:
    """Plain text with blank-line paragraphs as <p> elements, everything escaped."""
    if not text:
        return Markup("")
    parts = [p.strip() for p in str(text).split("\n\n") if p.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(p) for p in parts)


def email_breaks(address: str | None) -> Markup:
    """An e-mail address that a narrow column wraps only after its @ or before a dot (<wbr>),
    never elsewhere (not at a hyphen, not in the middle of a word: each part between them is
    kept whole); escaped."""
    if not address:
        return Markup("")
    parts = re.split(r"(?<=@)|(?=\.)", shown(str(address)))
    return Markup("<wbr>").join(Markup('<span class="nowrap">{}</span>').format(p) for p in parts)


def init_app(app: Flask) -> None:
    # Every {{ value }} of every page without format characters (screening.text.shown); set
    # before any template is compiled (the compiled code calls it).
    app.jinja_env.finalize = shown
    app.add_template_filter(condition_json)
    app.add_template_filter(paragraphs)

    def local_time(moment, form: str = "datetime") -> str:
        """A stored time in the clinic's zone with its abbreviation (screening.clock)."""
        return clock.shown(moment, app.config["SCREENING_TIMEZONE"], form)

    app.add_template_filter(local_time)
    app.add_template_global(STATUS_LABELS, "status_labels")
    app.add_template_filter(email_breaks)
