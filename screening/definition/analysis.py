"""Static checks that need reasoning over every possible answer (run when a definition is loaded).

The analysis enumerates answers symbolically: each question (or computed value) takes one
representative value per region that the conditions can tell apart (each option, each side of each
threshold, no answer), and only combinations in which every answered question is actually shown are
kept. From that it finds questions that can never be shown, risk factors that can never apply, red
flags that can never be raised, and the exact set of totals the rules can produce.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import model as m
from .conditions import MISSING, evaluate, holds, leaves, references
from .yaml_source import Problem

Var = tuple[str, str]  # ("question", id) or ("value", id)

# Above this many combinations a part is not enumerated; a safe bound is used instead.
MAX_COMBINATIONS = 200_000
_OTHER_TEXT = "\x00another answer"


def _all_conditions(q: m.Questionnaire) -> Iterable[m.Condition]:
    for step in q.steps:
        if step.show_if is not None:
            yield step.show_if
        for question in step.questions:
            if question.show_if is not None:
                yield question.show_if
    for factor in q.risk_factors:
        yield factor.when
    for flag in q.red_flags:
        yield flag.when


class _Space:
    """Domains of representative values and visibility constraints for one questionnaire."""

    def __init__(self, q: m.Questionnaire, today: dt.date):
        self.q, self.today = q, today
        self.leaves: dict[Var, list[m.Leaf]] = {}
        for condition in _all_conditions(q):
            for leaf in leaves(condition):
                self.leaves.setdefault((leaf.kind, leaf.ref), []).append(leaf)
        self._domains: dict[Var, tuple[list[Any], bool]] = {}
        self._deps: dict[Var, set[Var]] = {}

    # visibility -------------------------------------------------------------------------------
    def visibility_conditions(self, question_id: str) -> list[m.Condition]:
        question = self.q.questions[question_id]
        step = self.q.step_by_id[question.step_id]
        return [c for c in (step.show_if, question.show_if) if c is not None]

    def deps(self, var: Var) -> set[Var]:
        """The variables whose values decide whether `var` can hold an answer."""
        if var not in self._deps:
            result: set[Var] = set()
            for question_id in self._questions_of(var):
                for condition in self.visibility_conditions(question_id):
                    result |= references(condition)
            self._deps[var] = result
        return self._deps[var]

    def closure(self, roots: Iterable[Var]) -> list[Var]:
        """The roots and everything their visibility depends on, dependencies first."""
        order: list[Var] = []
        seen: set[Var] = set()

        def visit(var: Var) -> None:
            if var in seen:
                return
            seen.add(var)
            for dep in sorted(self.deps(var)):
                visit(dep)
            order.append(var)

        for root in sorted(roots):
            visit(root)
        return order

    def _questions_of(self, var: Var) -> tuple[str, ...]:
        kind, ref = var
        return (ref,) if kind == "question" else self.q.value_inputs(ref)

    def can_hold(self, var: Var, lookup: Callable[[m.Leaf], Any]) -> bool:
        return all(
            evaluate(c, lookup)
            for qid in self._questions_of(var)
            for c in self.visibility_conditions(qid)
        )

    # domains ----------------------------------------------------------------------------------
    def domain(self, var: Var) -> tuple[list[Any], bool]:
        """Representative values (MISSING first) and whether the list is exact."""
        if var not in self._domains:
            self._domains[var] = self._make_domain(var)
        return self._domains[var]

    def _signature_reps(self, var: Var, values: Iterable[Any]) -> list[Any]:
        tests = self.leaves.get(var, [])
        reps: dict[tuple[bool, ...], Any] = {}
        for value in values:
            signature = tuple(holds(leaf, value) for leaf in tests)
            reps.setdefault(signature, value)
        return list(reps.values())

    def _thresholds(self, var: Var) -> list[Any]:
        points = []
        for leaf in self.leaves.get(var, []):
            if leaf.op in ("in", "not_in"):
                points.extend(leaf.operand)
            elif leaf.op not in ("answered", "contains"):
                points.append(leaf.operand)
        return points

    def _interval_reps(
        self, var: Var, lo: Any, hi: Any, step: float, as_date: bool | str
    ) -> list[Any]:
        """Representative values between `lo` and `hi` around the thresholds the conditions
        test; `as_date`: days (True) or months ("month") counted as whole numbers."""

        def num(v: Any) -> float:
            if as_date == "month":
                return v.year * 12 + v.month - 1
            return v.toordinal() if as_date else v

        def back(c: float) -> Any:
            if as_date == "month":
                year, month = divmod(int(c), 12)
                return m.YearMonth(year, month + 1)
            return dt.date.fromordinal(int(c)) if as_date else c

        thresholds = sorted({num(t) for t in self._thresholds(var)})
        candidates = set()
        for t in thresholds:
            candidates |= {t - step, t, t + step}
        candidates |= {(a + b) / 2 for a, b in itertools.pairwise(thresholds)}
        for bound in (lo, hi):
            if bound is not None:
                candidates.add(num(bound))
        if not candidates:
            candidates.add(0)
        lo_n = num(lo) if lo is not None else None
        hi_n = num(hi) if hi is not None else None
        kept = []
        for c in sorted(candidates):
            if step == 1:
                c = round(c)
            if (lo_n is None or c >= lo_n) and (hi_n is None or c <= hi_n):
                kept.append(back(c))
        return self._signature_reps(var, kept)

    def _make_domain(self, var: Var) -> tuple[list[Any], bool]:
        kind, ref = var
        if kind == "value":
            return self._value_domain(ref)
        question = self.q.questions[ref]
        qtype = question.type
        if qtype == "choice":
            return [MISSING, *self._signature_reps(var, [o.value for o in question.options])], True
        if qtype == "yes_no":
            return [MISSING, True, False], True
        if qtype == "multi_choice":
            mentioned = sorted(
                {leaf.operand for leaf in self.leaves.get(var, []) if leaf.op == "contains"},
                key=str,
            )
            others = [o.value for o in question.options if o.value not in mentioned]
            if len(mentioned) > 12:
                return [MISSING], False
            values: list[Any] = [MISSING]
            alone = question.exclusive_values  # chosen with no other option, ever
            for size in range(1, len(mentioned) + 1):
                values.extend(
                    combo
                    for combo in itertools.combinations(mentioned, size)
                    if size == 1 or not alone.intersection(combo)
                )
            if others:
                values.append((others[0],))
            return values, True
        if qtype == "text":
            return [
                MISSING,
                *self._signature_reps(var, [*self._thresholds(var), _OTHER_TEXT]),
            ], True
        if qtype == "date":
            lo = self.today if question.min == "today" else question.min
            hi = self.today if question.max == "today" else question.max
            return [MISSING, *self._interval_reps(var, lo, hi, 1, True)], True
        if qtype == "month_year":
            this_month = m.YearMonth.of(self.today)
            lo = this_month if question.min == "today" else question.min
            hi = this_month if question.max == "today" else question.max
            return [MISSING, *self._interval_reps(var, lo, hi, 1, "month")], True
        lo, hi = question.min, question.max
        if qtype in m.DEFAULT_BOUNDS:
            lo = m.DEFAULT_BOUNDS[qtype][0] if lo is None else lo
            hi = m.DEFAULT_BOUNDS[qtype][1] if hi is None else hi
        step = 1 if qtype == "integer" else 0.01
        return [MISSING, *self._interval_reps(var, lo, hi, step, False)], True

    def _input_sums(
        self, question_ids: Iterable[str], scored: bool = False
    ) -> set[int] | tuple[float, float] | None:
        """All sums the inputs can make (a set), or the interval (lo, hi), or None if unbounded."""
        sums: set[float] = {0}
        interval = [0.0, 0.0]
        exact = True
        for question_id in question_ids:
            question = self.q.questions[question_id]
            if question.type == "choice":
                values = [o.item_score if scored else o.value for o in question.options]
            elif question.min is None or question.max is None:
                return None
            elif question.type == "integer" and question.max - question.min <= 1000:
                values = list(range(question.min, question.max + 1))
            else:
                values, exact = [question.min, question.max], False
            interval[0] += min(values)
            interval[1] += max(values)
            if exact:
                sums = {s + v for s in sums for v in values}
                if len(sums) > 10_000:
                    exact = False
        return sums if exact else (interval[0], interval[1])

    def _value_domain(self, ref: str) -> tuple[list[Any], bool]:
        var: Var = ("value", ref)
        computed = self.q.computed_by_id.get(ref)
        if computed is not None and computed.kind == "bmi":
            height, weight = (self.q.questions[i] for i in computed.inputs)
            h_lo = height.min if height.min is not None else m.DEFAULT_BOUNDS["height"][0]
            h_hi = height.max if height.max is not None else m.DEFAULT_BOUNDS["height"][1]
            w_lo = weight.min if weight.min is not None else m.DEFAULT_BOUNDS["weight"][0]
            w_hi = weight.max if weight.max is not None else m.DEFAULT_BOUNDS["weight"][1]
            lo, hi = round(w_lo / (h_hi / 100) ** 2, 1), round(w_hi / (h_lo / 100) ** 2, 1)
            reps = [round(v, 1) for v in self._interval_reps(var, lo, hi, 0.1, False)]
            return [MISSING, *self._signature_reps(var, reps)], True
        inputs = self.q.value_inputs(ref)
        sums = self._input_sums(inputs, scored=ref in self.q.instrument_by_id)
        if sums is None:
            return [MISSING, *self._interval_reps(var, None, None, 1, False)], True
        if isinstance(sums, set):
            return [MISSING, *self._signature_reps(var, sorted(sums))], True
        return [MISSING, *self._interval_reps(var, sums[0], sums[1], 0.01, False)], True

    # enumeration ------------------------------------------------------------------------------
    def assignments(self, roots: Iterable[Var]) -> tuple[Iterable[dict[Var, Any]], bool]:
        """Every consistent assignment of the roots' closure (or nothing if too many)."""
        order = self.closure(roots)
        domains = []
        exact = True
        size = 1
        for var in order:
            values, var_exact = self.domain(var)
            exact = exact and var_exact
            domains.append(values)
            size *= len(values)
        if size > MAX_COMBINATIONS:
            return (), False
        return self._walk(order, domains), exact

    def _walk(self, order: list[Var], domains: list[list[Any]]) -> Iterable[dict[Var, Any]]:
        assignment: dict[Var, Any] = {}

        def lookup(leaf: m.Leaf) -> Any:
            return assignment.get((leaf.kind, leaf.ref), MISSING)

        def step(index: int) -> Iterable[dict[Var, Any]]:
            if index == len(order):
                yield assignment
                return
            var = order[index]
            shown = self.can_hold(var, lookup)  # its dependencies are assigned already
            for value in domains[index]:
                if value is not MISSING and not shown:
                    continue
                assignment[var] = value
                yield from step(index + 1)
            del assignment[var]

        return step(0)


