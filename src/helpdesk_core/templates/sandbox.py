"""The sandbox templates run in, and the limits that stop a template that runs away.

Defence in depth: the save-time checks (:mod:`.checks`) refuse what a template may not do, and
this environment refuses it again at run time, so a check that missed something still cannot
reach Python internals:

* :class:`HelpdeskSandbox` is Jinja's ``ImmutableSandboxedEnvironment`` (no mutation of data,
  ``str.format`` caught) that also refuses every underscore attribute, ``mro`` and the
  ``format`` methods, and only knows the filters, tests and globals on the allow-lists.
* Every loop's iterable and every ``~`` concatenation is rewritten, before compilation, into a
  call of a guard; attribute lookups, calls and operators check the same budget. The budget
  holds a deadline in the rendering thread's CPU time (a loaded machine does not make an
  ordinary template fail) and a count of characters built, so a billion-step loop or a
  string doubled until memory runs out ends with :class:`RenderLimitExceeded`.
* ``range()`` is capped and ``**`` refuses results over the limits.
* Every operation that builds a value — a method of a plain value (``"x".center(n)``), an
  operator (``*``, ``+``), a filter (``|join``) — first computes from its arguments how large
  its result would be, from the table :data:`RESULT_SIZES`, and is refused with
  :class:`RenderLimitExceeded` naming it when that is over ``max_output`` (or the rendering's
  ``max_built``): the value is never allocated, however the template reached the store. A
  method of a plain value (text, number, list, mapping) that the table does not list is
  refused outright (``(1).to_bytes(10**9)``, ``"x".translate``).
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
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
    "RESULT_SIZES",
    "HelpdeskSandbox",
    "RenderLimitExceeded",
    "TemplateLimits",
    "budget",
    "compile_template",
    "environment",
]


@attrs.frozen
class TemplateLimits:
    """time_limit: seconds of the rendering thread's CPU time per rendered part; max_output:
    characters per rendered part; max_built: characters all string and list operations of one
    rendering may build together; max_range: the largest ``range()``; max_loop_depth: loops
    inside loops."""

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
        if time.thread_time() > self.deadline:
            raise RenderLimitExceeded(
                f"rendering took longer than {self.limits.time_limit:g} s and was stopped")

    def build(self, size: int, what: str = "a value") -> None:
        """Count a value of ``size`` characters that ``what`` is about to build; refused
        before it is built when it alone is over ``max_output`` or the rendering's total goes
        over ``max_built``."""
        self.tick()
        self.built += size
        if size > self.limits.max_output:
            raise RenderLimitExceeded(
                f"{what} would make a value of {size} characters, over the limit of "
                f"{self.limits.max_output}; refused")
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
        current = _Budget(self.limits, time.thread_time() + self.limits.time_limit)
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
    """Characters a value stands for once printed (an upper estimate for a list or a mapping
    printed with its quotes and commas, and for a long number)."""
    if isinstance(value, str):
        return len(value) + (4 if depth else 0)  # inside a list: quotes, comma, space
    if isinstance(value, bool) or value is None:
        return 8
    if isinstance(value, int):
        return value.bit_length() * 31 // 100 + 2  # decimal digits and the sign
    if isinstance(value, list | tuple | set | frozenset | range) and depth < 3:
        return 2 + sum(_size(item, depth + 1) + 2 for item in value)
    if isinstance(value, Mapping) and depth < 3:
        return 2 + sum(_size(k, depth + 1) + _size(v, depth + 1) + 4
                       for k, v in value.items())
    if isinstance(value, Sized):
        return 8 * (len(value) + 1)
    return 24


class HelpdeskSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the allow-lists and the budget checks."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, *, html: bool, limits: TemplateLimits) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True,
                         finalize=_finalize, auto_reload=False, cache_size=0)
        self.limits = limits
        self.filters = {name: _sized_filter(name, DEFAULT_FILTERS[name])
                        for name in ALLOWED_FILTERS}
        self.filters.update({
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
        current = _current()
        current.tick()
        receiver = getattr(obj, "__self__", None)
        if isinstance(receiver, _PLAIN) and callable(obj):
            name = f"{type(receiver).__name__}.{getattr(obj, '__name__', '?')}()"
            size_of = RESULT_SIZES.get(getattr(obj, "__name__", ""))
            if size_of is None:
                raise SecurityError(f"the method {name} is not allowed in templates")
            # An iterator argument (a reversed list) is read once, here, so that it can be
            # measured; the method gets the same items.
            args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
            current.build(size_of(receiver, args, kwargs), name)
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        current = _current()
        current.tick()
        if operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting with % is not allowed in templates")
        if operator == "**" and _too_big_power(left, right):
            raise RenderLimitExceeded(f"{left!r} ** {right!r} is too large")
        size_of = RESULT_SIZES.get(operator)
        if size_of is not None:
            current.build(size_of(left, (right,), {}), f"the operator {operator}")
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
    _current().build(sum(_size(p) for p in parts), "the operator ~")
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


# -- result sizes -----------------------------------------------------------------------------

# Values whose methods are measured before they run (or refused when the table lacks them).
_PLAIN = (str, bytes, bytearray, int, float, complex, list, tuple, dict, set, frozenset)

_Size = Callable[[Any, tuple[Any, ...], Mapping[str, Any]], int]
_PIECE = 8  # what one item of a list counts for, besides its text: a pointer, at least


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str,
         default: Any = None) -> Any:
    """An operation's argument, given by position or by keyword."""
    return args[index] if len(args) > index else kwargs.get(name, default)


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _length(value: Any) -> int:
    return len(value) if isinstance(value, Sized) else _size(value)


