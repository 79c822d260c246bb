"""Acceptance: for at least 80 % of the benchmark's tickets that have an answer, the
answering article is among the first three suggestions (measured: see docs/benchmarks.md)."""

from __future__ import annotations

from kb_benchmark import articles, measure, tickets


def test_the_fixture_set_is_what_the_benchmark_says() -> None:
    found = articles()
    assert len(found) == 50
    assert {a.language for a in found} == {"cs", "de", "sk", "en", "any"}
    rows = tickets()
    assert len(rows) == 200
    assert {language for language, *_ in rows} == {"cs", "de", "sk", "en"}
    keys = {a.key for a in found}
    assert {expected for _, expected, *_ in rows} - {None} == keys  # every article answers
    assert sum(1 for _, expected, *_ in rows if expected is None) >= 10


def test_the_right_article_is_in_the_top_three_for_four_tickets_in_five() -> None:
    result = measure(top=3)
    print(f"top-3 hit rate {result.hits}/{result.answered} = {result.rate:.1%}")
    assert result.rate >= 0.8, result.misses
