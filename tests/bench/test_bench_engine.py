"""Benchmarks of the engine (run with `pytest tests/bench --benchmark-only`).

Targets, read from the report and not asserted: scoring a complete answer set < 1 ms (median);
loading and linting the shipped file from disk, without the in-process cache, < 200 ms.
Each benchmark checks that what it timed gave the right result.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.definition import load_path
from screening.definition.lint import lint
from screening.definition.load import _load_cached
from screening.scoring import score

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini.yaml"
SHIPPED = ROOT / "questionnaires" / "fbss-preop.yaml"

MINI_EVERYTHING = {"surgery_type": "fusion", "levels": 3, "prior": True, "prior_count": 2,
                   "height": 160, "weight": 100, "regions": ["neck"], "m1": 3, "m2": 3}


def shipped():
    if not SHIPPED.exists():
        pytest.skip(f"{SHIPPED} is not written yet")
    return load_path(SHIPPED)


def realistic_example(q):
    """The shipped example that is a complete answer set with the most factors: a realistic
    patient written by the questionnaire's authors, with the total they expect."""
    complete = [
        e for e in q.examples
        if "total" in e.expect and score(q, e.answers).complete
    ]
    assert complete, "the shipped questionnaire has a complete example with an expected total"
    return max(complete, key=lambda e: (len(score(q, e.answers).factors), len(e.answers)))


def scored_with_points(q, answers):
    """`score`, and its points (worked out when first asked for), as a PDF or export reads it."""
    result = score(q, answers)
    assert result.tier and result.domain_alerts is not None
    return result


def test_bench_score_shipped(benchmark):
    q = shipped()
    example = realistic_example(q)
    result = benchmark(scored_with_points, q, example.answers)
    assert result.complete
    assert result.errors == {}
    assert result.total == example.expect["total"]
    if "tier" in example.expect:
        assert result.tier.id == example.expect["tier"]
    if "factors" in example.expect:
        assert sorted(r.id for r in result.factors) == sorted(example.expect["factors"])
    assert result.total == sum(r.points for r in result.factors)


def test_bench_score_mini(benchmark):
    q = load_path(MINI)
    result = benchmark(scored_with_points, q, MINI_EVERYTHING)
    assert result.complete
    assert result.total == 10
    assert result.tier.id == "high"


def load_and_lint(path: Path):
    _load_cached.cache_clear()
    return lint(path)


def test_bench_load_and_lint_shipped(benchmark):
    q = shipped()
    result = benchmark(load_and_lint, SHIPPED)
    assert result.ok, [str(p) for p in result.problems]
    assert result.questionnaire is not None
    assert result.questionnaire.id == q.id == "fbss-preop"
    assert result.questionnaire.score_range == q.score_range
    assert result.questionnaire.content_hash == q.content_hash
    assert f"{SHIPPED}: fbss-preop {q.version}: OK" in result.summary()
    # the cache was cleared for the round: one load, no hit
    info = _load_cached.cache_info()
    assert (info.hits, info.misses) == (0, 1)


def test_bench_load_and_lint_mini(benchmark):
    result = benchmark(load_and_lint, MINI)
    assert result.ok
    assert result.summary().splitlines()[2] == "  total score: lowest 0, highest 10"
    info = _load_cached.cache_info()
    assert (info.hits, info.misses) == (0, 1)
