"""A re-scoring's comparison as `screening rescore` prints it for people."""

from __future__ import annotations

from ..rescoring import Comparison


def _score(score_: int | None, band: str | None) -> str:
    return "no score" if score_ is None else f"{score_} ({band})"


def _points(n: int) -> str:
    return f"{n} point{'s' if n != 1 else ''}"


def format_text(c: Comparison) -> str:
    """The comparison for a terminal: every difference on a line of its own, marked in words."""
    lines = [
        f"Answered under: {c.before.name} ({c.before.content_hash[:12]})",
        f"Re-scored under: {c.after.name} ({c.after.content_hash[:12]})",
    ]
    if c.same_definition:
        lines.append(
            f"The current version ({c.after.version}) is the one this screening was answered under."
        )
        return "\n".join(lines)
    lines.append("")

    def row(what: str, old: str, new: str, differs: bool) -> None:
        marker = "CHANGED" if differs else "same"
        lines.append(f"{what + ':':<18} {old} -> {new}  [{marker}]")

    row("Risk tier", c.tier_before.text, c.tier_after.text, c.tier_changed)
    for label, old, new in c.axis_rows:

        def shown(axis):
            if axis is None:
                return "not in this version"
            return f"{axis.tier.text}, {axis.points} of {axis.max}"

        row(label, shown(old), shown(new), old != new)
    row(
        "Points",
        f"{c.total_before} of {c.max_before}",
        f"{c.total_after} of {c.max_after}",
        c.total_changed,
    )
    row(
        "Modifiable",
        str(c.modifiable_before),
        str(c.modifiable_after),
        c.modifiable_before != c.modifiable_after,
    )
    row(
        "Red flags",
        ", ".join(c.red_flags_before) or "none",
        ", ".join(c.red_flags_after) or "none",
        bool(c.red_flags_added or c.red_flags_removed),
    )
    row(
        "Complete",
        "yes" if c.complete_before else "no",
        "yes" if c.complete_after else "no",
        c.complete_before != c.complete_after,
    )

    def section(title: str, items: list[str]) -> None:
        if items:
            lines.append("")
            lines.append(title)
            lines.extend(f"  {item}" for item in items)

    section(
        "Risk factors added (apply under the new version only):",
        [f"+ {f.label} [{f.id}]: +{_points(f.points_after or 0)}" for f in c.factors_added],
    )
    section(
        "Risk factors removed (applied under the original version only):",
        [f"- {f.label} [{f.id}]: was {_points(f.points_before or 0)}" for f in c.factors_removed],
    )
    section(
        "Risk factors with changed points:",
        [
            f"~ {f.label} [{f.id}]: {f.points_before} -> {_points(f.points_after or 0)}"
            for f in c.factors_changed
        ],
    )
    section(
        "Red flags added:",
        [f"+ ! [{f.urgency}] {f.id}: {f.clinician_message}" for f in c.red_flags_added],
    )
    section(
        "Red flags removed:",
        [f"- ! [{f.urgency}] {f.id}: {f.clinician_message}" for f in c.red_flags_removed],
    )
    section(
        "Instruments:",
        [
            f"~ {i.label}: "
            f"{_score(i.score_before, i.band_before) if i.in_before else 'not in this version'}"
            f" -> {_score(i.score_after, i.band_after) if i.in_after else 'not in this version'}"
            for i in c.instruments_changed
        ],
    )
    section("Notes added:", [f"+ {a.id}: {a.clinician_message}" for a in c.domain_alerts_added])
    section("Notes removed:", [f"- {a.id}: {a.clinician_message}" for a in c.domain_alerts_removed])
    section(
        "Questions the new version asks that were never answered:",
        [
            f"? {r.id} ({'required' if r.required else 'optional'}, {r.step_title}): {r.label}"
            for r in c.never_asked
        ],
    )
    section(
        "Answered questions the new version no longer has:",
        [f"x {r.id} ({r.step_title}): {r.label}" for r in c.no_longer_asked],
    )
    section(
        "Answered questions the new version would not show (their answers are ignored):",
        [f"x {r.id} ({r.step_title}): {r.label}" for r in c.no_longer_shown],
    )
    section(
        "Answers the new version cannot use:",
        [f"! {r.id} ({r.step_title}): {r.detail}" for r in c.unusable_answers],
    )
    if not c.changed:
        lines.append("")
        lines.append("No difference: the new version gives this screening the same result.")
    return "\n".join(lines)