def _same(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """At most as long as the value itself (a trimmed, cut or sorted copy)."""
    return _length(value)


def _nothing(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """A number, a truth value, an item of the value or a view of it: nothing new to speak of."""
    return 0


def _padded(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``center``, ``ljust``, ``rjust`` and ``zfill``: the width asked for."""
    return max(_number(_arg(args, kwargs, 0, "width", 0)), _length(value))


def _cased(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``upper`` and ``lower``: a character becomes up to three ("ß" → "SS", "ﬃ" → "FFI");
    plain ASCII text keeps its length."""
    text = value if isinstance(value, str) else ""
    return len(text) if text.isascii() else 3 * len(text)


def _titled(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``title``, ``capitalize``, ``swapcase``, ``casefold``: Python works on room for three
    characters per character, ASCII or not."""
    return 3 * len(value) if isinstance(value, str) else 0


def _tabs(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``expandtabs``: every tab becomes up to ``tabsize`` spaces."""
    text = value if isinstance(value, str) else ""
    tabsize = max(_number(_arg(args, kwargs, 0, "tabsize", 8)), 1)
    return len(text) + text.count("\t") * tabsize


def _replaced(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``replace`` (method and filter): each occurrence of ``old`` replaced by ``new``."""
    text, old, new = str(value), str(_arg(args, kwargs, 0, "old", "")), \
        str(_arg(args, kwargs, 1, "new", ""))
    hits = text.count(old) if old else len(text) + 1
    count = _arg(args, kwargs, 2, "count", None)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def _joined(items: Any, separator: Any) -> int:
    between = len(separator) if isinstance(separator, str) else _size(separator)
    if isinstance(items, str):  # one item per character
        return len(items) + between * max(len(items) - 1, 0)
    parts = list(items) if isinstance(items, Iterable) else []
    return sum(_size(p) for p in parts) + between * max(len(parts) - 1, 0)


def _join_method(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``separator.join(items)``."""
    return _joined(_arg(args, kwargs, 0, "iterable", ()), value)


def _join_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``items|join(separator)``."""
    return _joined(value, _arg(args, kwargs, 0, "d", ""))


def _pieces(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``split``: the text again, and an item for each piece."""
    text = value if isinstance(value, str) else ""
    separator = _arg(args, kwargs, 0, "sep", None)
    pieces = text.count(separator) + 1 if isinstance(separator, str) and separator \
        else len(text) // 2 + 1
    limit = _arg(args, kwargs, 1, "maxsplit", -1)
    if isinstance(limit, int) and limit >= 0:
        pieces = min(pieces, limit + 1)
    return len(text) + _PIECE * pieces


def _items(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """A list of the value's items (``|list`` of a text: one item per character)."""
    return _PIECE * (len(value) + 1) if isinstance(value, Sized) else 0


def _escaped(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """HTML escaping: ``&`` and quotes become five characters, ``<`` and ``>`` four."""
    text = value if isinstance(value, str) else str(_size(value))
    return len(text) + sum(text.count(c) * extra for c, extra in _ESCAPES)


_ESCAPES = (("&", 4), ("<", 3), (">", 3), ('"', 4), ("'", 4))


def _printed(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``|string``: the value written out."""
    return _size(value)


def _repeated(left: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``*``: a text or list times a whole number (either way round)."""
    right = args[0]
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(times, int):
            return _size(sequence) * max(times, 0)
    return 0


def _added(left: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``+`` of two texts or two lists."""
    return _size(left) + _size(args[0]) if isinstance(left, str | list | tuple) else 0


#: How large the result of each operation would be, computed from its arguments before it
#: runs: methods of plain values by name, filters as ``|name``, operators by their sign.
#: A method of a plain value missing here is refused; a filter missing here builds nothing
#: larger than its input (``|length``, ``|first``) or is a local one that counts itself.
RESULT_SIZES: Mapping[str, _Size] = {
    # methods
    "center": _padded, "ljust": _padded, "rjust": _padded, "zfill": _padded,
    "expandtabs": _tabs, "replace": _replaced, "join": _join_method, "split": _pieces,
    "rsplit": _pieces,
    "upper": _cased, "lower": _cased, "title": _titled, "capitalize": _titled,
    "swapcase": _titled, "casefold": _titled,
    "strip": _same, "lstrip": _same, "rstrip": _same, "removeprefix": _same,
    "removesuffix": _same,
    "startswith": _nothing, "endswith": _nothing, "count": _nothing, "find": _nothing,
    "rfind": _nothing, "index": _nothing, "isdigit": _nothing, "isalpha": _nothing,
    "isspace": _nothing, "isupper": _nothing, "islower": _nothing, "get": _nothing,
    "items": _nothing, "keys": _nothing, "values": _nothing,
    # filters
    "|replace": _replaced, "|join": _join_filter, "|upper": _cased, "|lower": _cased,
    "|title": _titled, "|capitalize": _titled, "|trim": _same, "|truncate": _same,
    "|striptags": _same, "|e": _escaped, "|escape": _escaped, "|string": _printed,
    "|list": _items, "|sort": _items, "|reverse": _items, "|unique": _items,
    "|items": _items, "|dictsort": _items,
    # operators
    "*": _repeated, "+": _added,
}


def _sized_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (a Jinja filter) measured by :data:`RESULT_SIZES` before it runs."""
    size_of = RESULT_SIZES.get(f"|{name}")
    if size_of is None:
        return function
    # Jinja passes the context, eval context or environment first to a filter marked so.
    skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)  # keeps the mark (``jinja_pass_arg``) too
    def sized(*args: Any, **kwargs: Any) -> Any:
        value, rest = args[skip], args[skip + 1:]
        if isinstance(value, Iterator):  # read once, measured, handed on
            value = list(value)
            args = (*args[:skip], value, *rest)
        _current().build(size_of(value, rest, kwargs), f"the filter |{name}")
        return function(*args, **kwargs)

    return sized


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

