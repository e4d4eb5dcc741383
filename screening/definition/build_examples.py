"""The questionnaire's `examples` (its test vectors: answers, the clinic's entries, a follow-up's
baseline, and what the engine must make of them), read for `build.py`'s builder, which this is a
part of (as `build_rules.py` is). `screening lint` runs them (`examples.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import model as m
from .reading import Reader
from .yaml_source import YList, YMap, describe, join


class ExamplesReader:
    """The builder's part that reads examples (mixed into `build._Builder`)."""

    # Set by the builder:
    r: Reader
    data: YMap
    questions: dict[str, dict[str, Any]]
    declared_axes: Any
    claimed: Callable[[str], set[str]]

    def read_examples(
        self, top: YMap, factors, flags, tiers, axes, baseline=None, outcome=None
    ) -> list[m.Example]:
        r, result = self.r, []
        # Ids as declared: a factor or flag left out for a problem of its own is told once.
        factor_ids = {f.id for f in factors} | self.claimed("factor")
        known = {
            "factors": (factor_ids, "risk factor"),
            "unknowns": (factor_ids, "risk factor"),
            "red_flags": ({f.id for f in flags} | self.claimed("flag"), "red flag"),
        }
        tier_ids = {t.id for t in tiers}
        for b, path, line in r.blocks(top, "examples", ""):
            answers, expect = b.get("answers"), b.get("expect")
            if isinstance(answers, YMap):
                for key in answers:
                    if key not in self.questions:
                        r.error(
                            answers.key_lines[key],
                            join(join(path, "answers"), key),
                            f"unknown key '{key}' (allowed here: {', '.join(self.questions)})",
                        )
            if isinstance(expect, YMap):
                e_path = join(path, "expect")
                tier = expect.get("tier")
                if isinstance(tier, str) and tier not in tier_ids:
                    where = (expect.key_lines["tier"], join(e_path, "tier"))
                    r.error(*where, f"there is no tier {describe(tier)}")
                by_axis = expect.get("axes")
                if isinstance(by_axis, YMap):
                    for axis_id, axis_tier in by_axis.items():
                        where = (by_axis.key_lines[axis_id], join(join(e_path, "axes"), axis_id))
                        if axis_id not in self.declared_axes:
                            r.error(*where, f"there is no axis {describe(axis_id)}")
                        elif axis_tier is not None and axis_tier not in tier_ids:
                            r.error(*where, f"there is no tier {describe(axis_tier)}")
                for key, (ids, what) in known.items():
                    for ref, ref_path, ref_line in r.items(expect, key, e_path):
                        if isinstance(ref, str) and ref not in ids:
                            r.error(ref_line, ref_path, f"there is no {what} {describe(ref)}")
            clinic = b.get("clinic", YMap())
            if isinstance(clinic, YMap):
                for key in clinic:
                    if not self.questions.get(key, {}).get("clinic"):
                        r.error(
                            clinic.key_lines[key],
                            join(join(path, "clinic"), key),
                            f"'{key}' is not a question the clinic can enter (`clinic: true`)",
                        )
            given = b.get("baseline", YMap())
            if isinstance(given, YMap):
                self.check_example_baseline(given, join(path, "baseline"), baseline)
            if isinstance(expect, YMap):
                self.check_example_outcome(expect, join(path, "expect"), outcome)
            name = r.text(b, "name", path)
            if name and isinstance(answers, YMap) and isinstance(expect, YMap):
                result.append(
                    m.Example(
                        name,
                        _plain(answers),
                        _plain(expect),
                        line,
                        _plain(clinic) if isinstance(clinic, YMap) else {},
                        _plain(given) if isinstance(given, YMap) else {},
                    )
                )
        return result

    def check_example_baseline(
        self, given: YMap, path: str, baseline: m.Baseline | None
    ) -> None:
        """An example's baseline names the values the questionnaire's `baseline` declares."""
        declared = baseline.values if baseline else ()
        for key in given:
            if key not in declared:
                allowed = ", ".join(declared) or "none: the questionnaire declares no baseline"
                message = f"'{key}' is not a baseline value (allowed here: {allowed})"
                self.r.error(given.key_lines[key], join(path, key), message)

    def check_example_outcome(self, expect: YMap, path: str, outcome: m.Outcome | None) -> None:
        """What an example expects of the outcome: the questionnaire states one, and the
        criteria it names are the outcome's."""
        for key in ("outcome", "criteria"):
            if key in expect and outcome is None and "outcome" not in self.data:
                message = "the questionnaire states no outcome (a follow-up's `outcome`)"
                self.r.error(expect.key_lines[key], join(path, key), message)
                return
        ids = {c.id for c in outcome.criteria} if outcome else set()
        ids |= self.claimed("criterion")
        for ref, ref_path, ref_line in self.r.items(expect, "criteria", path):
            if isinstance(ref, str) and ref not in ids:
                self.r.error(ref_line, ref_path, f"there is no criterion {describe(ref)}")



def _plain(value: Any) -> Any:
    """YMap / YList as the dict / list an example's answers and expectations are kept as."""
    if isinstance(value, YMap):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, YList):
        return [_plain(v) for v in value]
    return value
