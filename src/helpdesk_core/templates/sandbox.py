"""The sandbox templates run in, and the limits that stop a template that runs away.

Defence in depth: the save-time checks (:mod:`.checks`) refuse what a template may not do, and
this environment refuses it again at run time, so a check that missed something still cannot
reach Python internals:

* :class:`HelpdeskSandbox` is Jinja's ``ImmutableSandboxedEnvironment`` (no mutation of data,
  ``str.format`` caught) that also refuses every underscore attribute, ``mro`` and the
  ``format`` methods, and only knows the filters, tests and globals on the allow-lists.
* Every loop's iterable and every ``~`` concatenation is rewritten, before compilation, into a
  call of a guard; attribute lookups, calls and operators check the same budget. The budget
  holds a wall-clock deadline and a count of characters built, so a billion-step loop or a
  string doubled until memory runs out ends with :class:`RenderLimitExceeded`.
* ``range()`` is capped and ``*``, ``+`` and ``**`` refuse results over the limits.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

import attrs
from jinja2 import StrictUndefined, Template, nodes, pass_context, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS as DEFAULT_TESTS
from jinja2.visitor import NodeTransformer

from helpdesk_core.templates.localise import (
    DEFAULT_CURRENCY,
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_percent,
    format_time,
)

__all__ = [
    "ALLOWED_FILTERS",
    "ALLOWED_METHODS",
    "ALLOWED_TESTS",
    "LOCAL_FILTERS",
    "REFUSED_ATTRIBUTES",
    "HelpdeskSandbox",
    "RenderLimitExceeded",
    "TemplateLimits",
    "budget",
    "compile_template",
    "environment",
]


@attrs.frozen
class TemplateLimits:
    """time_limit: seconds of wall-clock time per rendered part; max_output: characters per
    rendered part; max_built: characters all string and list operations of one rendering may
    build together; max_range: the largest ``range()``; max_loop_depth: loops inside loops."""

    time_limit: float = 1.0
    max_output: int = 1_000_000
    max_built: int = 10_000_000
    max_range: int = 10_000
    max_loop_depth: int = 3


class RenderLimitExceeded(Exception):
    """A rendering ran past a limit and was stopped."""


# Filters from Jinja that take no attribute names or filter names as text (``map``,
# ``selectattr`` ... would look attributes up by a name the checks cannot see), do no
# %-formatting (``format``) and cannot mark customer data as safe HTML (``safe``).
ALLOWED_FILTERS = frozenset({
    "abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
    "int", "items", "join", "last", "length", "list", "lower", "max", "min", "replace",
    "reverse", "round", "sort", "string", "striptags", "sum", "title", "trim", "truncate",
    "unique", "upper", "wordcount",
})
# The helpdesk's own: dates, times and numbers in the template's language (see localise.py).
LOCAL_FILTERS = frozenset({"date", "datetime", "time", "number", "percent", "money"})
# Filters whose ``attribute=`` argument names a field: accepted as constant text only.
ATTRIBUTE_FILTERS = frozenset({"sort", "sum", "min", "max", "unique", "dictsort"})
ALLOWED_TESTS = frozenset({
    "boolean", "defined", "divisibleby", "eq", "equalto", "even", "false", "float", "ge",
    "greaterthan", "gt", "in", "integer", "iterable", "le", "lessthan", "lower", "lt",
    "mapping", "ne", "none", "number", "odd", "sequence", "string", "true", "undefined",
    "upper", "==", "!=", "<", "<=", ">", ">=",
})
# Methods of plain values a template may call; none of them can grow a value without bound.
ALLOWED_METHODS = frozenset({
    "upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith",
    "endswith", "split", "items", "keys", "values", "get",
})
# Attribute names refused on any object, besides every name starting with an underscore.
REFUSED_ATTRIBUTES = frozenset({
    "format", "format_map", "mro", "func_globals", "f_globals", "f_locals", "f_back",
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame",
    "im_func", "func_code",
})

_GUARD_ITER = "hd_guard_iter"
_GUARD_CONCAT = "hd_guard_concat"


@attrs.define
class _Budget:
    limits: TemplateLimits
    deadline: float
    built: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimitExceeded(
                f"rendering took longer than {self.limits.time_limit:g} s and was stopped")

    def build(self, size: int) -> None:
        self.tick()
        self.built += size
        if size > self.limits.max_output:
            raise RenderLimitExceeded(
                f"a value of {size} characters is over the limit of {self.limits.max_output}")
        if self.built > self.limits.max_built:
            raise RenderLimitExceeded(
                f"the template built more than {self.limits.max_built} characters")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "helpdesk_template_budget", default=None)


class budget:  # noqa: N801 - used like a function: ``with budget(limits):``
    """Give the code inside the block (one rendering) a fresh deadline and build count."""

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self._token: contextvars.Token[_Budget | None] | None = None

    def __enter__(self) -> _Budget:
        current = _Budget(self.limits, time.monotonic() + self.limits.time_limit)
        self._token = _BUDGET.set(current)
        return current

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _BUDGET.reset(self._token)


def _current() -> _Budget:
    current = _BUDGET.get()
    if current is None:  # compiled templates only ever run inside ``budget``
        raise RenderLimitExceeded("a template ran outside a rendering budget")
    return current


def _size(value: object, depth: int = 0) -> int:
    """Characters a value stands for once printed; estimated for nested sequences."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple) and depth < 3:
        return sum(_size(item, depth + 1) + 1 for item in value)
    return 8


class HelpdeskSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the allow-lists and the budget checks."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, *, html: bool, limits: TemplateLimits) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True,
                         finalize=_finalize, auto_reload=False, cache_size=0)
        self.limits = limits
        self.filters = {name: DEFAULT_FILTERS[name] for name in ALLOWED_FILTERS}
        self.filters.update({
            "replace": _replace,
            "join": _join,
            "date": _date_filter,
            "datetime": _datetime_filter,
            "time": _time_filter,
            "number": _number_filter,
            "percent": _percent_filter,
            "money": _money_filter,
            _GUARD_ITER: _guard_iter,
            _GUARD_CONCAT: _guard_concat,
        })
        self.tests = {name: DEFAULT_TESTS[name] for name in ALLOWED_TESTS}
        self.globals = {"range": functools.partial(_capped_range, limits.max_range)}

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """Refuse at once rather than hand out an undefined value that a filter may ignore."""
        raise SecurityError(f"access to attribute {attribute!r} of a "
                            f"{type(obj).__name__!r} value is not allowed")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if _refused(attr):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _current().tick()
        if _refused(attribute) and not (isinstance(obj, Mapping) and attribute in obj):
            # Checked before Jinja's own lookup, which hands out a wrapped ``str.format``.
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _current().tick()
        if (isinstance(argument, str) and _refused(argument)
                and not (isinstance(obj, Mapping) and argument in obj)):
            return self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _current().tick()
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        current = _current()
        current.tick()
        if operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting with % is not allowed in templates")
        if operator == "**" and _too_big_power(left, right):
            raise RenderLimitExceeded(f"{left!r} ** {right!r} is too large")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    current.build(_size(sequence) * max(times, 0))
        if operator == "+" and isinstance(left, str | list | tuple):
            current.build(_size(left) + _size(right))
        return super().call_binop(context, operator, left, right)


def _refused(name: str) -> bool:
    return name.startswith("_") or name in REFUSED_ATTRIBUTES


def _too_big_power(left: Any, right: Any) -> bool:
    if not isinstance(left, int | float) or not isinstance(right, int | float):
        return False
    if isinstance(right, float) or isinstance(left, float):
        return abs(right) > 1024
    return right > 0 and abs(left) > 1 and abs(left).bit_length() * right > 4096


def _capped_range(cap: int, *args: int) -> range:
    result = range(*args)
    if len(result) > cap:
        raise RenderLimitExceeded(f"range() of {len(result)} numbers is over the limit of {cap}")
    return result


def _guard_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    current = _current()
    for item in iterable:
        current.tick()
        yield item


@pass_eval_context
def _guard_concat(eval_ctx: EvalContext, parts: list[Any]) -> str:
    _current().build(sum(_size(str(p)) for p in parts))
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


@pass_eval_context
def _replace(eval_ctx: EvalContext, value: str, old: str, new: str,
             count: int | None = None) -> str:
    text, old_text = str(value), str(old)
    hits = text.count(old_text) if old_text else len(text) + 1
    if count is not None:
        hits = min(hits, max(count, 0))
    _current().build(len(text) + hits * max(len(str(new)) - len(old_text), 0))
    replaced: str = DEFAULT_FILTERS["replace"](eval_ctx, value, old, new, count)
    return replaced


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "",
          attribute: str | int | None = None) -> str:
    items = list(value)
    _current().build(_size(items) + len(d) * len(items))
    joined: str = DEFAULT_FILTERS["join"](eval_ctx, items, d, attribute)
    return joined