@dataclass
class _Component:
    factors: list[m.RiskFactor] = field(default_factory=list)
    roots: set[Var] = field(default_factory=set)


def _components(space: _Space, factors: Iterable[m.RiskFactor]) -> list[_Component]:
    """Group factors that share any variable (directly or through visibility)."""
    components: list[_Component] = []
    for factor in factors:
        roots = references(factor.when)
        scope = set(space.closure(roots))
        joined = _Component([factor], set(roots))
        joined_scope = scope
        rest = []
        for comp in components:
            comp_scope = set(space.closure(comp.roots))
            if comp_scope & joined_scope:
                joined.factors = comp.factors + joined.factors
                joined.roots |= comp.roots
                joined_scope |= comp_scope
            else:
                rest.append(comp)
        components = [*rest, joined]
    return components


def analyse(q: m.Questionnaire, today: dt.date | None = None) -> tuple[list[Problem], m.ScoreRange]:
    """Problems that make the definition unusable, and the range of totals it can produce."""
    space = _Space(q, today or dt.date.today())
    problems: list[Problem] = []
    file = q.source_name

    def lookup_in(assignment: dict[Var, Any]) -> Callable[[m.Leaf], Any]:
        return lambda leaf: assignment.get((leaf.kind, leaf.ref), MISSING)

    # Questions that can never be shown.
    checked: dict[tuple, bool] = {}
    for step in q.steps:
        for question in step.questions:
            conditions = space.visibility_conditions(question.id)
            if not conditions:
                continue
            key = tuple(id(c) for c in conditions)
            if key not in checked:
                roots = set().union(*(references(c) for c in conditions))
                found, exact = False, True
                assignments, exact = space.assignments(roots)
                for assignment in assignments:
                    lookup = lookup_in(assignment)
                    if all(evaluate(c, lookup) for c in conditions):
                        found = True
                        break
                checked[key] = found or not exact
            if not checked[key]:
                where = (
                    f"steps.{step.id}" if question.show_if is None else f"question '{question.id}'"
                )
                problems.append(
                    Problem(
                        file,
                        question.line,
                        where,
                        f"question '{question.id}' can never be shown: its show_if (or its step's) "
                        "needs answers that can never be given together (for example an answer "
                        "to a "
                        "question that is hidden in that case)",
                    )
                )

    # Red flags that can never be raised.
    for flag in q.red_flags:
        assignments, exact = space.assignments(references(flag.when))
        if exact and not any(evaluate(flag.when, lookup_in(a)) for a in assignments):
            problems.append(
                Problem(
                    file,
                    flag.line,
                    f"red flag '{flag.id}'",
                    "can never be raised: no set of answers makes its 'when' true",
                )
            )

    # The points the factors can produce, component by component, per axis (one axis, "", for
    # a questionnaire without axes). A cap's factors are kept in one component, so that the cap
    # is applied to every combination exactly.
    axis_ids = [a.id for a in q.axes] or [""]
    vectors: set[tuple[int, ...]] = {(0,) * len(axis_ids)}
    exact_range = True
    ever_applies: set[str] = set()
    for comp in _with_caps_together(q, _components(space, q.risk_factors)):
        sums: set[tuple[int, ...]] = set()
        assignments, exact = space.assignments(comp.roots)
        enumerated = False
        for assignment in assignments:
            enumerated = True
            lookup = lookup_in(assignment)
            applying = [f for f in comp.factors if evaluate(f.when, lookup)]
            ever_applies.update(f.id for f in applying)
            sums.add(_points_by_axis(q, axis_ids, applying))
        if not enumerated or not exact:
            exact_range = False
            ever_applies.update(f.id for f in comp.factors)
            sums = {(0,) * len(axis_ids)}
            for factor in comp.factors:  # a bound: caps left out
                index = axis_ids.index(factor.axis or "")
                sums |= {
                    tuple(v + factor.points * (i == index) for i, v in enumerate(s)) for s in sums
                }
        vectors = {tuple(map(sum, zip(v, s, strict=True))) for v in vectors for s in sums}
    for factor in q.risk_factors:
        if factor.id not in ever_applies:
            problems.append(
                Problem(
                    file,
                    factor.line,
                    f"risk factor '{factor.id}'",
                    "can never apply: no set of answers makes its 'when' true",
                )
            )
    totals = {sum(v) for v in vectors}
    axes = {
        axis_id: (min(v[i] for v in vectors), max(v[i] for v in vectors))
        for i, axis_id in enumerate(axis_ids)
        if axis_id
    }
    return problems, m.ScoreRange(
        min(totals), max(totals), _reachable_tiers(q, vectors, totals), exact_range, axes
    )


