"""Following up after surgery, read for `build.py`'s builder, which this is a part of (as
`build_rules.py` is): a pre-operative questionnaire's `followups` (which file, when after surgery,
its reminder and its expiry) and a follow-up questionnaire's `baseline` and `outcome`.

What needs the other file (that it exists and loads, that the pre-operative questionnaire has
the baseline values a follow-up reads) is checked by `lint` (`followups.py`): loading a stored
definition never reads another file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import model as m
from .build_conditions import ConditionReader
from .reading import Reader
from .yaml_source import YList, YMap, describe, join


class FollowupReader:
    """The builder's part that reads follow-ups, baselines and outcomes (mixed into
    `build._Builder`)."""

    # Set by the builder:
    r: Reader
    questions: dict[str, dict[str, Any]]
    values: dict[str, str]
    claim: Callable[[str, str, YMap, str, str], bool]
    numeric_question: Callable[[Any, str, int, str], bool]
    read_evidence: Callable[[YMap, str], tuple[m.Evidence, ...]]

    # a pre-operative questionnaire's follow-ups
    def read_followups(self, top: YMap) -> list[m.Followup]:
        r = self.r
        if "followups" in top and "outcome" in top:
            message = (
                "a follow-up questionnaire (it states an outcome) sends no follow-ups of its "
                "own: the pre-operative questionnaire lists them all"
            )
            r.error(top.key_lines["followups"], "followups", message)
            return []
        read: list[tuple[m.Followup, YMap, str]] = []
        scored_at: str | None = None
        for b, path, line in r.blocks(top, "followups", ""):
            fid = r.ident(b, "id")
            if fid and not self.claim(fid, f"follow-up '{fid}'", b, path, "followup"):
                fid = None
            file = b.get("questionnaire")
            due, remind, expires = (
                _offset(b.get(k)) for k in ("after_surgery", "remind_after", "expires_after")
            )
            label = r.text(b, "label", path, patient=True)
            outcome = bool(r.boolean(b, "outcome", False))
            if outcome and scored_at is not None:
                message = f"only one follow-up is scored for the outcome ({scored_at} is)"
                r.error(b.key_lines["outcome"], join(path, "outcome"), message)
            elif outcome:
                scored_at = path
            if remind is not None and expires is not None and remind.days[1] >= expires.days[0]:
                message = (
                    f"the reminder ({remind.text} after it is sent) must come before its link "
                    f"expires ({expires.text} after it is sent)"
                )
                r.error(b.key_lines["remind_after"], join(path, "remind_after"), message)
            if None in (fid, label, due, remind, expires) or not isinstance(file, str):
                continue
            followup = m.Followup(fid, file, due, remind, expires, label, outcome, line)
            read.append((followup, b, path))
        pairs = zip(read, read[1:], strict=False)
        for (before, b_block, b_path), (after, a_block, a_path) in pairs:
            if after.after_surgery.days[0] <= before.after_surgery.days[1]:
                message = (
                    f"follow-ups are listed in order of time after surgery: "
                    f"{after.after_surgery.text} is not later than {before.after_surgery.text} "
                    f"('{before.id}')"
                )
                where = (a_block.key_lines["after_surgery"], join(a_path, "after_surgery"))
                r.error(*where, message)
            elif before.after_surgery.days[1] + before.expires_after.days[1] > (
                after.after_surgery.days[0]
            ):
                message = (
                    f"'{before.id}' would still be open when '{after.id}' is due "
                    f"({after.after_surgery.text} after surgery): a patient would have two "
                    "follow-ups open at once; let its link expire sooner"
                )
                where = (b_block.key_lines["expires_after"], join(b_path, "expires_after"))
                r.error(*where, message)
        return [followup for followup, _, _ in read]

    # a follow-up questionnaire's baseline and outcome
    def read_baseline(self, top: YMap) -> m.Baseline | None:
        b = top.get("baseline")
        if not isinstance(b, YMap):
            return None
        if "outcome" not in top:
            message = "a baseline is read only by an outcome: state the `outcome`, or remove this"
            self.r.error(top.key_lines["baseline"], "baseline", message)
        questionnaire = b.get("questionnaire")
        values = tuple(
            v for v, _, _ in self.r.items(b, "values", "baseline") if isinstance(v, str)
        )
        if not isinstance(questionnaire, str) or not values:
            return None
        return m.Baseline(questionnaire, values)

    def read_outcome(self, top: YMap, baseline: m.Baseline | None) -> m.Outcome | None:
        r, ob, path = self.r, top.get("outcome"), "outcome"
        if not isinstance(ob, YMap):
            return None
        oid = r.ident(ob, "id")
        declared = {
            vb.get("id"): i for i, (vb, _, _) in enumerate(r.blocks(ob, "values", path))
        }
        values: list[m.OutcomeValue] = []
        for index, (vb, v_path, _) in enumerate(r.blocks(ob, "values", path)):
            vid = r.ident(vb, "id")
            if vid and not self.claim(vid, f"outcome value '{vid}'", vb, v_path, "value"):
                vid = None
            kinds = [k for k in ("change", "percent_change") if k in vb]
            label = r.text(vb, "label", v_path)
            if len(kinds) != 1 or not isinstance(vb[kinds[0]], YMap):
                continue
            ends, ok = vb[kinds[0]], True
            for end in ("from", "to"):
                ref = ends.get(end)
                where = (ends.key_lines.get(end, ends.line), join(join(v_path, kinds[0]), end))
                earlier = {v.id for v in values}
                ok = self.outcome_source(ref, earlier, declared, index, baseline, *where) and ok
            if vid and label and ok:
                inputs = (ends["from"], ends["to"])
                values.append(m.OutcomeValue(vid, label, kinds[0], inputs))  # type: ignore[arg-type]
        known = dict(self.values)
        known.update({v.id: "outcome" for v in values})
        for name in baseline.values if baseline else ():
            known[f"{m.BASELINE_PREFIX}{name}"] = "baseline"
        if baseline is None:
            hint = " (declare the `baseline` it comes from, with this value in its values)"
        else:
            hint = f" (the baseline values are {', '.join(baseline.values)}: add it there)"
        conditions = ConditionReader(r, self.questions, known, baseline_hint=hint)
        criteria = []
        for cb, c_path, c_line in r.blocks(ob, "criteria", path):
            cid = r.ident(cb, "id")
            if cid and not self.claim(cid, f"criterion '{cid}'", cb, c_path, "criterion"):
                cid = None
            label = r.text(cb, "label", c_path)
            when = conditions.condition(cb["when"], join(c_path, "when")) if "when" in cb else None
            if None not in (cid, label, when):
                criteria.append(m.Criterion(cid, label, when, c_line))
        label, description = r.text(ob, "label", path), r.text(ob, "description", path)
        evidence = self.read_evidence(ob, path)
        if None in (oid, label, description) or not criteria or not evidence:
            return None
        return m.Outcome(
            oid, label, description, tuple(criteria), evidence, tuple(values), ob.line
        )

    def outcome_source(
        self,
        ref: Any,
        earlier: set[str],
        declared: dict[Any, int],
        index: int,
        baseline: m.Baseline | None,
        line: int,
        path: str,
    ) -> bool:
        """Whether `ref` is a number an outcome value can be made from (a problem if not)."""
        r = self.r
        if not isinstance(ref, str):
            return False
        if ref.startswith(m.BASELINE_PREFIX):
            name = ref.removeprefix(m.BASELINE_PREFIX)
            if baseline is None:
                message = (
                    f"{describe(ref)} reads the pre-operative screening, but there is no "
                    "`baseline`: declare it (the questionnaire and the values read)"
                )
            elif name not in baseline.values:
                message = (
                    f"'{name}' is not one of the baseline values ({', '.join(baseline.values)}): "
                    "add it to baseline.values"
                )
            else:
                return True
            r.error(line, path, message)
            return False
        if ref in self.values or ref in earlier:
            return True
        if ref in self.questions:
            return self.numeric_question(ref, path, line, "compared")
        if declared.get(ref, -1) >= index:
            message = f"'{ref}' is an outcome value made later: a value reads only earlier ones"
        else:
            message = (
                f"there is no question, computed value, instrument or earlier outcome value "
                f"{describe(ref)} (a pre-operative value is written baseline.ID)"
            )
        r.error(line, path, message)
        return False


def outcome_value_hints(top: YMap) -> dict[str, str]:
    """Why an outcome's value is not there for a condition outside the outcome."""
    outcome = top.get("outcome")
    values = outcome.get("values") if isinstance(outcome, YMap) else None
    hint = " (it is a value of the outcome: only the outcome's criteria read it)"
    return {
        v["id"]: hint
        for v in (values if isinstance(values, YList) else ())
        if isinstance(v, YMap) and isinstance(v.get("id"), str)
    }


def _offset(value: Any) -> m.Offset | None:
    """{days: N}, {weeks: N} or {months: N}, or None (the schema said what is wrong)."""
    if not isinstance(value, YMap) or len(value) != 1:
        return None
    (unit, amount), = value.items()
    if unit not in m.OFFSET_UNITS or isinstance(amount, bool) or not isinstance(amount, int):
        return None
    return m.Offset(amount, unit) if amount >= 1 else None
