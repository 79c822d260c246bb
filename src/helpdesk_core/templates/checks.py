"""The checks a template passes before it is stored.

The template is parsed and its syntax tree walked against allow-lists: which statements, which
filters and tests, which method calls, and which placeholders (the documented schema in
:mod:`.schema`, the host's globals, loop variables and names the template sets itself). Every
problem is reported with its line, not only the first.

What is refused, and why:

* names starting with an underscore, ``mro`` and the ``format``/``format_map`` methods, in
  ``a.b`` and ``a["b"]`` form: the first step of every known sandbox escape;
* the ``attr``, ``map``, ``select``, ``reject``, ``selectattr``, ``rejectattr`` and ``groupby``
  filters, which look attributes or filters up by a name given as text;
* ``format`` and ``%`` on text: printf-style formatting;
* ``safe``: customer data would become HTML;
* macros, call blocks, includes, imports, ``extends``, ``autoescape`` blocks, ``namespace``,
  ``self`` and recursive loops: recursion, reaching other templates or turning escaping off;
* calls other than ``range()`` and a few methods of plain values (:data:`ALLOWED_METHODS`);
* loops nested deeper than the limit, ``range()`` over more numbers than the limit, and
  ``**`` with a constant exponent over 100.

The sandbox refuses the same things again when the template runs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from jinja2 import TemplateSyntaxError, nodes

from helpdesk_core.domain.templates import MAX_TEMPLATE_SOURCE, MessageTemplate, TemplateProblem
from helpdesk_core.templates.localise import currency_problem, style_problem
from helpdesk_core.templates.sandbox import (
    ALLOWED_FILTERS,
    ALLOWED_METHODS,
    ALLOWED_TESTS,
    ATTRIBUTE_FILTERS,
    LOCAL_FILTERS,
    REFUSED_ATTRIBUTES,
    TemplateLimits,
    environment,
)
from helpdesk_core.templates.schema import LOOP, Shape, build_shapes

__all__ = ["check_source", "check_template"]

_REFUSED_FILTERS = {
    "attr": "the attr filter is refused: it looks attributes up by name",
    "map": "the map filter is refused: it applies filters and attributes named as text",
    "select": "the select filter is refused: it applies tests named as text",
    "reject": "the reject filter is refused: it applies tests named as text",
    "selectattr": "the selectattr filter is refused: it looks attributes up by name",
    "rejectattr": "the rejectattr filter is refused: it looks attributes up by name",
    "groupby": "the groupby filter is refused: it looks attributes up by name",
    "format": "the format filter is refused: no printf-style formatting in templates",
    "safe": "the safe filter is refused: customer data is always escaped in HTML",
    "forceescape": "the forceescape filter is not needed: HTML parts are escaped",
}
_REFUSED_NAMES = {
    "self": "'self' is refused: templates cannot reach their own internals",
    "namespace": "'namespace' is refused",
    "caller": "'caller' is refused: there are no macros",
    "varargs": "'varargs' is refused: there are no macros",
    "kwargs": "'kwargs' is refused: there are no macros",
    "lipsum": "'lipsum' is not available in templates",
    "cycler": "'cycler' is not available in templates",
    "joiner": "'joiner' is not available in templates",
    "dict": "'dict' is not available in templates",
}
_REFUSED_STATEMENTS = {
    nodes.Macro: "macros are refused: they allow recursion",
    nodes.CallBlock: "call blocks are refused",
    nodes.Include: "templates cannot include other templates",
    nodes.Import: "templates cannot import other templates",
    nodes.FromImport: "templates cannot import other templates",
    nodes.Extends: "templates cannot extend other templates",
    nodes.Block: "blocks are refused: templates do not extend each other",
    nodes.ScopedEvalContextModifier: "autoescape cannot be switched in a template",
    nodes.EvalContextModifier: "autoescape cannot be switched in a template",
    nodes.FilterBlock: "filter blocks are refused; apply filters to values",
}
_ANY = "any"
_MAX_POWER = 100


def _refused_name(name: str) -> bool:
    return name.startswith("_") or name in REFUSED_ATTRIBUTES


class _Checker:
    def __init__(self, part: str, names: Collection[str], limits: TemplateLimits) -> None:
        self.part = part
        self.limits = limits
        self.problems: list[TemplateProblem] = []
        root = build_shapes()
        root["range"] = Shape("range", "function")
        for name in names:
            root.setdefault(name, Shape(name))
        self.scopes: list[dict[str, Shape]] = [root]
        self.loop_depth = 0

    # -- helpers --------------------------------------------------------------------------

    def problem(self, node: nodes.Node, message: str) -> None:
        self.problems.append(TemplateProblem(self.part, getattr(node, "lineno", None), message))

    def lookup(self, name: str) -> Shape | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def bind(self, target: nodes.Node, shape: Shape | None) -> None:
        if isinstance(target, nodes.Name):
            if _refused_name(target.name):
                self.problem(target, f"the name {target.name!r} is refused")
            self.scopes[-1][target.name] = shape or Shape(target.name)
        elif isinstance(target, nodes.Tuple):
            for item in target.items:
                self.bind(item, None)
        elif isinstance(target, nodes.NSRef):
            self.problem(target, "namespace assignments are refused")
        else:
            self.problem(target, f"cannot assign to {type(target).__name__}")

    def member(self, node: nodes.Node, parent: Shape, name: str) -> Shape:
        if _refused_name(name):
            self.problem(node, f"the attribute {name!r} is refused")
            return Shape(name)
        shape = parent.member(name)
        if shape is not None:
            return shape
        if parent.kind == "object":
            self.problem(node, f"unknown placeholder '{parent.label}.{name}'")
        else:
            self.problem(node, f"'{parent.label}' has no field {name!r}")
        return Shape(f"{parent.label}.{name}")

    def check_attribute_argument(self, node: nodes.Filter) -> None:
        for keyword in node.kwargs:
            if keyword.key != "attribute":
                continue
            value = keyword.value
            if not isinstance(value, nodes.Const) or not isinstance(value.value, str | int):
                self.problem(node, f"the attribute of |{node.name} must be written as text")
            elif isinstance(value.value, str) and any(
                    _refused_name(part) for part in value.value.split(".")):
                self.problem(node, f"the attribute {value.value!r} is refused")

    def check_local_argument(self, node: nodes.Filter) -> None:
        """A style of ``date``, ``time`` or ``datetime`` and a currency of ``money`` written
        as text are checked now, so a misspelt one is refused when saved, not when sent."""
        names = {"date": "style", "datetime": "style", "time": "style", "money": "currency"}
        if node.name not in names:
            return
        argument = node.args[0] if node.args else next(
            (k.value for k in node.kwargs if k.key == names[node.name]), None)
        if not isinstance(argument, nodes.Const) or not isinstance(argument.value, str):
            return
        check = currency_problem if node.name == "money" else style_problem
        problem = check(argument.value)
        if problem:
            self.problem(node, f"|{node.name}: {problem}")

    # -- statements -----------------------------------------------------------------------

    def statements(self, body: Iterable[nodes.Node]) -> None:
        for node in body:
            self.statement(node)

    def statement(self, node: nodes.Node) -> None:
        for kind, message in _REFUSED_STATEMENTS.items():
            if isinstance(node, kind):
                self.problem(node, message)
                return
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    self.expr(child)
        elif isinstance(node, nodes.If):
            self.expr(node.test)
            self.statements(node.body)
            for branch in node.elif_:
                self.statement(branch)
            self.statements(node.else_)
        elif isinstance(node, nodes.For):
            self.loop(node)
        elif isinstance(node, nodes.Assign):
            shape = self.expr(node.node)
            self.bind(node.target, shape)
        elif isinstance(node, nodes.AssignBlock):
            if node.filter is not None:
                self.problem(node, "filters on set blocks are refused; filter the value")
            self.statements(node.body)
            self.bind(node.target, None)
        elif isinstance(node, nodes.Scope):
            self.statements(node.body)
        elif isinstance(node, nodes.With):
            for value in node.values:
                self.expr(value)
            self.scopes.append({})
            for target in node.targets:
                self.bind(target, None)
            self.statements(node.body)
            self.scopes.pop()
        else:
            self.problem(node, f"{type(node).__name__.lower()} statements are refused")

    def loop(self, node: nodes.For) -> None:
        if node.recursive:
            self.problem(node, "recursive loops are refused")
        if self.loop_depth >= self.limits.max_loop_depth:
            self.problem(node, f"loops nested deeper than {self.limits.max_loop_depth} "
                               "are refused")
        iterable = self.expr(node.iter)
        items = iterable.items if iterable is not None and iterable.items is not None else None
        self.scopes.append({"loop": LOOP})
        self.bind(node.target, items)
        if node.test is not None:
            self.expr(node.test)
        self.loop_depth += 1
        self.statements(node.body)
        self.loop_depth -= 1
        self.scopes.pop()
        self.statements(node.else_)

    # -- expressions ----------------------------------------------------------------------

    def expr(self, node: nodes.Node) -> Shape:
        if isinstance(node, nodes.Const | nodes.TemplateData):
            return Shape("value", "scalar")
        if isinstance(node, nodes.Name):
            return self.name(node)
        if isinstance(node, nodes.Getattr):
            return self.member(node, self.expr(node.node), node.attr)
        if isinstance(node, nodes.Getitem):
            parent = self.expr(node.node)
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self.member(node, parent, node.arg.value)
            if isinstance(node.arg, nodes.Concat | nodes.Add | nodes.Filter | nodes.Mod):
                self.problem(node, "a subscript built from text is refused")
            elif parent.kind == "scalar" and not isinstance(node.arg, nodes.Slice | nodes.Const):
                self.problem(node, "text takes only numbers in [ ]")
            self.expr(node.arg)
            if parent.kind == "list" and parent.items is not None:
                return parent.items
            return Shape(f"{parent.label}[]")
        if isinstance(node, nodes.Filter):
            return self.filter(node)
        if isinstance(node, nodes.Test):
            if node.name not in ALLOWED_TESTS:
                self.problem(node, f"the test {node.name!r} is not allowed")
            self.expr(node.node)
            self.arguments(node)
            return Shape("test", "scalar")
        if isinstance(node, nodes.Call):
            return self.call(node)
        if (isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const | nodes.Concat)
                and not isinstance(getattr(node.left, "value", 0), int | float)):
            self.problem(node, "string formatting with % is refused")
        if isinstance(node, nodes.Pow):
            exponent = node.right
            if (isinstance(exponent, nodes.Const) and isinstance(exponent.value, int | float)
                    and exponent.value > _MAX_POWER):
                self.problem(node, f"exponents over {_MAX_POWER} are refused")
        if isinstance(node, nodes.Slice | nodes.Keyword | nodes.Pair | nodes.Operand
                      | nodes.Compare | nodes.BinExpr | nodes.UnaryExpr | nodes.CondExpr
                      | nodes.Concat | nodes.List | nodes.Tuple | nodes.Dict):
            for child in node.iter_child_nodes():
                self.expr(child)
            return Shape("value", "list" if isinstance(node, nodes.List | nodes.Tuple)
                         else _ANY)
        self.problem(node, f"{type(node).__name__} expressions are refused")
        return Shape("value")

    def name(self, node: nodes.Name) -> Shape:
        shape = self.lookup(node.name)
        if shape is not None:
            return shape
        if node.name in _REFUSED_NAMES:
            self.problem(node, _REFUSED_NAMES[node.name])
        elif _refused_name(node.name):
            self.problem(node, f"the name {node.name!r} is refused")
        else:
            self.problem(node, f"unknown placeholder {node.name!r}")
        return Shape(node.name)

    def arguments(self, node: nodes.Filter | nodes.Test | nodes.Call) -> None:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.problem(node, "*args and **kwargs are refused")
        for argument in node.args:
            self.expr(argument)
        for keyword in node.kwargs:
            self.expr(keyword.value)

    def filter(self, node: nodes.Filter) -> Shape:
        if node.name in _REFUSED_FILTERS:
            self.problem(node, _REFUSED_FILTERS[node.name])
        elif node.name not in ALLOWED_FILTERS | LOCAL_FILTERS:
            self.problem(node, f"unknown filter {node.name!r}")
        if node.name in ATTRIBUTE_FILTERS:
            self.check_attribute_argument(node)
        self.check_local_argument(node)
        source = self.expr(node.node) if node.node is not None else Shape("value")
        self.arguments(node)
        if node.name in ("list", "sort", "reverse", "unique"):
            return Shape(source.label, "list", items=source.items)
        if node.name in ("first", "last") and source.items is not None:
            return source.items
        if node.name in ("default", "d"):
            return source
        return Shape(f"{source.label}|{node.name}", "scalar")

    def call(self, node: nodes.Call) -> Shape:
        callee = node.node
        self.arguments(node)
        if isinstance(callee, nodes.Name) and callee.name == "range":
            for argument in node.args:
                if (isinstance(argument, nodes.Const) and isinstance(argument.value, int)
                        and abs(argument.value) > self.limits.max_range):
                    self.problem(node, f"range() over more than {self.limits.max_range} "
                                       "numbers is refused")
            return Shape("range", "list", items=Shape("number", "scalar"))
        if isinstance(callee, nodes.Getattr):
            if callee.attr in ("format", "format_map"):
                self.problem(node, "format strings are refused")
                return Shape("value")
            if callee.attr in ALLOWED_METHODS:
                receiver = self.expr(callee.node)
                if callee.attr == "items" or callee.attr == "split":
                    return Shape(f"{receiver.label}.{callee.attr}()", "list")
                return Shape(f"{receiver.label}.{callee.attr}()")
            if _refused_name(callee.attr):
                self.problem(node, f"the attribute {callee.attr!r} is refused")
                return Shape("value")
        if isinstance(callee, nodes.Name) and callee.name in _REFUSED_NAMES:
            self.name(callee)
            return Shape("value")
        self.problem(node, "calls are refused here; use filters (see the reference)")
        return Shape("value")


def check_source(source: str, *, part: str = "text", names: Collection[str] = (),
                 limits: TemplateLimits | None = None) -> list[TemplateProblem]:
    """Problems of one part's source; ``names`` are extra top-level names (host globals)."""
    limits = limits or TemplateLimits()
    if len(source) > MAX_TEMPLATE_SOURCE:
        return [TemplateProblem(part, None,
                                f"longer than {MAX_TEMPLATE_SOURCE} characters")]
    env = environment(html=part == "html", limits=limits)
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(part, exc.lineno, f"syntax error: {exc.message}")]
    except RecursionError:
        return [TemplateProblem(part, None, "nested too deeply")]
    checker = _Checker(part, names, limits)
    try:
        checker.statements(tree.body)
    except RecursionError:
        checker.problems.append(TemplateProblem(part, None, "nested too deeply"))
    return checker.problems


def check_template(template: MessageTemplate, *, names: Collection[str] = (),
                   limits: TemplateLimits | None = None) -> list[TemplateProblem]:
    """Problems of every part of ``template``; empty when it may be stored."""
    problems: list[TemplateProblem] = []
    for part, source in template.parts():
        problems.extend(check_source(source, part=part, names=names, limits=limits))
    return problems