def _with_caps_together(q: m.Questionnaire, components: list[_Component]) -> list[_Component]:
    """The components, those holding factors of one cap joined."""
    for cap in q.caps:
        holding = [c for c in components if any(f.id in cap.factors for f in c.factors)]
        if len(holding) > 1:
            joined = _Component(
                [f for c in holding for f in c.factors], set().union(*(c.roots for c in holding))
            )
            components = [c for c in components if c not in holding] + [joined]
    return components


def _points_by_axis(
    q: m.Questionnaire, axis_ids: list[str], applying: list[m.RiskFactor]
) -> tuple[int, ...]:
    points = [0] * len(axis_ids)
    by_cap: dict[str, int] = {}
    for factor in applying:
        cap = q.cap_of.get(factor.id)
        if cap is None:
            points[axis_ids.index(factor.axis or "")] += factor.points
        else:
            by_cap[cap.id] = by_cap.get(cap.id, 0) + factor.points
    for cap in q.caps:
        if cap.id in by_cap:
            axis = q.factor_by_id[cap.factors[0]].axis or ""
            points[axis_ids.index(axis)] += min(by_cap[cap.id], cap.max)
    return tuple(points)


def _reachable_tiers(
    q: m.Questionnaire, vectors: set[tuple[int, ...]], totals: set[int]
) -> tuple[str, ...]:
    """The tiers some answers can reach (with axes: by each axis's points, or a floor)."""
    if not q.axes:
        return tuple(
            t.id
            for i, t in enumerate(q.tiers)
            if any(
                (i == 0 or total > q.tiers[i - 1].max) and (t.max is None or total <= t.max)
                for total in totals
            )
        )
    rank = {t.id: i for i, t in enumerate(q.tiers)}
    reached: set[int] = set()
    for vector in vectors:
        choices = [
            {rank[axis.tier_for(points).id], *(rank[f.tier] for f in axis.floors)}
            for axis, points in zip(q.axes, vector, strict=True)
        ]
        # Each axis at its points' tier or one of its floors: a superset of what is reachable.
        for combination in itertools.product(*choices):
            reached.add(max(combination))
    return tuple(t.id for i, t in enumerate(q.tiers) if i in reached)
