"""Assessment -> HTML (templates/report/) -> PDF with WeasyPrint. No Flask and no database here."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import mimetypes
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .. import codec
from ..definition import model as m
from ..definition.conditions import MISSING
from ..i18n import CLINIC_LANGUAGE, format_date, language_name, translations
from ..paths import STATIC_DIR, TEMPLATES_DIR
from ..scoring import Assessment
from ..templating import paragraphs
from ..text import shown
from .fetcher import PackageAssetFetcher

PAPER_SIZES = {"letter": "letter", "a4": "A4"}


@dataclass(frozen=True)
class PatientInfo:
    """What the clinic knows about the patient and the screening (all optional but the name)."""

    name: str = ""
    dob: dt.date | None = None
    mrn: str | None = None
    surgeon: str | None = None
    planned_surgery: str | None = None
    surgery_date: dt.date | None = None
    reference: str = "offline"
    screening_date: dt.datetime | None = None
    answered_at: dict[str, dt.datetime] = field(default_factory=dict)
    language: str = CLINIC_LANGUAGE  # the one the patient answered in


@dataclass(frozen=True)
class ReportSettings:
    clinic_name: str = "Spine Clinic"
    paper: str = "letter"
    logo: Path | None = None


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
    env.filters["datetime"] = lambda d: f"{format_date(d, language)}, {d:%H:%M} UTC" if d else ""
    return env


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


# --- the summary's content --------------------------------------------------------------------


def _answer_text(q: m.Questionnaire, question_id: str, value: Any) -> str:
    return codec.display(q.questions[question_id], value)


def _factor_rows(a: Assessment) -> list[dict[str, Any]]:
    q = a.questionnaire
    entered = {e.question_id for e in a.clinic if e.used}  # read from the clinic, not the patient
    groups = []
    for category in m.CATEGORIES:
        results = [r for r in a.factors if r.factor.category == category]
        if not results:
            continue
        results.sort(key=lambda r: (not r.factor.modifiable, -r.factor.points))
        groups.append(
            {
                "category": m.CATEGORY_LABELS[category],
                "points": a.category_points[category],
                "factors": [
                    {
                        "factor": r.factor,
                        "answers": [
                            {
                                "label": q.questions[i].label,
                                "answer": _answer_text(q, i, v)
                                + (" (the clinic's entry)" if i in entered else ""),
                            }
                            for i, v in r.answers
                        ],
                    }
                    for r in results
                ],
            }
        )
    return groups


def _instrument_rows(a: Assessment) -> list[dict[str, Any]]:
    q = a.questionnaire
    rows = []
    for result in a.instruments.values():
        # Only the items the patient was shown: a hidden item is not asked (AUDIT-C's drinks
        # questions after "Never" count 0), and an instrument none of whose items was shown was
        # not given (STarT Back before neck surgery).
        shown = [item for item in result.instrument.items if item in a.visible]
        if not shown:
            continue
        items = []
        for item in shown:
            value = a.answers.get(item, MISSING)
            items.append(
                {
                    "label": q.questions[item].label,
                    "answer": _answer_text(q, item, value),
                    "value": "" if value is MISSING else value,
                }
            )
        rows.append(
            {
                "instrument": result.instrument,
                "score": result.score,
                "band": result.band,
                "items": items,
                "max": result.instrument.bands[-1].max,
            }
        )
    return rows


def _discussion(a: Assessment) -> list[dict[str, str]]:
    points = []
    for r in a.red_flags:
        points.append(
            {
                "kind": "Red flag",
                "text": f"{r.flag.title}: {m.URGENCY_LABELS[r.flag.urgency].lower()} "
                "(see the box on page 1)",
            }
        )
    for alert in a.domain_alerts:
        points.append({"kind": "Note", "text": alert.clinician_message})
    for r in a.unknowns:
        points.append({"kind": "To verify", "text": f"{r.factor.label} (answered 'Not sure')"})
    for r in sorted(a.factors, key=lambda r: (not r.factor.modifiable, -r.factor.points)):
        kind = "Before surgery" if r.factor.modifiable else "For planning"
        points.append({"kind": kind, "text": f"{r.factor.label}: {r.factor.action}"})
    return points


def _appendix(a: Assessment) -> list[dict[str, Any]]:
    q = a.questionnaire
    sections = []
    for step_id in a.visible_steps:
        step = q.step_by_id[step_id]
        rows = []
        for question in step.questions:
            if question.id not in a.visible:
                continue
            value = a.answers.get(question.id, MISSING)
            text = codec.display(question, value)
            if value is MISSING and not question.required:
                text = f"{codec.NOT_ANSWERED} (optional)"
            rows.append({"label": question.label, "answer": text, "missing": value is MISSING})
        sections.append({"title": step.title, "rows": rows})
    return sections


def _unknown_rows(a: Assessment) -> list[dict[str, Any]]:
    """Each factor that may apply, with the answers that did not tell ("Not sure")."""
    q = a.questionnaire
    return [
        {
            "factor": r.factor,
            "axis": q.axis_by_id[r.factor.axis].label if r.factor.axis else None,
            "answers": [
                {"label": q.questions[i].label, "answer": _answer_text(q, i, v)}
                for i, v in r.answers
                if i in a.unknown_answers(r)
            ],
        }
        for r in a.unknowns
    ]


def _clinic_rows(a: Assessment) -> list[dict[str, Any]]:
    """The clinic's entries that count: those scored, and those beside a different answer."""
    q = a.questionnaire
    return [
        {
            "label": q.questions[e.question_id].label,
            "clinic": _answer_text(q, e.question_id, e.clinic),
            "patient": None if e.patient is MISSING else _answer_text(q, e.question_id, e.patient),
            "used": e.used,
        }
        for e in a.clinic
        if e.used or e.differs
    ]


