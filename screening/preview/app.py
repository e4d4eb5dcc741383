"""The preview's own small application: the patient's pages for a draft file, with no database
and no accounts, a score panel beside them, the draft's lint, its map and its diff.

Each request looks at the file again (`draft.Draft`): while it has problems every page shows them
instead of the questionnaire. The answers are kept in this process only (`store.Store`).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import (
    Flask,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from .. import codec, i18n, templating
from ..definition import DefinitionError, load_path
from ..definition import model as m
from ..definition.conditions import MISSING
from ..definition.examples import check_examples
from ..paths import STATIC_DIR, TEMPLATES_DIR
from ..patient import pages
from ..patient.forms import build_step_form
from ..scoring import Assessment, Progress, progress, score, type_answers
from . import diagram, diff
from .draft import Draft, State
from .store import Answers, Store

SESSION_KEY = "preview"


class PreviewRefused(RuntimeError):
    """The preview is a tool for authors: it never runs where patients are served."""


def refuse_in_production(environ: Any = os.environ) -> None:
    if str(environ.get("SCREENING_ENV", "")).strip().lower() == "production":
        raise PreviewRefused(
            "screening preview is an authoring tool and does not run with "
            "SCREENING_ENV=production: preview drafts on your own machine"
        )


def create_preview_app(
    path: str | Path,
    language: str | None = None,
    against: str | Path | None = None,
    config: dict[str, Any] | None = None,
) -> Flask:
    """The preview of the draft at `path`, in `language` (the questionnaire's first by default),
    compared with the version in force at `against` when given."""
    refuse_in_production()
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR), static_folder=str(STATIC_DIR))
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),  # a new one per run: nothing outlives the preview
        WTF_CSRF_TIME_LIMIT=None,
        SCREENING_CLINIC_NAME="Preview",
        SCREENING_CLINIC_CONTACT=i18n.DEFAULT_CONTACT,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.config.update(config or {})
    CSRFProtect(app)
    templating.init_app(app)
    i18n.init_app(app)
    app.extensions["preview"] = Preview(Draft(path), language, Path(against) if against else None)
    app.register_blueprint(_routes())

    from ..app import security_headers  # the same headers as the clinic's pages

    app.after_request(security_headers)

    @app.after_request
    def no_store(response):
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        return _message(400, "Please try again", "The page was open from an earlier run of the "
                        "preview. Reload it and try again.")  # fmt: skip

    for code, title in ((404, "Page not found"), (405, "Not allowed"), (413, "Too much text")):
        app.register_error_handler(
            code, lambda exc, c=code, t=title: _message(c, t, exc.description)
        )

    @app.context_processor
    def clinic() -> dict[str, Any]:
        return {
            "clinic_name": "Preview",
            "clinic_contact": i18n.clinic_contact(app.config, i18n.current_language()),
            "kiosk_idle_seconds": 0,
            "clinic_told": set(m.URGENCIES),
        }

    return app


def _message(code: int, title: str, message: str):
    return render_template("preview/message.html", title=title, message=message), code


class Preview:
    """What the preview's pages share: the draft, the language, the version in force."""

    def __init__(self, draft: Draft, language: str | None, against: Path | None):
        self.draft, self.language, self.against = draft, language, against
        self.store = Store()

    def in_force(self) -> tuple[m.Questionnaire | None, list[str]]:
        """The version in force (loaded again when its file changes), or its problems."""
        if self.against is None:
            return None, []
        try:
            return load_path(self.against), []
        except DefinitionError as exc:
            return None, [str(p) for p in exc.problems]


def _preview() -> Preview:
    from flask import current_app

    return current_app.extensions["preview"]


# --- one request's view of the draft and the answers ----------------------------------------


class Page:
    """The draft as this request sees it, with this browser's answers."""

    def __init__(self, state: State, answers: Answers, language: str | None):
        assert state.questionnaire is not None
        self.state = state
        self.base_q = state.questionnaire
        self.q = self.base_q.localized(language)
        self.entry = answers
        # Answers to questions the draft no longer has are left out (kept, should they return).
        self.answers = {k: v for k, v in answers.values.items() if k in self.base_q.questions}
        done = {s for s in answers.done if s in self.base_q.step_by_id}
        self.progress: Progress = progress(self.q, self.answers, done)

    def assessment(self, extra: dict[str, Any] | None = None) -> Assessment:
        """The answers (with `extra`, typed answers posted and not saved) scored under the
        clinic's questionnaire, with a loaded example's clinic entries."""
        answers = dict(self.answers)
        for question_id, value in (extra or {}).items():
            answers.pop(question_id, None)
            if value is not MISSING:
                answers[question_id] = codec.to_stored(value)
        clinic = {k: v for k, v in self.entry.clinic.items() if k in self.base_q.questions}
        return score(self.base_q, answers, clinic=clinic)

    def step_url(self, step_id: str, **kwargs: Any) -> str:
        return url_for("preview.step", step_id=step_id, **kwargs)

    def continue_url(self) -> str:
        first = self.progress.first_unfinished
        return url_for("preview.review") if first is None else self.step_url(first)

    def step_links(self, current: str | None) -> list[dict[str, Any]]:
        return pages.step_links(self.q, self.progress, self.step_url, current)


def _answers() -> Answers:
    key = session.get(SESSION_KEY)
    if not isinstance(key, str):
        key = session[SESSION_KEY] = Store.new_id()
    return _preview().store.get(key)


def example_check(q: m.Questionnaire, example: m.Example) -> list[str]:
    """What of an example's expectations does not hold, as `screening lint` says it."""
    return [p.message for p in check_examples(dataclasses.replace(q, examples=(example,)))]


def example_answers(q: m.Questionnaire, example: m.Example) -> dict[str, Any]:
    """An example's answers as the preview keeps them (stored JSON values; those that cannot
    be typed kept as written, so the page shows their error)."""
    typed, errors = type_answers(q, example.answers)
    stored = {k: codec.to_stored(v) for k, v in typed.items() if k in q.questions}
    stored.update({k: example.answers[k] for k in errors if k in q.questions})
    return stored


def panel_context(page: Page, assessment: Assessment) -> dict[str, Any]:
    """What the score panel shows for these answers."""
    q, state = page.base_q, page.state
    loaded = next((e for e in q.examples if e.name == page.entry.example), None)
    example = None
    if loaded is not None:
        example = {
            "example": loaded,
            "line": state.line("example", loaded.name),
            "problems": example_check(q, loaded),
            "changed": page.answers != example_answers(q, loaded),
        }
    return {
        "a": assessment,
        "pq": q,
        "line": state.line,
        "source": page.state.result.path,
        "loaded": example,
        "warnings": [str(w) for w in state.result.warnings],
    }


# --- the routes ----------------------------------------------------------------------------------


def _routes():
    from flask import Blueprint

    bp = Blueprint("preview", __name__)

    @bp.before_request
    def look_at_the_draft():
        preview = _preview()
        g.state = preview.draft.current()
        i18n.use_language(preview.language)
        if request.endpoint in ("preview.status", "preview.source", "static"):
            return None
        if not g.state.ok:
            return render_template("preview/problems.html", state=g.state)
        return None

    @bp.context_processor
    def band() -> dict[str, Any]:
        preview = _preview()
        state = g.get("state")
        return {
            "draft_path": str(preview.draft.path),
            "draft_hash": state.hash if state else "",
            "against": preview.against,
            "examples": state.questionnaire.examples if state and state.ok else (),
        }

    def page() -> Page:
        return Page(g.state, _answers(), _preview().language)

    @bp.route("/")
    def start():
        return redirect(page().continue_url(), code=303)

    @bp.route("/step/<step_id>", methods=["GET", "POST"])
    def step(step_id: str):
        p = page()
        step_def = _open_step(p, step_id)
        if isinstance(step_def, str):
            return redirect(step_def, code=303)
        if request.method == "GET":
            return _render_step(p, step_def)
        form = build_step_form(step_def)()
        posted, visible, has_errors = pages.check_step(p.q, p.answers, step_def, form)
        if has_errors:
            return _render_step(p, step_def, form, visible, posted), 422
        for question in step_def.questions:  # as the patient's save does (domain.answering)
            if question.id not in visible:
                continue
            value = posted.get(question.id, MISSING)
            if value is MISSING:
                p.entry.values.pop(question.id, None)
            else:
                p.entry.values[question.id] = codec.to_stored(value)
        p.entry.done.add(step_def.id)
        after = page()
        if pages.returns_to_review(request.args) or step_def.id == after.progress.steps[-1]:
            return redirect(after.continue_url(), code=303)
        following = after.progress.neighbour(step_def.id, 1)
        if following is None or not after.progress.reachable(following):
            return redirect(after.continue_url(), code=303)
        return redirect(after.step_url(following), code=303)

    @bp.route("/step/<step_id>/panel", methods=["POST"])
    def step_panel(step_id: str):
        """The score panel for the answers on the page as they are being typed (not saved)."""
        p = page()
        step_def = p.q.step_by_id.get(step_id)
        if step_def is None:
            abort(404)
        posted, _ = build_step_form(step_def)().typed_answers()
        visible = pages.visibility(p.q, p.answers, step_def, posted)
        shown = {k: (v if k in visible else MISSING) for k, v in posted.items()}
        return render_template("preview/_panel_body.html", **panel_context(p, p.assessment(shown)))

    @bp.route("/review")
    def review():
        p = page()
        if not p.progress.complete:
            return redirect(p.continue_url(), code=303)
        sections = pages.review_sections(
            p.q, p.progress, lambda step_id: p.step_url(step_id, **{pages.RETURN_TO: "review"})
        )
        return render_template(
            "preview/review.html",
            ctx=SimpleNamespace(other_languages=[]),
            q=p.q,
            sections=sections,
            banner_flags=sorted(
                (r.flag for r in p.progress.assessment.red_flags),
                key=lambda f: m.URGENCIES.index(f.urgency),
            ),
            steps=p.step_links(None),
            return_code=None,
            **panel_context(p, p.assessment()),
        )

    @bp.route("/examples/<int:index>", methods=["POST"])
    def load_example(index: int):
        p = page()
        if not 0 <= index < len(p.base_q.examples):
            abort(404)
        example = p.base_q.examples[index]
        entry = _preview().store.reset(session[SESSION_KEY])
        entry.values = example_answers(p.base_q, example)
        entry.clinic = dict(example.clinic)
        entry.done = {s.id for s in p.base_q.steps}
        entry.example = example.name
        return redirect(page().continue_url(), code=303)

    @bp.route("/reset", methods=["POST"])
    def reset():
        if isinstance(session.get(SESSION_KEY), str):
            _preview().store.reset(session[SESSION_KEY])
        return redirect(url_for("preview.start"), code=303)

    @bp.route("/map")
    def questionnaire_map():
        return _map_page("preview/map.html")

    @bp.route("/map.pdf")
    def map_pdf():
        from .printing import map_pdf as render_pdf

        html = _map_page("preview/map_print.html")
        if isinstance(html, tuple):
            return html
        from flask import Response

        response = Response(render_pdf(html), mimetype="application/pdf")
        response.headers["Content-Disposition"] = 'attachment; filename="questionnaire-map.pdf"'
        return response

    @bp.route("/diff")
    def compare_versions():
        preview = _preview()
        if preview.against is None:
            abort(404)
        old, problems = preview.in_force()
        context: dict[str, Any] = {"old": old, "old_problems": problems}
        if old is not None:
            new = g.state.questionnaire
            p = page()
            context.update(
                new=new,
                questions=diff.question_changes(old, new),
                factors=diff.factor_changes(old, new),
                flags=diff.flag_changes(old, new),
                examples=diff.example_comparisons(old, new),
                yours=diff.rescored(old, new, "your answers", "preview", p.answers,
                                    p.entry.clinic) if p.answers else None,
            )  # fmt: skip
        return render_template("preview/diff.html", **context)

    @bp.route("/source")
    def source():
        try:
            text = _preview().draft.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        return render_template("preview/source.html", lines=text.splitlines())

    @bp.route("/status.json")
    def status():
        return jsonify(hash=g.state.hash, ok=g.state.ok)

    return bp


def _open_step(p: Page, step_id: str) -> m.Step | str:
    """The step, or where to go instead (a step not on these answers' path, or not reached)."""
    if step_id not in p.q.step_by_id:
        abort(404)
    if step_id not in p.progress.steps or not p.progress.reachable(step_id):
        return p.continue_url()
    return p.q.step_by_id[step_id]


def _render_step(
    p: Page,
    step_def: m.Step,
    form: Any = None,
    visible: set[str] | None = None,
    posted: dict[str, Any] | None = None,
):
    previous = p.progress.neighbour(step_def.id, -1)
    shown = None
    if posted is not None and visible is not None:
        shown = {k: (v if k in visible else MISSING) for k, v in posted.items()}
    return render_template(
        "preview/step.html",
        **pages.step_page(p.q, p.progress, step_def, p.answers, form, visible),
        ctx=SimpleNamespace(other_languages=[]),
        notice=None,
        return_code=None,
        back_url=p.step_url(previous) if previous else url_for("preview.start"),
        return_to=pages.returns_to_review(request.args),
        steps=p.step_links(step_def.id),
        **panel_context(p, p.assessment(shown)),
    )


def _map_page(template: str):
    preview = _preview()
    q = g.state.questionnaire
    marks: dict[str, str] = {}
    removed: list[diff.Change] = []
    old, _ = preview.in_force()
    if old is not None:
        changes = diff.question_changes(old, q)
        marks = diff.question_marks(changes)
        removed = [c for c in changes if c.kind == "removed"]
    try:
        if template == "preview/map_print.html":  # paper: a drawing per step, readable
            drawing = [(s, diagram.svg(q, marks, s.id)) for s in q.steps]
        else:
            drawing = diagram.svg(q, marks)
        problem = None
    except diagram.DiagramError as exc:
        drawing, problem = None, str(exc)
    return render_template(
        template,
        q=q,
        svg=drawing,
        problem=problem,
        rows=diagram.map_rows(q),
        marks=marks,
        removed=removed,
        condition_text=diagram.condition_text,
        state=g.state,
    )
