"""Small helpers for the patient-flow tests: reading pages and looking at the database.

Pages are parsed with the standard library's HTMLParser into a tiny tree, enough to find an element
by id or name and read its text. The database is read through a fresh app context (a new session,
so only what was committed), and compared before and after a bad request.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa

from screening.definition import Questionnaire, load_path
from screening.extensions import db
from screening.models import Answer, Draft, Screening, StepDone, hash_token
from tests.helpers import location_path, new_screening, step_data

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


# --- pages ------------------------------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements with this tag (any if None) whose attributes equal `attrs` (class_: class)."""
        wanted = {k.rstrip("_"): v for k, v in attrs.items()}
        return [
            node for node in self.iter()
            if (tag is None or node.tag == tag)
            and all(node.attrs.get(k) == v for k, v in wanted.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Node | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, element_id: str) -> Node:
        node = self.find(id=element_id)
        assert node is not None, f"no element with id {element_id!r}"
        return node

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()

    @property
    def hidden(self) -> bool:
        return "hidden" in self.attrs

    @property
    def text(self) -> str:
        parts: list[str] = []

        def collect(node: Node) -> None:
            if node.tag in ("script", "style"):
                return
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    collect(child)

        collect(self)
        return " ".join(" ".join(parts).split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def page(response) -> Node:
    return parse(response.get_data(as_text=True))


def main(response) -> Node:
    node = page(response).find("main")
    assert node is not None, response.get_data(as_text=True)[:500]
    return node


def main_text(response) -> str:
    return main(response).text


def title(response) -> str:
    h1 = main(response).find("h1")
    return h1.text if h1 else ""


def csrf_token(response) -> str:
    node = page(response).find("input", name="csrf_token")
    assert node is not None and node.attrs.get("value"), "the page has no csrf_token input"
    return node.attrs["value"]


def checked_values(response, question_id: str) -> list[str]:
    return [n.attrs["value"] for n in page(response).find_all("input", name=f"q_{question_id}")
            if "checked" in n.attrs]


def input_value(response, name: str) -> str | None:
    node = page(response).find("input", name=name)
    assert node is not None, f"no input named {name!r}"
    return node.attrs.get("value")


def date_fields(name: str, *boxes: str) -> dict[str, str]:
    """The boxes of a date (day, month, year) or a month (month, year) as a browser posts them."""
    parts = ("day", "month", "year") if len(boxes) == 3 else ("month", "year")
    return {f"{name}_{part}": box for part, box in zip(parts, boxes, strict=True)}


def date_boxes(response, name: str) -> tuple[str | None, ...]:
    """What the date's boxes on the page hold (day, month, year; or month, year)."""
    doc = page(response)
    found = [doc.find("input", name=f"{name}_{part}") for part in ("day", "month", "year")]
    return tuple(node.attrs.get("value") for node in found if node is not None)


def error_summary_links(response) -> dict[str, str]:
    """href -> link text of the error summary."""
    summary = page(response).find(id="error-summary")
    assert summary is not None, "no error summary on the page"
    return {a.attrs["href"]: a.text for a in summary.find_all("a")}


def described_by(node: Node) -> list[str]:
    return (node.attrs.get("aria-describedby") or "").split()


def step_counter(response) -> tuple[int, int]:
    label = page(response).by_id("progress-label").text
    match = re.fullmatch(r"Step (\d+) of (\d+)", label)
    assert match, label
    return int(match.group(1)), int(match.group(2))


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def squash(text: str) -> str:
    return " ".join(text.split())


# --- the database -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def db_state(app) -> dict[str, list]:
    """Every row that a patient's request may change, in a comparable form."""
    with app.app_context():
        screenings = [
            tuple(_plain(getattr(s, c.key)) if c.key != "assessment"
                  else json.dumps(s.assessment, sort_keys=True) for c in Screening.__table__.c)
            for s in db.session.scalars(sa.select(Screening).order_by(Screening.id))
        ]
        answers = [
            (a.screening_id, a.question_id, json.dumps(a.value, sort_keys=True),
             a.saved_at.isoformat())
            for a in db.session.scalars(sa.select(Answer).order_by(Answer.id))
        ]
        steps = [
            (s.screening_id, s.step_id, s.completed_at.isoformat())
            for s in db.session.scalars(
                sa.select(StepDone).order_by(StepDone.screening_id, StepDone.step_id))
        ]
        drafts = [
            (d.screening_id, d.step_id, json.dumps(d.fields, sort_keys=True))
            for d in db.session.scalars(
                sa.select(Draft).order_by(Draft.screening_id, Draft.step_id))
        ]
        db.session.remove()
    return {"screenings": screenings, "answers": answers, "steps_done": steps, "drafts": drafts}


def screening_row(app, token: str) -> dict[str, Any]:
    with app.app_context():
        row = db.session.scalar(sa.select(Screening).where(
            Screening.token_hash == hash_token(token)))
        assert row is not None
        data = {c.key: getattr(row, c.key) for c in Screening.__table__.c}
        db.session.remove()
    return data


def saved(app, token: str) -> dict[str, Any]:
    """The stored answers of one screening: question id -> JSON value."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Answer.question_id, Answer.value)
            .join(Screening, Screening.id == Answer.screening_id)
            .where(Screening.token_hash == hash_token(token)))
        result = dict(rows.all())
        db.session.remove()
    return result


def steps_done(app, token: str) -> set[str]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(StepDone.step_id)
            .join(Screening, Screening.id == StepDone.screening_id)
            .where(Screening.token_hash == hash_token(token)))
        result = set(rows)
        db.session.remove()
    return result


def update_screening(app, token: str, **values: Any) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(Screening).where(Screening.token_hash == hash_token(token)).values(**values))
        db.session.commit()
        db.session.remove()


# --- driving the questionnaire ----------------------------------------------------------------


@functools.cache
def _load(path: str, mtime_ns: int) -> Questionnaire:
    return load_path(path)


def questionnaire(app) -> Questionnaire:
    """The app's questionnaire, parsed once per run (tests.helpers.questionnaire parses it twice
    per call, which dominates the run time of whole-questionnaire tests)."""
    path = str(app.config["SCREENING_QUESTIONNAIRE"])
    return _load(path, os.stat(path).st_mtime_ns)


def example(app, name_part: str) -> dict[str, Any]:
    q = questionnaire(app)
    return dict(next(e for e in q.examples if name_part in e.name.lower()).answers)


def step_id_of(path: str) -> str:
    return path.split("?")[0].rsplit("/", 1)[1]


def walk(client, app, token: str, answers: dict[str, Any], until: str | None = None,
         csrf: bool = False) -> str:
    """Start and post every step the app sends us to, stopping before step `until` (or at the
    review); return the path we stopped at. With `csrf`, each post carries the session's CSRF
    token, read from the welcome page as a browser would."""
    q = questionnaire(app)
    data = {"csrf_token": csrf_token(client.get(f"/s/{token}"))} if csrf else {}
    response = client.post(f"/s/{token}/start", data=data)
    assert response.status_code == 303, response.status_code
    path = location_path(response)
    for _ in range(len(q.steps) + 1):
        if "/step/" not in path or step_id_of(path) == until:
            return path
        posted = {**step_data(q.step_by_id[step_id_of(path)], answers), **data}
        response = client.post(path, data=posted)
        assert response.status_code == 303, (path, main_text(response)[:1500])
        path = location_path(response)
    raise AssertionError("the questionnaire did not end")


def post(client, app, token: str, step_id: str, answers: dict, **extra):
    """Post a step with `answers` (question id -> value) plus raw form fields `extra`."""
    data = step_data(questionnaire(app).step_by_id[step_id], answers)
    data.update(extra)
    return client.post(f"/s/{token}/step/{step_id}", data=data)


def at_step(client, app, step_id: str, answers: dict, **details) -> str:
    """A new screening (with `details`) whose patient has answered every step before `step_id`."""
    token = new_screening(app, **details)
    walk(client, app, token, answers, until=step_id)
    return token
