"""The scoring rules of a definition (axes, the points rule, risk factors and their effects, caps,
red flags, domain alerts, tiers), read for `build.py`'s builder, which this is a part of: it shares
the builder's reader, ids and conditions (`self.r`, `self.claim`, `self.conditions`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import model as m
from .build_conditions import ConditionReader
from .reading import Reader
from .yaml_source import YList, YMap, describe, join


class RulesReader:
    """The builder's half that reads the scoring rules (mixed into `build._Builder`)."""

    # Set by the builder:
    r: Reader
    conditions: ConditionReader
    declared_axes: set[str]  # axis ids as declared, so a factor on a faulty axis is told once

    # (ident, what, block, path, namespace) -> whether the id is still free: the builder's.
    claim: Callable[[str, str, YMap, str, str], bool]

    # axes and the points rule
    def read_axes(self, top: YMap, tiers: list[m.Tier]) -> list[m.Axis]:
        r, result = self.r, []
        for b, path, _ in r.blocks(top, "axes", ""):
            aid = r.ident(b, "id")
            if aid and not self.claim(aid, f"axis '{aid}'", b, path, "axis"):
                aid = None
            if aid:
                self.declared_axes.add(aid)  # told once: factors on it say nothing more
            outcomes = tuple(o for o, _, _ in r.items(b, "outcomes", path) if isinstance(o, str))
            floors = []
            for fb, f_path, _ in r.blocks(b, "floors", path):
                when, reason = self.when(fb, f_path), r.text(fb, "reason", f_path)
                tier = self.tier_ref(fb, "tier", f_path, tiers)
                if None not in (when, reason, tier):
                    floors.append(m.Floor(when, tier, reason))
            axis_tiers = self.read_tier_max(b, path, tiers)
            label, outcome = r.text(b, "label", path), r.text(b, "outcome", path)
            if None not in (aid, label, outcome, axis_tiers):
                result.append(m.Axis(aid, label, outcome, outcomes, axis_tiers, tuple(floors)))
        return result

    def tier_ref(self, b: YMap, key: str, path: str, tiers: list[m.Tier]) -> str | None:
        value = b.get(key)
        if not isinstance(value, str):
            return None
        if value not in {t.id for t in tiers}:
            self.r.error(b.key_lines[key], join(path, key), f"there is no tier {describe(value)}")
            return None
        return value

    def read_tier_max(self, b: YMap, path: str, tiers: list[m.Tier]) -> tuple[m.Tier, ...] | None:
        """An axis's `tier_max` (every tier but the last, in order, with its inclusive max)."""
        given = b.get("tier_max")
        if not isinstance(given, YMap) or not tiers:
            return None
        where = (b.key_lines["tier_max"], join(path, "tier_max"))
        wanted = [t.id for t in tiers[:-1]]
        if list(given) != wanted:
            message = (
                f"must give the max of every tier but the last, in order: {', '.join(wanted)} "
                f"(it gives {', '.join(map(str, given)) or 'none'})"
            )
            self.r.error(*where, message)
            return None
        previous, result = -1, []
        for tier in tiers:
            tmax = given.get(tier.id)
            if tier is not tiers[-1]:
                if isinstance(tmax, bool) or not isinstance(tmax, int) or tmax <= previous:
                    message = f"tier '{tier.id}': the max must be a whole number above {previous}"
                    self.r.error(given.key_lines[tier.id], join(where[1], tier.id), message)
                    return None
                previous = tmax
            result.append(m.Tier(tier.id, tier.label, tmax))
        return tuple(result)

    def read_points_rule(self, top: YMap) -> float | None:
        rule = top.get("points_rule")
        if not isinstance(rule, YMap):
            return None
        base = rule.get("base")
        if isinstance(base, bool) or not isinstance(base, int | float) or base <= 1:
            return None  # the schema says what is wrong
        return float(base)

    # scoring rules
    def read_factors(
        self, top: YMap, axes: list[m.Axis], points_base: float | None
    ) -> list[m.RiskFactor]:
        r, result = self.r, []
        axis_by_id = {a.id: a for a in axes}
        for b, path, line in r.blocks(top, "risk_factors", ""):
            fid = r.ident(b, "id")
            if fid and not self.claim(fid, f"risk factor '{fid}'", b, path, "factor"):
                fid = None
            fields = dict(
                id=fid,
                label=r.text(b, "label", path),
                category=b.get("category") if b.get("category") in m.CATEGORIES else None,
                points=r.integer(b, "points", minimum=0),
                when=self.when(b, path),
                modifiable=r.boolean(b, "modifiable", None),
                patient_text=r.text(b, "patient_text", path, patient=True),
                clinician_text=r.text(b, "clinician_text", path),
                action=r.text(b, "action", path),
                evidence=self.read_evidence(b, path),
            )
            patient_action = r.text(b, "patient_action", path, required=False, patient=True)
            justification = r.text(b, "justification", path, required=False)
            axis = self.factor_axis(b, path, axis_by_id)
            effect = self.read_effect(b, path, axis, fields["evidence"])
            if fields["points"] is not None and points_base is not None:
                self.check_points(b, path, fields["points"], effect, justification, points_base)
            if all(v is not None for v in fields.values()) and (axis is not None or not axes):
                result.append(
                    m.RiskFactor(
                        **fields,
                        patient_action=patient_action,
                        line=line,
                        axis=axis.id if axis else None,
                        effect=effect,
                        justification=justification,
                    )
                )
        return result

    def factor_axis(self, b: YMap, path: str, axis_by_id: dict[str, m.Axis]) -> m.Axis | None:
        given = b.get("axis")
        if not axis_by_id and not self.declared_axes:
            if given is not None:
                message = "the questionnaire declares no axes: remove this or declare `axes`"
                self.r.error(b.key_lines["axis"], join(path, "axis"), message)
            return None
        if given is None:
            message = f"a risk factor needs an axis (one of {', '.join(axis_by_id)})"
            self.r.error(b.line, path, message)
            return None
        if given not in axis_by_id:
            if given in self.declared_axes:
                return None  # the axis itself is wrong, and said so
            message = f"there is no axis {describe(given)} (there are {', '.join(axis_by_id)})"
            self.r.error(b.key_lines["axis"], join(path, "axis"), message)
            return None
        return axis_by_id[given]

    def read_effect(
        self, b: YMap, path: str, axis: m.Axis | None, evidence: tuple[m.Evidence, ...] | None
    ) -> m.Effect | None:
        eb = b.get("effect")
        if not isinstance(eb, YMap):
            return None
        e_path = join(path, "effect")
        measure, value, outcome, source = (
            eb.get(k) for k in ("measure", "value", "outcome", "source")
        )
        ci = eb.get("ci")
        if measure not in m.EFFECT_MEASURES or not _number(value):
            return None  # the schema said why
        if measure != "SMD" and value <= 0:
            self.r.error(eb.key_lines["value"], join(e_path, "value"), "a ratio is above 0")
            return None
        low = high = None
        if isinstance(ci, YList) and len(ci) == 2 and all(_number(v) for v in ci):
            low, high = ci
            if not low <= value <= high:
                message = f"the interval {low:g}-{high:g} does not hold the value {value:g}"
                self.r.error(eb.key_lines["ci"], join(e_path, "ci"), message)
        if axis is not None and outcome not in axis.outcomes:
            message = (
                f"the outcome {describe(outcome)} is not one of axis '{axis.id}''s outcomes "
                f"({', '.join(axis.outcomes)}): an effect size must be for its axis's outcome"
            )
            self.r.error(eb.key_lines.get("outcome", eb.line), join(e_path, "outcome"), message)
            return None
        if not isinstance(source, str) or not isinstance(outcome, str):
            return None
        if evidence is not None and not any(e.citation.startswith(source) for e in evidence):
            message = f"{describe(source)} does not begin any of the factor's evidence citations"
            self.r.error(eb.key_lines["source"], join(e_path, "source"), message)
            return None
        return m.Effect(measure, value, low, high, outcome, source)

    def check_points(
        self,
        b: YMap,
        path: str,
        points: int,
        effect: m.Effect | None,
        justification: str | None,
        base: float,
    ) -> None:
        """The points rule: points = round(ln(effect) / ln(base)), unless justified in words."""
        where = (b.key_lines["points"], join(path, "points"))
        if effect is None:
            if points and not justification and "effect" not in b:
                message = (
                    "the questionnaire has a points_rule: give the `effect` these points rest on "
                    "(or a `justification` for points without one)"
                )
                self.r.error(*where, message)
            return
        expected = effect.points(base)
        if points != expected and not justification:
            x = effect.log_odds / math.log(base)
            message = (
                f"the points rule gives {expected} (ln({effect.text}) / ln({base:g}) = {x:.2f}), "
                f"not {points}: change the points or write a `justification`"
            )
            self.r.error(*where, message)

    def read_caps(self, top: YMap, factors: list[m.RiskFactor]) -> list[m.Cap]:
        r, result = self.r, []
        by_id = {f.id: f for f in factors}
        capped: dict[str, str] = {}
        for b, path, _ in r.blocks(top, "caps", ""):
            cid = r.ident(b, "id")
            if cid and not self.claim(cid, f"cap '{cid}'", b, path, "cap"):
                cid = None
            members = []
            for ref, ref_path, ref_line in r.items(b, "factors", path):
                if not isinstance(ref, str):
                    continue
                if ref not in by_id:
                    r.error(ref_line, ref_path, f"there is no risk factor {describe(ref)}")
                elif ref in capped:
                    r.error(ref_line, ref_path, f"'{ref}' is already in cap '{capped[ref]}'")
                else:
                    capped[ref] = cid or ""
                    members.append(ref)
            axes = {by_id[f].axis for f in members}
            if len(axes) > 1:
                message = "a cap's factors must all be on one axis"
                r.error(b.key_lines["factors"], join(path, "factors"), message)
            label, cmax = r.text(b, "label", path), r.integer(b, "max", minimum=1)
            if None not in (cid, label, cmax) and members:
                result.append(m.Cap(cid, label, tuple(members), cmax))
        return result

    def when(self, b: YMap, path: str) -> m.Condition | None:
        return self.conditions.condition(b["when"], join(path, "when")) if "when" in b else None

    def read_evidence(self, b: YMap, path: str) -> tuple[m.Evidence, ...]:
        result = []
        for eb, e_path, _ in self.r.blocks(b, "evidence", path):
            ids = {key: str(eb[key]).strip() for key in ("doi", "pmid", "url") if key in eb}
            citation = self.r.text(eb, "citation", e_path)
            if ids and citation:
                result.append(m.Evidence(citation, **ids))
        return tuple(result)

    def read_red_flags(self, top: YMap) -> list[m.RedFlag]:
        r, result = self.r, []
        for b, path, line in r.blocks(top, "red_flags", ""):
            fid = r.ident(b, "id")
            if fid and not self.claim(fid, f"red flag '{fid}'", b, path, "flag"):
                fid = None
            urgency = b.get("urgency", "same_day")
            when = self.when(b, path)
            patient = r.text(b, "patient_message", path, patient=True)
            clinician = r.text(b, "clinician_message", path)
            self_harm = r.boolean(b, "self_harm", False)
            name = r.text(b, "title", path, required=False) or ""
            if None not in (fid, when, patient, clinician) and urgency in m.URGENCIES:
                result.append(
                    m.RedFlag(
                        fid, when, patient, clinician, urgency, line, self_harm=self_harm, name=name
                    )
                )
        return result

    def read_alerts(self, top: YMap, axes: list[m.Axis]) -> list[m.DomainAlert]:
        r, result = self.r, []
        for b, path, _ in r.blocks(top, "domain_alerts", ""):
            aid = r.ident(b, "id")
            if aid and not self.claim(aid, f"domain alert '{aid}'", b, path, "alert"):
                aid = None
            categories = [c for c, _, _ in r.items(b, "categories", path) if c in m.CATEGORIES]
            min_points = r.integer(b, "min_points", minimum=1)
            message = r.text(b, "clinician_message", path)
            axis = b.get("axis")
            if axis is not None and axis not in {a.id for a in axes}:
                r.error(
                    b.key_lines["axis"], join(path, "axis"), f"there is no axis {describe(axis)}"
                )
                continue
            when = self.when(b, path)
            counted = min_points is not None and (categories or axis)
            if None not in (aid, message) and (counted or when is not None):
                result.append(
                    m.DomainAlert(aid, tuple(categories), min_points, message, axis, when)
                )
        return result

    def read_tiers(self, top: YMap) -> list[m.Tier]:
        r, tiers, previous = self.r, [], -1
        entries = r.items(top, "tiers", "")
        for index, (b, path, _) in enumerate(entries):
            if not isinstance(b, YMap):
                continue
            tid = r.ident(b, "id")
            if tid and not self.claim(tid, f"tier '{tid}'", b, path, "tier"):
                tid = None
            last = index == len(entries) - 1
            tmax = r.integer(b, "max")
            if "axes" in top:
                if "max" in b:
                    message = "with axes, each axis gives the tiers' maxima (its tier_max)"
                    r.error(b.key_lines["max"], join(path, "max"), message)
                tmax = None
            elif last and "max" in b:
                r.error(
                    b.key_lines["max"],
                    join(path, "max"),
                    "the last tier has no max: it holds every total above the tier before it",
                )
            elif not last and "max" not in b:
                r.error(b.line, path, "every tier but the last needs a max (inclusive)")
            elif tmax is not None and tmax <= previous:
                r.error(
                    b.key_lines["max"],
                    join(path, "max"),
                    f"tiers must be in increasing order and must not overlap: {tmax} is not above "
                    f"{previous}, the max of the tier before",
                )
            if tmax is not None:
                previous = tmax
            if tid:
                label = r.text(b, "label", path, required=False)
                label = label or tid.replace("_", " ").capitalize()
                tiers.append(m.Tier(tid, label, None if last else tmax))
        return tiers


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