def _credits(q: m.Questionnaire) -> list[str]:
    """What the instruments' owners and the code systems ask to be printed with them."""
    return [i.attribution for i in q.instruments if i.attribution] + list(q.notices)


def _flag_times(a: Assessment, info: PatientInfo) -> dict[str, dt.datetime | None]:
    times = {}
    for r in a.red_flags:
        moments = [info.answered_at[i] for i, _ in r.answers if i in info.answered_at]
        times[r.flag.id] = max(moments) if moments else info.screening_date
    return times


def _scale(a: Assessment) -> dict[str, Any]:
    """Geometry of the tier scale (an SVG drawn by the template)."""
    q = a.questionnaire
    top = max(q.max_points, a.total, 1)
    width = 500.0
    segments, start = [], 0
    for tier in q.tiers:
        end = top if tier.max is None else min(tier.max + 1, top)
        if end > start:
            segments.append(
                {
                    "tier": tier,
                    "x": start / top * width,
                    "w": (end - start) / top * width,
                    "from": start,
                    "to": top if tier.max is None else tier.max,
                }
            )
        start = end
    marker = min(a.total, top) / top * width
    return {"width": width, "top": top, "segments": segments, "marker": marker}


def _categories_chart(a: Assessment) -> dict[str, Any]:
    top = max([*a.category_points.values(), 1])
    rows = [
        {
            "label": m.CATEGORY_LABELS[c],
            "points": a.category_points[c],
            "w": a.category_points[c] / top * 260,
        }
        for c in m.CATEGORIES
    ]
    return {"rows": rows, "top": top}


def summary_html(
    a: Assessment, info: PatientInfo, settings: ReportSettings, generated_at: dt.datetime
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
            flags=[
                {
                    "flag": r.flag,
                    "title": r.flag.title,
                    "urgency": m.URGENCY_LABELS[r.flag.urgency],
                    "at": _flag_times(a, info)[r.flag.id],
                }
                for r in a.red_flags
            ],
            groups=_factor_rows(a),
            instruments=_instrument_rows(a),
            discussion=_discussion(a),
            appendix=_appendix(a),
            scale=_scale(a),
            chart=_categories_chart(a),
            unknowns=_unknown_rows(a),
            clinic_rows=_clinic_rows(a),
            credits=_credits(q),
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


def html_to_pdf(html: str, settings: ReportSettings) -> RenderedPDF:
    fetcher = PackageAssetFetcher()
    with _render_lock:
        document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=fetcher)
        pdf = document.write_pdf(
            stylesheets=[_stylesheet(settings.paper)],
            font_config=_fonts(),
            pdf_variant="pdf/ua-1",
            attachments=[],
        )
    return RenderedPDF(pdf, hashlib.sha256(pdf).hexdigest(), tuple(fetcher.refused))


def render_summary(
    a: Assessment,
    info: PatientInfo,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
) -> RenderedPDF:
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    return html_to_pdf(summary_html(a, info, settings, generated_at), settings)


def render_patient_copy(
    a: Assessment,
    info: PatientInfo,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
) -> RenderedPDF:
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    return html_to_pdf(patient_copy_html(a, info, settings, generated_at), settings)
