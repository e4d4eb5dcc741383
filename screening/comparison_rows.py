"""A re-scoring's comparison as the pages show it (the staff's re-scoring of a stored screening,
the preview's draft against the version in force): a row per risk factor and per instrument of
either assessment. Pure: no Flask, no database."""

from __future__ import annotations

from typing import Any

from .scoring import Assessment

MARKERS = {"same": "Same", "added": "Added", "removed": "Removed", "changed": "Points changed"}


def factor_rows(original: Assessment, rescored: Assessment) -> list[dict[str, Any]]:
    """A row per risk factor that applies under either version, as the comparison pages show
    it: its points under each and what changed (`kind`, and `marker` in words)."""
    before = {r.factor.id: r.factor for r in original.factors}
    after = {r.factor.id: r.factor for r in rescored.factors}
    rows = []
    for factor_id in [*before, *(i for i in after if i not in before)]:
        old, new = before.get(factor_id), after.get(factor_id)
        if old is None:
            kind = "added"
        elif new is None:
            kind = "removed"
        else:
            kind = "same" if old.points == new.points else "changed"
        rows.append(
            {
                "label": (new or old).label,
                "category": (new or old).category.replace("_", " "),
                "before": old.points if old else None,
                "after": new.points if new else None,
                "kind": kind,
                "marker": MARKERS[kind],
            }
        )
    return rows


def instrument_rows(original: Assessment, rescored: Assessment) -> list[dict[str, Any]]:
    """A row per instrument of either version: its score and band under each, and whether they
    are the same."""

    def text(r: Any) -> str:
        if r is None:
            return "Not in this version"
        return f"{r.score} ({r.band})" if r.score is not None else "Incomplete"

    ids = [
        *original.instruments,
        *(i for i in rescored.instruments if i not in original.instruments),
    ]
    rows = []
    for instrument_id in ids:
        old, new = original.instruments.get(instrument_id), rescored.instruments.get(instrument_id)
        same = (
            old is not None and new is not None and (old.score, old.band) == (new.score, new.band)
        )
        rows.append(
            {"label": (new or old).instrument.label, "before": text(old), "after": text(new),
             "same": same}
        )  # fmt: skip
    return rows