def _language(context: Context) -> str:
    value = context.get("language")
    return value if isinstance(value, str) else "en"


def _timezone(context: Context) -> str:
    value = context.get("timezone")
    return value if isinstance(value, str) else "UTC"


def _written(name: str, write: Callable[[], str]) -> str:
    """A local filter's text, counted against the budget; ``ValueError``s name the filter."""
    try:
        text = write()
    except (ValueError, TypeError, ArithmeticError, LookupError) as exc:
        raise ValueError(f"|{name}: {exc}") from exc
    _current().build(len(text))
    return text


@pass_context
def _date_filter(context: Context, value: Any, style: str = "long") -> str:
    if value is None:
        return ""
    return _written("date", lambda: format_date(
        value, language=_language(context), timezone=_timezone(context), style=str(style)))


@pass_context
def _time_filter(context: Context, value: Any, style: str = "short") -> str:
    if value is None:
        return ""
    return _written("time", lambda: format_time(
        value, language=_language(context), timezone=_timezone(context), style=str(style)))


@pass_context
def _datetime_filter(context: Context, value: Any, style: str = "long") -> str:
    if value is None:
        return ""
    return _written("datetime", lambda: format_datetime(
        value, language=_language(context), timezone=_timezone(context), style=str(style)))


@pass_context
def _number_filter(context: Context, value: Any, decimals: int | None = None) -> str:
    if value is None:
        return ""
    return _written("number", lambda: format_number(
        value, language=_language(context), decimals=decimals))


@pass_context
def _percent_filter(context: Context, value: Any, decimals: int | None = None) -> str:
    if value is None:
        return ""
    return _written("percent", lambda: format_percent(
        value, language=_language(context), decimals=decimals))


@pass_context
def _money_filter(context: Context, value: Any, currency: str | None = None) -> str:
    if value is None:
        return ""
    default = context.get("currency")
    return _written("money", lambda: format_money(
        value, currency, language=_language(context),
        default_currency=default if isinstance(default, str) else DEFAULT_CURRENCY))


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """What ``{{ x }}`` prints: nothing for none, dates written in the template's language."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return format_datetime(value, language=_language(context), timezone=_timezone(context))
    return value


class _Guards(NodeTransformer):
    """Rewrites loops and ``~`` to go through the budget-checking filters, and refuses the
    statements that recurse or switch escaping off, whether or not the checks ran."""

    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> nodes.Node:
        if isinstance(node, _REFUSED_NODES):
            raise SecurityError(f"{type(node).__name__} is not allowed in templates")
        return super().generic_visit(node, *args, **kwargs)

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 - visitor protocol
        if node.recursive:
            raise SecurityError("recursive loops are not allowed in templates")
        self.generic_visit(node)
        node.iter = _filter(node.iter, _GUARD_ITER, node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), _GUARD_CONCAT, node.lineno)


_REFUSED_NODES = (nodes.Macro, nodes.CallBlock, nodes.ScopedEvalContextModifier,
                  nodes.EvalContextModifier, nodes.Include, nodes.Import, nodes.FromImport,
                  nodes.Extends, nodes.Block)


def _filter(expression: nodes.Node, name: str, lineno: int) -> nodes.Filter:
    return nodes.Filter(expression, name, [], [], None, None, lineno=lineno)


@functools.lru_cache(maxsize=8)
def environment(*, html: bool, limits: TemplateLimits) -> HelpdeskSandbox:
    return HelpdeskSandbox(html=html, limits=limits)


@functools.lru_cache(maxsize=512)
def compile_template(source: str, *, html: bool, limits: TemplateLimits) -> Template:
    """Parse, put the guards in, compile. Cached: compiling costs a thousand renderings."""
    env = environment(html=html, limits=limits)
    tree = env.parse(source)
    _Guards().visit(tree)
    code = env.compile(tree)
    return env.template_class.from_code(env, code, env.make_globals(None))


def render_stream(template: Template, context: Mapping[str, Any],
                  limits: TemplateLimits) -> str:
    """Render chunk by chunk and stop at the output cap or the deadline."""
    parts: list[str] = []
    total = 0
    with budget(limits) as current:
        for chunk in template.generate(dict(context)):
            total += len(chunk)
            if total > limits.max_output:
                raise RenderLimitExceeded(
                    f"the output is longer than {limits.max_output} characters")
            current.tick()
            parts.append(chunk)
    return "".join(parts)

