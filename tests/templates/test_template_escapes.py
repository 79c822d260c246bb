"""Template escapes are refused when a template is saved, and again when one runs.

Each shape is checked twice: the save-time checks must report it, and the sandbox must refuse
it even when the checks are skipped (a template compiled straight from its source).
"""

from __future__ import annotations

import pytest

from helpdesk_core.errors import TemplateError
from helpdesk_core.templates import TemplateLimits, check_source, render_source

ESCAPES = {
    "class and mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "subscript form": "{{ ''['__class__']['__mro__'] }}",
    "built name": "{{ ''['__cla' ~ 'ss__'] }}",
    "globals of a function": "{{ range.__init__.__globals__ }}",
    "mro method": "{{ ticket.mro() }}",
    "attr filter, CVE-2025-27516": "{{ ticket.subject|attr('format') }}",
    "attr filter to dunder": "{{ ticket|attr('__class__') }}",
    "stored format, CVE-2024-56326": "{% set f = '{0.__class__}'.format %}{{ f(1) }}",
    "format method": "{{ '{0.__class__.__base__}'.format(ticket) }}",
    "format_map": "{{ '{x.__class__}'.format_map(ticket) }}",
    "format filter": "{{ '%s'|format(ticket) }}",
    "percent formatting": "{{ '%(a)s' % ticket }}",
    "map with attribute": "{{ [ticket]|map(attribute='__class__')|list }}",
    "map to filter by name": "{{ ['x']|map('attr', '__class__')|list }}",
    "selectattr": "{{ [ticket]|selectattr('__class__')|list }}",
    "sort by dunder": "{{ [ticket]|sort(attribute='__class__') }}",
    "self": "{{ self.__init__.__globals__ }}",
    "self internals": "{{ self._TemplateReference__context }}",
    "namespace": "{% set ns = namespace() %}{% set ns.x = 1 %}",
    "lipsum globals": "{{ lipsum.__globals__['os'] }}",
    "cycler": "{{ cycler.__init__.__globals__ }}",
    "joiner": "{{ joiner.__init__.__globals__ }}",
    "macro recursion": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "recursive loop": "{% for x in orders recursive %}{{ loop(x) }}{% endfor %}",
    "include": "{% include 'x' %}",
    "extends": "{% extends 'base' %}",
    "autoescape off": "{% autoescape false %}{{ customer.name }}{% endautoescape %}",
    "safe": "{{ customer.name|safe }}",
    "function frames": "{{ ticket.items.gi_frame }}",
}


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_the_checks_refuse_every_escape(source: str) -> None:
    problems = check_source(source)
    assert problems, source
    assert all(p.line == 1 for p in problems if p.line is not None)


CONTEXT = {"ticket": {"subject": "Rozbitá konvice", "number": "HD-1"},
           "customer": {"name": "Jana"}, "orders": [], "language": "cs"}


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_the_sandbox_refuses_every_escape_even_unchecked(source: str) -> None:
    with pytest.raises(TemplateError) as info:
        render_source(source, CONTEXT, part="html")
    assert info.value.problems


@pytest.mark.parametrize("name", ["{{7*7}}", "{% for x in range(10**9) %}x{% endfor %}",
                                  "{{ ''.__class__ }}", "<script>alert(1)</script>",
                                  "${7*7} #{7*7} %(x)s {0}"])
def test_customer_data_is_never_parsed_as_template_code(name: str) -> None:
    context = {**CONTEXT, "customer": {"name": name}}
    assert render_source("Dobrý den {{ customer.name }}", context) == f"Dobrý den {name}"
    assert render_source("{{ customer.name|upper|lower }}", context) == name.upper().lower()
    html = render_source("<p>{{ customer.name }}</p>", context, part="html")
    assert "<script>" not in html
    assert html.startswith("<p>")
    assert html.endswith("</p>")


def test_html_parts_escape_and_text_parts_do_not() -> None:
    context = {**CONTEXT, "customer": {"name": "Tom & Jerry <b>"}}
    assert render_source("{{ customer.name }}", context) == "Tom & Jerry <b>"
    assert (render_source("<b>{{ customer.name ~ '!' }}</b>", context, part="html")
            == "<b>Tom &amp; Jerry &lt;b&gt;!</b>")


def test_limits_are_respected_by_the_checks() -> None:
    tight = TemplateLimits(max_loop_depth=1, max_range=10)
    assert check_source("{% for a in orders %}{% for b in orders %}{% endfor %}{% endfor %}",
                        limits=tight)
    assert check_source("{% for i in range(11) %}{% endfor %}", limits=tight)
    assert not check_source("{% for i in range(10) %}{{ i }}{% endfor %}", limits=tight)
