"""The rule at the top of ``statements.py``: the driver runs only statements defined there."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.sql.expression import Executable

import helpdesk_sqlalchemy
from helpdesk_sqlalchemy import statements

PACKAGE = Path(helpdesk_sqlalchemy.__file__).parent
# The driver's entry points, and the position of the statement among their arguments.
STATEMENT_ARGUMENT = {"execute": 1, "fetch": 1, "mappings": 1, "compiled": 1, "compiled_for": 2}


def _modules() -> Iterator[Path]:
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name not in ("driver.py", "statements.py"):
            yield path


def _rooted(node: ast.expr) -> bool:
    """Whether an expression takes its statement from the statements module:
    ``statements.X``, ``statements.X[...]``, ``statements.f(...)``,
    ``functools.partial(statements.f, ...)`` or a choice between such expressions."""
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id == "statements"
    if isinstance(node, ast.Subscript):
        return _rooted(node.value)
    if isinstance(node, ast.IfExp):
        return _rooted(node.body) and _rooted(node.orelse)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr == "partial":
            return bool(node.args) and _rooted(node.args[0])
        return _rooted(node.func)
    return False


class _Checker:
    """Follows a name back to where it was assigned in its function, or, for a parameter of a
    helper in the same module, to the arguments every caller passes for it."""

    def __init__(self, tree: ast.Module) -> None:
        self.functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
        self.calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]

    def ok(self, node: ast.expr, function: ast.FunctionDef, seen: frozenset[str]) -> bool:
        if _rooted(node):
            return True
        if not isinstance(node, ast.Name) or node.id in seen:
            return False
        assigned = [a.value for a in ast.walk(function) if isinstance(a, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == node.id for t in a.targets)]
        if assigned:
            return all(self.ok(value, function, seen | {node.id}) for value in assigned)
        return self._every_caller_passes_a_statement(function, node.id, seen | {node.id})

    def _every_caller_passes_a_statement(self, function: ast.FunctionDef, name: str,
                                         seen: frozenset[str]) -> bool:
        params = [a.arg for a in function.args.args]
        if name not in params:
            return False
        # A method's callers pass everything after self or cls.
        index = params.index(name) - (1 if params[0] in ("self", "cls") else 0)
        callers = [call for call in self.calls if _called_name(call) == function.name]
        if not callers:
            return False
        for call in callers:
            passed = [k.value for k in call.keywords if k.arg == name]
            if not passed and index < len(call.args):
                passed = [call.args[index]]
            caller = _enclosing(self.functions, call)
            if not passed or caller is None or not self.ok(passed[0], caller, seen):
                return False
        return True


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _enclosing(functions: Iterable[ast.FunctionDef], node: ast.AST) -> ast.FunctionDef | None:
    """The innermost function around ``node``."""
    found = None
    for function in functions:
        inside = any(child is node for child in ast.walk(function))
        if inside and (found is None or any(child is function for child in ast.walk(found))):
            found = function
    return found


def _imports_the_driver(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.ImportFrom) and node.module == "helpdesk_sqlalchemy"
               and any(alias.name == "driver" for alias in node.names)
               for node in ast.walk(tree))


def _driver_calls() -> Iterator[tuple[str, ast.Call, ast.FunctionDef | None, _Checker]]:
    for path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        if not _imports_the_driver(tree):  # engine.py's "driver" is a DB-API connection
            continue
        checker = _Checker(tree)
        for call in checker.calls:
            func = call.func
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == "driver" and func.attr in STATEMENT_ARGUMENT):
                yield (f"{path.name}:{call.lineno}", call,
                       _enclosing(checker.functions, call), checker)


def test_every_statement_the_driver_runs_comes_from_the_statements_module() -> None:
    calls = list(_driver_calls())
    assert len(calls) > 20  # the check sees the calls it is about
    wrong = []
    for where, call, function, checker in calls:
        argument = call.args[STATEMENT_ARGUMENT[call.func.attr]]  # type: ignore[attr-defined]
        if function is None or not checker.ok(argument, function, frozenset()):
            wrong.append(f"{where}: {ast.unparse(argument)}")
    assert not wrong, "statements for the driver must be defined in statements.py:\n" + (
        "\n".join(wrong))


def test_the_driver_is_not_imported_by_name() -> None:
    """``from helpdesk_sqlalchemy.driver import fetch`` would hide calls from the check."""
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "helpdesk_sqlalchemy.driver":
                pytest.fail(f"{path.name} imports names from the driver")


@pytest.mark.parametrize("source", [
    "driver.fetch(conn, _LOCAL, {})",
    "driver.execute(conn, table.insert(), row)",
])
def test_the_check_refuses_a_statement_defined_elsewhere(source: str) -> None:
    call = ast.parse(source).body[0].value  # type: ignore[attr-defined]
    function = ast.parse("def f(): pass").body[0]
    assert isinstance(function, ast.FunctionDef)
    assert not _Checker(ast.parse(source)).ok(call.args[1], function, frozenset())


def test_the_statements_are_sqlalchemy_statements() -> None:
    constants = [getattr(statements, name) for name in statements.__all__
                 if name.isupper() and name not in ("QUEUE_KEY_PARTS", "QUEUE_VALUE_ONLY")]
    for value in constants:
        for statement in value.values() if isinstance(value, dict) else [value]:
            assert isinstance(statement, Executable), statement
    for dialect in ("sqlite", "postgresql"):
        assert isinstance(statements.next_value(dialect), Executable)
        assert statements.put_blob(dialect) is statements.put_blob(dialect)  # built once
