"""The contract suites themselves: every storage-side port has a contract module, the star
import exposes every contract class, nothing in them skips, and every capability flag is a
branch with a check on each side."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Protocol

import pytest

import helpdesk_core.ports
import helpdesk_core.testing.contracts as contracts
from helpdesk_core.inmemory import InMemoryStorage
from helpdesk_core.ports import blobs, storage, templates, tickets
from helpdesk_core.testing.contracts import Backend, Capabilities

# The ports whose implementations are stores, and so are run through the contract suites:
# Every ports module holds store protocols, except these: the clock, the host's directory,
# the messaging and staff ports are implemented by services outside the helpdesk's storage,
# and rate limits are kept per process or in a shared cache, not with the helpdesk's data.
NOT_STORES = {"clock", "directory", "messaging", "ratelimit", "staff"}
STORE_PORTS = [importlib.import_module(f"{helpdesk_core.ports.__name__}.{info.name}")
               for info in pkgutil.iter_modules(helpdesk_core.ports.__path__)
               if info.name not in NOT_STORES]


def _protocols(module: ModuleType) -> set[type]:
    return {value for _, value in inspect.getmembers(module, inspect.isclass)
            if value.__module__ == module.__name__ and Protocol in value.__bases__}


def _contract_modules() -> dict[str, ModuleType]:
    return {info.name: importlib.import_module(f"{contracts.__name__}.{info.name}")
            for info in pkgutil.iter_modules(contracts.__path__)}


def _test_classes(module: ModuleType) -> list[type]:
    return [value for name, value in vars(module).items()
            if name.startswith("Test") and inspect.isclass(value)
            and value.__module__ == module.__name__]


def _tests(cls: type) -> list[str]:
    return [name for name in vars(cls) if name.startswith("test_")]


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def test_the_protocols_are_found_in_the_ports_modules() -> None:
    found = set().union(*(_protocols(module) for module in STORE_PORTS))
    assert {tickets.TicketRepository, storage.UnitOfWork, storage.Storage, blobs.BlobStore,
            templates.TemplateStore} <= found
    assert all(cls.__name__[0].isupper() for cls in found)


@pytest.mark.parametrize(
    "protocol",
    sorted(set().union(*(_protocols(module) for module in STORE_PORTS)),
           key=lambda cls: (cls.__module__, cls.__name__)),
    ids=lambda cls: cls.__name__,
)
def test_every_store_protocol_has_a_contract_module(protocol: type) -> None:
    covering = [module for module in _contract_modules().values()
                if protocol in getattr(module, "COVERS", ())]
    assert len(covering) == 1, f"{protocol.__name__}: covered by {covering}"
    [module] = covering
    classes = _test_classes(module)
    assert classes, f"{module.__name__} has no test classes"
    assert all(_tests(cls) for cls in classes)


def test_the_star_import_exposes_every_contract_class() -> None:
    for module in _contract_modules().values():
        for cls in _test_classes(module):
            assert cls.__name__ in contracts.__all__, cls
            assert getattr(contracts, cls.__name__) is cls


def test_contract_classes_have_unique_names() -> None:
    names = [cls.__name__ for module in _contract_modules().values()
             for cls in _test_classes(module)]
    assert len(names) == len(set(names))


SKIPS = {"pytest.skip", "pytest.importorskip", "pytest.xfail", "pytest.mark.skip",
         "pytest.mark.skipif", "pytest.mark.xfail", "unittest.skip", "unittest.skipIf",
         "unittest.skipUnless", "unittest.SkipTest"}
SKIP_NAMES = {"skip", "importorskip", "xfail", "skipif", "skipIf", "skipUnless", "SkipTest"}


@pytest.mark.parametrize("name", sorted(_contract_modules()))
def test_nothing_in_the_contract_suites_skips(name: str) -> None:
    module = _contract_modules()[name]
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    used = {_dotted(node) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)} & SKIPS
    assert not used, f"{module.__name__} skips: {used}"
    imported = {alias.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert not imported & SKIP_NAMES, f"{module.__name__} imports {imported & SKIP_NAMES}"


def _checks(statements: list[ast.stmt]) -> bool:
    return any(isinstance(node, ast.Assert) or (isinstance(node, ast.Call)
               and _dotted(node.func) == "pytest.raises")
               for statement in statements for node in ast.walk(statement))


def test_every_capability_is_a_branch_with_a_check_on_each_side() -> None:
    """``if storage_capabilities.offers("flag"): <checks> else: <checks>`` is the only way a
    contract test may ask for a flag, and every flag is asked for."""
    asked: set[str] = set()
    for module in _contract_modules().values():
        tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
        branches = {id(node.test): node for node in ast.walk(tree) if isinstance(node, ast.If)}
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            if not _dotted(call.func).endswith(".offers"):
                continue
            where = f"{module.__name__}:{call.lineno}"
            [argument] = call.args
            assert isinstance(argument, ast.Constant), where
            assert argument.value in Capabilities.names(), where
            asked.add(argument.value)
            branch = branches.get(id(call))
            assert branch is not None, f"{where}: offers() is not the test of an `if`"
            assert branch.orelse, f"{where}: nothing checked where the backend lacks it"
            assert _checks(branch.body), f"{where}: nothing checked where it is offered"
            assert _checks(branch.orelse), f"{where}: nothing checked where it is lacking"
    assert asked == set(Capabilities.names()), "a capability no contract test checks"


def test_offers_answers_for_a_known_capability_only() -> None:
    everything = Capabilities()
    assert everything.lacking() == ()
    assert everything.offers("durable") is True
    lacking = Capabilities(durable=False)
    assert lacking.lacking() == ("durable",)
    assert lacking.offers("durable") is False
    with pytest.raises(ValueError, match="no capability"):
        everything.offers("durabel")
    assert not hasattr(Capabilities, "require")  # the skipping helper is gone for good


def test_a_durable_backend_must_say_how_to_reopen_a_store() -> None:
    with pytest.raises(ValueError, match="reopen"):
        Backend(name="x", make_storage=InMemoryStorage)
    backend = Backend(name="x", make_storage=InMemoryStorage,
                      capabilities=Capabilities(durable=False))
    with backend.fresh_storage() as fresh, \
            pytest.raises(pytest.fail.Exception, match="no blob store"):
        backend.blob_store(fresh)
