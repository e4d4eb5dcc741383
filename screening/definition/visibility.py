"""The order in which a questionnaire's visibility is decided, and the cycles that forbid one."""

from __future__ import annotations

from . import model as m
from .conditions import questions_read
from .yaml_source import Problem


def _question_dependencies(q: m.Questionnaire) -> dict[str, set[str]]:
    """For each question, the questions its visibility reads (its show_if and its step's)."""

    def expand(condition: m.Condition | None) -> set[str]:
        return set() if condition is None else set(questions_read(q, condition))

    deps = {}
    for step in q.steps:
        step_deps = expand(step.show_if)
        for question in step.questions:
            deps[question.id] = step_deps | expand(question.show_if)
    return deps


def visibility_order(q: m.Questionnaire) -> tuple[tuple[str, ...], list[Problem]]:
    """Question ids ordered so that each comes after every question its visibility reads, and a
    problem for each cycle in show_if (broken, so that the order is still complete)."""
    deps = _question_dependencies(q)
    order: list[str] = []
    problems: list[Problem] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        trail.append(node)
        for dep in sorted(deps.get(node, ())):
            if state.get(dep) == 1:
                cycle = trail[trail.index(dep) :] + [dep]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    what = "itself" if len(cycle) == 2 else "itself through " + " → ".join(cycle)
                    problems.append(
                        Problem(
                            q.source_name,
                            q.questions[dep].line,
                            f"question '{dep}'",
                            f"whether it is shown depends on {what} (a cycle in show_if)",
                        )
                    )
            elif state.get(dep) is None:
                visit(dep, trail)
        trail.pop()
        state[node] = 2
        order.append(node)

    for question_id in q.questions:
        if question_id not in state:
            visit(question_id, [])
    return tuple(order), problems
