"""A template that runs away is stopped: time limit, output cap, size of built values."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from helpdesk_core.errors import TemplateError
from helpdesk_core.templates import TemplateLimits, check_source, render_source

FAST = TemplateLimits(time_limit=0.5)


def refused(source: str, context: dict[str, object] | None = None,
            limits: TemplateLimits = FAST) -> TemplateError:
    started = time.monotonic()
    with pytest.raises(TemplateError) as info:
        render_source(source, context or {}, limits=limits)
    assert time.monotonic() - started < limits.time_limit + 2
    return info.value


def test_a_billion_iteration_loop_hits_the_time_limit() -> None:
    source = ("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
              "{% endfor %}{% endfor %}{% endfor %}")
    assert check_source(source) == []  # each range is small; the product is not
    error = refused(source)
    assert "longer than 0.5 s" in str(error)
    assert error.problems[0].line == 1


def test_a_loop_over_a_billion_numbers_is_refused() -> None:
    assert check_source("{% for i in range(1000000000) %}{% endfor %}")
    error = refused("{% for i in range(n) %}{% endfor %}", {"n": 10**9})
    assert "range()" in str(error)


def test_silent_loops_over_data_also_stop() -> None:
    numbers = list(range(5000))
    error = refused("{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}"
                    "{% endfor %}{% endfor %}", {"xs": numbers})
    assert "longer than" in str(error)


def test_fifty_megabytes_of_output_are_cut_off_with_an_error() -> None:
    limits = TemplateLimits(time_limit=5.0)
    chunk = "x" * 5000
    error = refused("{% for i in range(10000) %}{{ chunk }}{% endfor %}", {"chunk": chunk},
                    limits)
    assert "output is longer than 1000000 characters" in str(error)


def test_a_fifty_megabyte_value_is_never_built() -> None:
    for source in ("{{ 'x' * 50000000 }}", "{{ ['x'] * 50000000 }}",
                   "{{ 'x' * 1000000 ~ 'y' }}", "{{ ('ab' * 400000)|replace('a', 'aaaaaa') }}"):
        error = refused(source, limits=TemplateLimits())
        assert "over the limit" in str(error) or "built more than" in str(error), source


def test_doubling_a_string_runs_into_the_build_limit() -> None:
    doubling = "{% set s = 'x' * 1000 %}" + "{% set s = s ~ s %}" * 30 + "{{ s|length }}"
    assert check_source(doubling) == []
    error = refused(doubling, limits=TemplateLimits())
    assert "characters" in str(error)


def test_huge_powers_are_refused() -> None:
    assert check_source("{{ 2 ** 1000 }}")
    refused("{{ n ** n ** n }}", {"n": 99})
    assert render_source("{{ 2 ** 10 }}", {}) == "1024"


def test_percent_on_text_is_refused_at_run_time_too() -> None:
    refused("{{ x % 1 }}", {"x": "%s"})
    assert render_source("{{ x % 3 }}", {"x": 10}) == "1"


def test_limits_can_be_set() -> None:
    small = TemplateLimits(max_output=10)
    assert render_source("{{ 'x' * 10 }}", {}, limits=small) == "x" * 10
    refused("{{ 'x' * 6 }}{{ 'y' * 6 }}", limits=small)


def test_errors_name_the_line() -> None:
    error = refused("line one\nline two\n{{ missing.value }}", {})
    assert error.problems[0].line == 3
    assert error.problems[0].part == "text"


def test_deep_nesting_is_refused_not_a_crash() -> None:
    for source in ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
                   "{% if 1 %}" * 3000 + "x" + "{% endif %}" * 3000):
        assert [p.message for p in check_source(source)] == ["nested too deeply"]
        assert "nested too deeply" in str(refused(source))


def test_what_the_date_and_number_filters_write_counts_against_the_build_limit() -> None:
    # A short pattern that names long formats many times writes far more than it is long.
    limits = TemplateLimits(max_built=5000)
    now = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    error = refused("{{ now|date('LLLL' * 200) }}", {"now": now}, limits)
    assert "built more than 5000" in str(error)
    error = refused("{% for i in range(1000) %}{{ i|money('CZK') }}{% endfor %}", {}, limits)
    assert "built more than 5000" in str(error)
    assert render_source("{{ now|date('LL') }}", {"now": now}, limits=limits) == "7 December 2026"


def test_a_number_too_long_to_write_is_refused_before_it_is_written() -> None:
    for value in ("1E+999999999", "-1E+999999999", 10**1000):
        started = time.monotonic()
        assert "too large" in str(refused("{{ n|number }}", {"n": value}))
        assert time.monotonic() - started < 0.5
    assert render_source("{{ n|number }}", {"n": "1E-999999999"}) == "0"
