"""The contract suites themselves: every storage-side port has a contract module, the star
import exposes every contract class, and a declared-missing capability is the only skip."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Protocol

import pytest

import helpdesk_core.testing.contracts as contracts
from helpdesk_core.inmemory import InMemoryStorage
from helpdesk_core.ports import blobs, storage, templates
from helpdesk_core.testing.contracts import Backend, Capabilities

# The ports whose implementations are stores, and so are run through the contract suites.
STORE_PORTS = [storage, blobs, templates]


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


def _calls(module: ModuleType) -> list[ast.Call]:
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def test_the_protocols_are_found_in_the_ports_modules() -> None:
    found = set().union(*(_protocols(module) for module in STORE_PORTS))
    assert {storage.TicketRepository, storage.UnitOfWork, storage.Storage, blobs.BlobStore,
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
         "pytest.mark.skipif", "pytest.mark.xfail"}


def test_a_declared_missing_capability_is_the_only_skip() -> None:
    for name, module in _contract_modules().items():
        if name == "capabilities":
            continue
        source = Path(inspect.getfile(module)).read_text(encoding="utf-8")
        tree = ast.parse(source)
        used = {_dotted(node) for node in ast.walk(tree)
                if isinstance(node, ast.Attribute)} & SKIPS
        assert not used, f"{module.__name__} skips on its own: {used}"
        assert "skip" not in {alias.name for node in ast.walk(tree)
                              if isinstance(node, ast.ImportFrom) for alias in node.names}


def test_every_capability_is_needed_by_a_test_and_every_need_is_a_capability() -> None:
    required: set[str] = set()
    for module in _contract_modules().values():
        for call in _calls(module):
            if _dotted(call.func).endswith(".require"):
                [argument] = call.args
                assert isinstance(argument, ast.Constant), ast.dump(call)
                required.add(argument.value)
    assert required == set(Capabilities.names())


def test_require_skips_only_for_a_capability_declared_missing() -> None:
    everything = Capabilities()
    assert everything.lacking() == ()
    everything.require("durable")  # offered: nothing happens
    lacking = Capabilities(durable=False)
    assert lacking.lacking() == ("durable",)
    with pytest.raises(pytest.skip.Exception, match="declares it lacks 'durable'"):
        lacking.require("durable")
    with pytest.raises(ValueError, match="no capability"):
        everything.require("durabel")


def test_a_durable_backend_must_say_how_to_reopen_a_store() -> None:
    with pytest.raises(ValueError, match="reopen"):
        Backend(name="x", make_storage=InMemoryStorage)
    backend = Backend(name="x", make_storage=InMemoryStorage,
                      capabilities=Capabilities(durable=False))
    with backend.fresh_storage() as fresh, \
            pytest.raises(pytest.fail.Exception, match="no blob store"):
        backend.blob_store(fresh)
