"""The map of a questionnaire: every step and question, the conditions that show them, and the
computed values, instruments, risk factors and red flags that read them.

Drawn by Graphviz's `dot` (the Debian package `graphviz`, through the `graphviz` Python
package) as SVG; `map_rows` gives the same facts as a list, for reading and for the PDF. Pure: no
Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import graphviz

from ..definition import model as m
from ..definition.conditions import references

OPERATORS = {
    "equals": "=",
    "not_equals": "≠",
    "in": "in",
    "not_in": "not in",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "contains": "contains",
}


class DiagramError(RuntimeError):
    """Graphviz is missing or failed: the map cannot be drawn (the list still can)."""


def _operand(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_operand(v) for v in value) + "]"
    return str(value)


def condition_text(condition: m.Condition | None) -> str:
    """A condition in a line: `surgery_type = fusion and (levels > 2 or not prior answered)`."""
    if condition is None:
        return ""
    if isinstance(condition, m.Leaf):
        if condition.op == "answered":
            return f"{condition.ref} {'answered' if condition.operand else 'not answered'}"
        return f"{condition.ref} {OPERATORS[condition.op]} {_operand(condition.operand)}"
    if isinstance(condition, m.Not):
        return f"not ({condition_text(condition.item)})"
    word = " and " if isinstance(condition, m.All) else " or "
    parts = [condition_text(item) for item in condition.items]
    return "(" + word.join(parts) + ")" if len(parts) > 1 else "".join(parts)


@dataclass(frozen=True)
class Row:
    """A question of the map: where it is, what shows it and what reads it."""

    step: m.Step
    question: m.Question
    shown_if: str  # its own condition
    step_shown_if: str  # its step's
    read_by: tuple[str, ...]  # "factor fusion", "red flag self_harm", "instrument phq9"


def readers(q: m.Questionnaire) -> dict[str, list[str]]:
    """question id -> what reads it: computed values, instruments, risk factors, red flags, and
    the conditions of other questions and steps."""
    found: dict[str, list[str]] = {i: [] for i in q.questions}

    def add(question_id: str, what: str) -> None:
        if question_id in found and what not in found[question_id]:
            found[question_id].append(what)

    for c in q.computed:
        for i in c.inputs:
            add(i, f"computed {c.id}")
    for inst in q.instruments:
        for i in inst.items:
            add(i, f"instrument {inst.id}")
    for f in q.risk_factors:
        for i in f.reads:
            add(i, f"factor {f.id} (+{f.points})")
    for flag in q.red_flags:
        for i in flag.reads:
            add(i, f"red flag {flag.id} ({flag.urgency.replace('_', ' ')})")
    for step in q.steps:
        if step.show_if:
            for kind, ref in references(step.show_if):
                if kind == "question":
                    add(ref, f"shows step {step.id}")
        for question in step.questions:
            if question.show_if:
                for kind, ref in references(question.show_if):
                    if kind == "question":
                        add(ref, f"shows {question.id}")
    return found


def map_rows(q: m.Questionnaire) -> list[Row]:
    read = readers(q)
    return [
        Row(
            step,
            question,
            condition_text(question.show_if),
            condition_text(step.show_if),
            tuple(read[question.id]),
        )
        for step in q.steps
        for question in step.questions
    ]


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _node(kind: str, ident: str) -> str:
    return f"{kind}__{ident}"


def build_graph(
    q: m.Questionnaire, marks: dict[str, str] | None = None, step_id: str | None = None
) -> graphviz.Digraph:
    """The questionnaire as a Graphviz digraph: a cluster per step holding its questions; the
    values, factors and flags beside them; an arrow from what is read to what reads it (dashed
    for a condition that shows a question or a step). `marks`: question id -> "added" or
    "changed", drawn in colour (the diff against the version in force). `step_id`: one step
    only, with what reads its questions and what shows them (a page of the printed map: the
    whole of a long questionnaire is too small to read on paper)."""
    marks = marks or {}
    steps = [s for s in q.steps if step_id is None or s.id == step_id]
    keep = {question.id for s in steps for question in s.questions}
    drawn: set[str] = set()
    g = graphviz.Digraph(
        name=q.id,
        graph_attr={"rankdir": "LR", "fontname": "DejaVu Sans", "fontsize": "11",
                    "nodesep": "0.15", "ranksep": "0.6", "tooltip": q.title},
        node_attr={"fontname": "DejaVu Sans", "fontsize": "10", "shape": "box",
                   "style": "rounded,filled", "fillcolor": "white", "color": "#4a5a6a"},
        edge_attr={"fontname": "DejaVu Sans", "fontsize": "9", "color": "#5c6b7a",
                   "arrowsize": "0.6"},
    )  # fmt: skip
    value_node = {c.id: _node("value", c.id) for c in q.computed}
    value_node.update({i.id: _node("value", i.id) for i in q.instruments})
    # The values drawn: all of them, or those made from this step's questions.
    values = {v for v in value_node if step_id is None or set(q.value_inputs(v)) & keep}

    def source(kind: str, ref: str) -> str:
        if kind == "question":
            node = _node("q", ref)
            if ref not in keep and node not in drawn:  # another step's, named only
                drawn.add(node)
                other = q.step_by_id[q.questions[ref].step_id].title
                g.node(node, f"{ref}\n({_short(other, 30)})", fillcolor="#f2f2f2", color="#9aa5b1")
            return node
        if ref not in values:
            values.add(ref)  # read by this step's conditions: drawn, its inputs not
        return value_node[ref]

    def reads_here(condition: m.Condition) -> bool:
        return step_id is None or any(
            (ref in keep) if kind == "question" else (ref in values)
            for kind, ref in references(condition)
        )

    for step in steps:
        with g.subgraph(name=f"cluster_{step.id}") as cluster:
            shown = f"\nshown if {_short(condition_text(step.show_if), 60)}" if step.show_if else ""
            cluster.attr(label=f"{_short(step.title)}{shown}", style="rounded",
                         color="#8896a5", fontsize="11", labeljust="l")  # fmt: skip
            for question in step.questions:
                mark = marks.get(question.id)
                colour = {"added": "#d8f0dc", "changed": "#fff1c2"}.get(mark or "", "white")
                label = f"{question.id}\n{_short(question.label)}"
                if question.show_if:
                    label += f"\nif {_short(condition_text(question.show_if))}"
                if mark:
                    label += f"\n[{mark}]"
                cluster.node(
                    _node("q", question.id), label, fillcolor=colour,
                    tooltip=f"{question.id}: {question.label}",
                )  # fmt: skip
    for step in steps:
        first = _node("q", step.questions[0].id)
        for kind, ref in sorted(references(step.show_if)) if step.show_if else ():
            g.edge(source(kind, ref), first, style="dashed", lhead=f"cluster_{step.id}",
                   label="shows step")  # fmt: skip
        for question in step.questions:
            for kind, ref in sorted(references(question.show_if)) if question.show_if else ():
                g.edge(source(kind, ref), _node("q", question.id), style="dashed")
    factors = [f for f in q.risk_factors if reads_here(f.when)]
    flags = [flag for flag in q.red_flags if reads_here(flag.when)]
    for f in [*factors, *flags]:
        for kind, ref in references(f.when):
            if kind == "value":
                values.add(ref)
    for value in (*q.computed, *q.instruments):
        if value.id not in values:
            continue
        g.node(value_node[value.id], f"{value.id}\n{_short(value.label)}", shape="ellipse",
               fillcolor="#eef3f8")  # fmt: skip
        for i in q.value_inputs(value.id):
            if i in keep:
                g.edge(_node("q", i), value_node[value.id])
    for f in factors:
        axis = f", {f.axis}" if f.axis else ""
        g.node(_node("factor", f.id), f"{f.id}\n+{f.points}{axis}", shape="box",
               fillcolor="#fbe9d0", tooltip=f"{f.label}: {condition_text(f.when)}")  # fmt: skip
        for kind, ref in sorted(references(f.when)):
            g.edge(source(kind, ref), _node("factor", f.id))
    for flag in flags:
        g.node(_node("flag", flag.id), f"{flag.id}\n{flag.urgency.replace('_', ' ')}",
               shape="octagon", fillcolor="#f8d7d7", color="#a00000",
               tooltip=f"{flag.title}: {condition_text(flag.when)}")  # fmt: skip
        for kind, ref in sorted(references(flag.when)):
            g.edge(source(kind, ref), _node("flag", flag.id), color="#a00000")
    return g


def svg(
    q: m.Questionnaire, marks: dict[str, str] | None = None, step_id: str | None = None
) -> str:
    """The map (or one step's) as an <svg> element (no XML declaration), ready for a page."""
    try:
        drawn = build_graph(q, marks, step_id).pipe(format="svg", encoding="utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError) as exc:
        raise DiagramError(f"Graphviz could not draw the map: {exc}") from None
    start = drawn.find("<svg")
    element = drawn[start:] if start >= 0 else drawn
    # The page describes the drawing; the title Graphviz puts first names the graph only.
    return re.sub(r"<svg ", '<svg role="img" aria-labelledby="map-title" ', element, count=1)
