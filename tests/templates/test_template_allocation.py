"""No single operation in a template allocates more than the output cap, however the template
reached the store (issue 12): each operation's result size is computed from its arguments
(``sandbox.RESULT_SIZES``) before it runs, and an operation over the cap is refused by name.
Ordinary templates — the built-in ones among them — render exactly as Jinja renders them."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.errors import TemplateError
from helpdesk_core.templates import DEFAULT_TEMPLATES, TemplateLimits, render_source
from helpdesk_core.templates.sandbox import RESULT_SIZES, budget, environment

PEAK = 20_000_000  # bytes a refused attack may allocate at most, all of the rendering included
BIG = 300_000_000
HTML_ONLY = {"|e", "|escape"}

# (template, what the error names): each would allocate hundreds of megabytes if it ran.
ATTACKS = [
    ('{{ "x".center(300000000) }}', "str.center()"),
    ('{{ "x".ljust(300000000) }}', "str.ljust()"),
    ('{{ "x".rjust(n) }}', "str.rjust()"),
    ('{{ "1".zfill(300000000) }}', "str.zfill()"),
    ('{{ "x".center(100000000, "y") }}', "str.center()"),
    ('{{ "ab" * 10**8 }}', "the operator *"),
    ('{{ 10**8 * ["ab"] }}', "the operator *"),
    ('{{ ("ab" * 400000) + ("ab" * 400000) }}', "the operator +"),
    ('{{ "{:>300000000}".format(1) }}', "'format'"),
    ('{{ "%300000000s" % 1 }}', "formatting with %"),
    ('{{ ",".join(range(10**8)) }}', "range()"),
    ('{{ ("x" * 999999).join("ab" * 400000) }}', "str.join()"),
    ('{{ ("ab" * 400000)|join("x" * 100) }}', "the filter |join"),
    ('{{ ("ab" * 400000).replace("a", "aaaaaaaaaa") }}', "str.replace()"),
    ('{{ ("ab" * 400000)|replace("a", "aaaaaaaaaa") }}', "the filter |replace"),
    ('{{ ("\t" * 1000).expandtabs(10**8) }}', "str.expandtabs()"),
    ("{{ range(10**9)|list }}", "range()"),
    ('{{ ("ab" * 400000).split("a") }}', "str.split()"),
    ('{{ ("x " * 400000).split() }}', "str.split()"),
    ('{{ ("ß" * 900000).upper() }}', "str.upper()"),
    ('{{ ("x" * 900000).title() }}', "str.title()"),
    ('{{ ("x" * 900000)|title }}', "the filter |title"),
    ('{{ ("x" * 900000)|list }}', "the filter |list"),
    ("{{ {'a': 'x' * 999999}|string }}", "the filter |string"),
    ('{{ "x" ~ ("y" * 900000) ~ ("z" * 900000) }}', "the operator ~"),
    ('{{ (1).to_bytes(10**9, "big") }}', "int.to_bytes()"),
    ('{{ ("x" * 999999).encode("utf-32") }}', "str.encode()"),
    ('{{ "x".translate({120: "y" * 999999}) * 2 }}', "str.translate()"),
    ('{{ "x"|center(300000000) }}', "center"),
    ('{{ "x\ny"|indent(width=10**8) }}', "indent"),
    ('{{ "x y"|wordwrap(10**8) }}', "wordwrap"),
    ('{{ ("x" * 900000)|truncate(10**8) ~ ("x" * 900000) }}', "the operator ~"),
]


def _peak(render: Callable[[], object]) -> tuple[int, object]:
    """Peak bytes allocated while ``render`` ran, and what it returned or raised."""
    tracemalloc.start()
    try:
        try:
            outcome: object = render()
        except TemplateError as error:
            outcome = error
        return tracemalloc.get_traced_memory()[1], outcome
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("source", "named"), ATTACKS, ids=[a[1] + ":" + a[0][3:30]
                                                            for a in ATTACKS])
def test_each_attack_is_refused_by_name_before_it_allocates(source: str, named: str) -> None:
    peak, outcome = _peak(lambda: render_source(source, {"n": BIG}))
    assert isinstance(outcome, TemplateError), outcome
    assert named in str(outcome)
    assert peak < PEAK, f"{peak / 1e6:.1f} MB"


def test_the_error_says_how_large_the_value_would_be_and_the_limit() -> None:
    with pytest.raises(TemplateError) as refused:
        render_source('{{ "x".center(300000000) }}', {})
    assert str(refused.value).endswith(
        "str.center() would make a value of 300000000 characters, over the limit of "
        "1000000; refused")
    assert refused.value.problems[0].line == 1


def test_the_cap_is_the_output_limit_that_is_set() -> None:
    limits = TemplateLimits(max_output=100)
    assert render_source('{{ "x".center(100) }}', {}, limits=limits) == " " * 49 + "x" + " " * 50
    with pytest.raises(TemplateError, match=r"str\.center"):
        render_source('{{ "x".center(101)|length }}', {}, limits=limits)


# -- composed ---------------------------------------------------------------------------------

SIZES = st.sampled_from([0, 3, 80, 5_000, 400_000, 10**6, 10**8, 10**9])
_STEPS: list[Callable[[Any], st.SearchStrategy[str]]] = [
    lambda e: SIZES.map(lambda n: f"({e}).center({n})"),
    lambda e: SIZES.map(lambda n: f"({e}).ljust({n}, '-')"),
    lambda e: SIZES.map(lambda n: f"({e}).zfill({n})"),
    lambda e: SIZES.map(lambda n: f"({e}) * {n}"),
    lambda e: SIZES.map(lambda n: f"[{e}] * {n}"),
    lambda e: SIZES.map(lambda n: f"({e}).expandtabs({n})"),
    lambda e: st.just(f"({e}) ~ ({e})"),
    lambda e: st.just(f"({e}) + ({e})"),
    lambda e: st.just(f"({e}).replace('x', 'xxxxxxxxxx')"),
    lambda e: st.just(f"({e})|replace('', '--')"),
    lambda e: st.just(f"({e})|join(',')"),
    lambda e: st.just(f"'ab'.join({e})"),
    lambda e: st.just(f"({e}).split('x')"),
    lambda e: st.just(f"({e})|list"),
    lambda e: st.just(f"({e})|string"),
    lambda e: st.just(f"({e}).upper()"),
    lambda e: st.just(f"({e})|title"),
    lambda e: st.just(f"({e})|truncate(50)"),
]


@st.composite
def _composed(draw: st.DrawFn) -> str:
    expression = draw(st.sampled_from(["'x'", "'\t'", "'ab x'", "'ß'", "''"]))
    for _ in range(draw(st.integers(1, 4))):
        expression = draw(draw(st.sampled_from(_STEPS))(expression))
    return "{{ " + expression + " }}"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_composed())
def test_composed_operations_stay_small_or_are_refused(source: str) -> None:
    limits = TemplateLimits(time_limit=5.0)
    peak, outcome = _peak(lambda: render_source(source, {}, limits=limits))
    assert isinstance(outcome, str | TemplateError), outcome
    if isinstance(outcome, str):
        assert len(outcome) <= limits.max_output
    assert peak < PEAK, f"{source}: {peak / 1e6:.1f} MB"


# -- ordinary templates render as before ---------------------------------------------------------


def _reference(source: str, context: dict[str, Any], *, html: bool) -> str:
    """``source`` rendered by Jinja's own immutable sandbox with the same filters, tests,
    globals and finalize, without any measuring."""
    ours = environment(html=html, limits=TemplateLimits())
    plain = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=html,
                                          keep_trailing_newline=True, finalize=ours.finalize)
    plain.filters = {name: getattr(f, "__wrapped__", f) for name, f in ours.filters.items()}
    plain.tests = dict(ours.tests)
    plain.globals = dict(ours.globals)
    with budget(TemplateLimits()):  # the local filters count what they write
        return plain.from_string(source).render(context)


@pytest.fixture
def context(helpdesk: Helpdesk) -> dict[str, Any]:
    ticket = helpdesk.tickets.open_from_web_form({
        "email": "jana@example.cz", "name": "Jana Nováková", "subject": "Konvice <netopí>",
        "message": "Dobrý den,\nkonvice & víko nefungují.", "order_number": "2026-00042"})
    agent = Actor.agent("eva", "Eva Svobodová")
    return helpdesk.templates.context(ticket.number, language="cs", agent=agent)


@pytest.mark.parametrize("template", DEFAULT_TEMPLATES,
                         ids=[f"{t.key}-{t.language}" for t in DEFAULT_TEMPLATES])
def test_the_default_templates_render_as_jinja_renders_them(template: Any,
                                                             context: dict[str, Any]) -> None:
    for part, source in template.parts():
        expected = _reference(source, context, html=part == "html")
        assert render_source(source, context, part=part) == expected, part


ORDINARY = [
    "{{ customer.name.upper() }} {{ ticket.subject|title }} {{ 'x'.center(9, '*') }}",
    "{{ ticket.subject.split()|join(', ') }} {{ ('ab' * 3)|replace('a', 'A') }}",
    "{{ ['a', 'b'] + ['c'] }} {{ [1, 2] * 2 }} {{ 'č' ~ 'ř' * 3 }} {{ 'ß'.upper() }}",
    "{{ ticket.number.ljust(20, '.') }}|{{ '7'.zfill(4) }}|{{ 'a\tb'.expandtabs(4) }}",
    "{% for word in ticket.subject.split() %}{{ loop.index }}={{ word|lower }};{% endfor %}",
    "{{ (ticket.subject|list)|reverse|join }} {{ {'a': 1}|dictsort|string }}",
    "{{ ticket.subject|truncate(12) }} {{ '  x  '.strip() }} {{ 'a,b'.rsplit(',', 1) }}",
]


@pytest.mark.parametrize("source", ORDINARY)
@pytest.mark.parametrize("html", [False, True])
def test_ordinary_operations_render_as_jinja_renders_them(source: str, html: bool,
                                                           context: dict[str, Any]) -> None:
    assert render_source(source, context, part="html" if html else "text") == \
        _reference(source, context, html=html)


def test_every_filter_in_the_table_is_one_the_sandbox_has() -> None:
    filters = environment(html=False, limits=TemplateLimits()).filters
    measured = {name[1:] for name in RESULT_SIZES if name.startswith("|")}
    assert measured <= set(filters)
    assert all(hasattr(filters[name], "__wrapped__") for name in measured)
    assert set(RESULT_SIZES) >= HTML_ONLY
