"""Assessment -> HTML (templates/report/) -> PDF with WeasyPrint. No Flask and no database here."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from weasyprint import CSS, DEFAULT_OPTIONS, HTML
from weasyprint.text.fonts import FontConfiguration

from .. import clock
from ..i18n import CLINIC_LANGUAGE, format_date, language_name, translations
from ..paths import STATIC_DIR, TEMPLATES_DIR
from ..scoring import Assessment
from ..templating import paragraphs
from ..text import shown
from .fetcher import PackageAssetFetcher
from .info import FlagStatus, PatientInfo, ReportSettings, ReviewStatus
from .summary import FITS, PAGE_ONE_END, PARTS, Fit, summary_context

__all__ = ["FlagStatus", "PatientInfo", "ReportSettings", "ReviewStatus"]  # the renderers' inputs

PAPER_SIZES = {"letter": "letter", "a4": "A4"}


@lru_cache(maxsize=4)
def _environment(language: str = CLINIC_LANGUAGE) -> jinja2.Environment:
    """Templates in `language`: the clinician's summary is in the clinic's, the patient's copy in
    the patient's."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,  # every answer and name is text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        finalize=shown,  # no format character (a right-to-left override) reaches the PDF
    )
    env.install_gettext_translations(translations(language), newstyle=True)
    env.filters["paragraphs"] = paragraphs
    env.filters["date"] = lambda d: format_date(d, language) if d else ""
    env.filters["datetime"] = _datetime_filter(language)
    return env


def _datetime_filter(language: str):
    """A time in the clinic's time zone (the rendering's `settings.timezone`), with its
    abbreviation: "5 December 2026, 09:14 EST"."""

    @jinja2.pass_context
    def datetime(context: Any, moment: dt.datetime | None) -> str:
        if not moment:
            return ""
        local = clock.local(moment, context["settings"].timezone)
        return f"{format_date(local, language)}, {local:%H:%M} {local.tzname()}"

    return datetime


@lru_cache(maxsize=1)
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@lru_cache(maxsize=4)
def _stylesheet(paper: str) -> CSS:
    css = (STATIC_DIR / "report" / "report.css").read_text(encoding="utf-8")
    size = PAPER_SIZES.get(paper, "letter")
    return CSS(
        string=css + f"\n@page {{ size: {size}; }}\n",
        font_config=_fonts(),
        url_fetcher=PackageAssetFetcher(),  # the stylesheet, too, reads nothing from outside
    )


def _logo_uri(path: Path | None) -> str | None:
    """The configured logo as a data: URI (read here, so the renderer never opens a path)."""
    if path is None:
        return None
    data = Path(path).read_bytes()
    mime = mimetypes.guess_type(str(path))[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def summary_html(
    a: Assessment,
    info: PatientInfo,
    settings: ReportSettings,
    generated_at: dt.datetime,
    fit: Fit = FITS[0],
    overflowed: bool = False,
    parts: tuple[str, ...] = PARTS,
) -> str:
    q = a.questionnaire
    return (
        _environment()
        .get_template("report/summary.html")
        .render(
            a=a,
            q=q,
            info=info,
            settings=settings,
            generated_at=generated_at,
            logo=_logo_uri(settings.logo),
            language=CLINIC_LANGUAGE,
            answered_in=language_name(info.language, CLINIC_LANGUAGE),
            **summary_context(a, info, fit, overflowed, parts),
        )
    )


def patient_copy_html(
    a: Assessment, info: PatientInfo, settings: ReportSettings, generated_at: dt.datetime
) -> str:
    work_on = [r.factor for r in a.factors if r.factor.modifiable]
    return (
        _environment(info.language)
        .get_template("report/patient_copy.html")
        .render(
            a=a,
            q=a.questionnaire,
            info=info,
            settings=settings,
            generated_at=generated_at,
            logo=_logo_uri(settings.logo),
            language=info.language,
            work_on=work_on,
            flags=[r.flag for r in a.red_flags if r.flag.urgency != "review"],
        )
    )


@dataclass(frozen=True)
class RenderedPDF:
    content: bytes
    sha256: str
    refused_urls: tuple[str, ...]


# Pango, fontconfig and the shared FontConfiguration are not safe to use from two threads at
# once (seen here: "corrupted double-linked list" from GLib, and gunicorn threads dying mid-render),
# so one process renders one document at a time. Rendering is CPU-bound: little is lost.
_render_lock = threading.Lock()


def _laid_out(
    html: str, settings: ReportSettings
) -> tuple[Any, dict[str, Any], PackageAssetFetcher]:
    """The HTML laid out in pages (not yet written), with the options to write it."""
    fetcher = PackageAssetFetcher()
    options = DEFAULT_OPTIONS | {"stylesheets": [_stylesheet(settings.paper)],
                                 "pdf_variant": "pdf/ua-1", "attachments": []}  # fmt: skip
    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=fetcher)
    return document.render(font_config=_fonts(), **options), options, fetcher


def _written(laid_out: Any, options: dict[str, Any], fetcher: PackageAssetFetcher) -> RenderedPDF:
    pdf = laid_out.write_pdf(**{k: options[k] for k in DEFAULT_OPTIONS})
    return RenderedPDF(pdf, hashlib.sha256(pdf).hexdigest(), tuple(fetcher.refused))


def html_to_pdf(html: str, settings: ReportSettings) -> RenderedPDF:
    with _render_lock:
        return _written(*_laid_out(html, settings))


def render_summary(
    a: Assessment,
    info: PatientInfo,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
    parts: tuple[str, ...] = PARTS,
) -> RenderedPDF:
    """The clinician's summary, page 1 holding as much as fits on it: the first of FITS whose
    page 1 ends on page 1 (almost always the first: one layout). Should none fit, page 1 says
    at its top that it continues on page 2; it never runs over silently."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    with _render_lock:
        laid_out, options, fetcher = _laid_out(
            summary_html(a, info, settings, generated_at, FITS[0], parts=parts), settings
        )
        if PAGE_ONE_END in laid_out.pages[0].anchors:  # the usual case: one layout
            return _written(laid_out, options, fetcher)
        chosen, overflowed = _page_one_fit(a, info, settings, generated_at)
        html = summary_html(a, info, settings, generated_at, chosen, overflowed, parts)
        return _written(*_laid_out(html, settings))


def _page_one_fit(
    a: Assessment, info: PatientInfo, settings: ReportSettings, generated_at: dt.datetime
) -> tuple[Fit, bool]:
    """The first of FITS after the first whose page 1 ends on page 1, tried on page 1 alone
    (a short layout); the last, said to overflow, if none does."""
    for fit in FITS[1:]:
        html = summary_html(a, info, settings, generated_at, fit, parts=("page_one",))
        laid_out, _, _ = _laid_out(html, settings)
        if PAGE_ONE_END in laid_out.pages[0].anchors:
            return fit, False
    return FITS[-1], True


def render_patient_copy(
    a: Assessment,
    info: PatientInfo,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
) -> RenderedPDF:
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    return html_to_pdf(patient_copy_html(a, info, settings, generated_at), settings)
