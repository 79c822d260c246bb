"""docs/reference/api.md cannot drift from the code: the sections of the Helpdesk with every
public method and its parameters, bootstrap()'s signature, and the public names."""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

import attrs
import pytest
from docblocks import ROOT, blocks

import helpdesk_core
from helpdesk_core import app

API = "docs/reference/api.md"
TEXT = (ROOT / API).read_text(encoding="utf-8")
SECTIONS = {field.name: vars(app)[str(field.type)] for field in attrs.fields(app.Helpdesk)
            if str(field.type).endswith("Section")}


def _subsection(attribute: str) -> str:
    """The text under ``### helpdesk.<attribute>``, up to the next heading of its level."""
    match = re.search(rf"^### helpdesk\.{attribute}\n(.*?)(?=^##? |^### |\Z)", TEXT,
                      re.MULTILINE | re.DOTALL)
    assert match, f"{API} has no subsection '### helpdesk.{attribute}'"
    return re.sub(r"^```.*?^```", "", match.group(1), flags=re.MULTILINE | re.DOTALL)


def _members(cls: type) -> dict[str, Any]:
    return {name: value for name, value in vars(cls).items()
            if not name.startswith("_") and (callable(value) or isinstance(value, property))}


def test_every_section_of_the_helpdesk_has_a_subsection() -> None:
    assert set(SECTIONS) == {"tickets", "staff", "mail", "outbox", "sms", "calls", "sla",
                             "templates", "configuration", "kb", "portal", "privacy"}
    for attribute in SECTIONS:
        _subsection(attribute)


@pytest.mark.parametrize("attribute", sorted(SECTIONS))
def test_every_public_method_is_described_with_its_parameters(attribute: str) -> None:
    text = _subsection(attribute)
    spans = re.findall(r"`([^`]+)`", text)
    for name, member in _members(SECTIONS[attribute]).items():
        if isinstance(member, property):
            assert any(s == name or s.startswith(f"{name}:") for s in spans), (
                f"{API}, helpdesk.{attribute}: no entry for the property {name}")
            continue
        shown = [s for s in spans if s.startswith(f"{name}(")]
        assert shown, f"{API}, helpdesk.{attribute}: no signature for {name}()"
        for parameter in list(inspect.signature(member).parameters)[1:]:  # after self
            assert any(re.search(rf"(^|[(\s*,]){parameter}\b", s) for s in shown), (
                f"{API}, helpdesk.{attribute}.{name}(): parameter {parameter!r} is not shown")


@pytest.mark.parametrize("attribute", sorted(SECTIONS))
def test_every_method_described_exists(attribute: str) -> None:
    described = re.findall(r"^\| `(\w+)\(", _subsection(attribute), re.MULTILINE)
    described += re.findall(r", `(\w+)\(", _subsection(attribute))
    missing = sorted(set(described) - set(_members(SECTIONS[attribute])))
    assert missing == [], f"{API}, helpdesk.{attribute} describes what does not exist"


def test_the_bootstrap_signature_is_the_code_s() -> None:
    stub = next(b for b in blocks(API) if b.language == "python")
    tree = ast.parse(stub.text)
    shown = next(node for node in tree.body
                 if isinstance(node, ast.FunctionDef) and node.name == "bootstrap")
    args = shown.args
    positional = [(a, "POSITIONAL_OR_KEYWORD") for a in args.args]
    keyword = [(a, "KEYWORD_ONLY") for a in args.kwonlyargs]
    defaults = [None] * (len(args.args) - len(args.defaults)) + list(args.defaults)
    defaults += list(args.kw_defaults)
    documented = [(a.arg, kind, ast.unparse(a.annotation) if a.annotation else None,
                   ast.unparse(d) if d is not None else None)
                  for (a, kind), d in zip(positional + keyword, defaults, strict=True)]
    actual = [(p.name, p.kind.name, p.annotation, repr(p.default)
               if p.default is not inspect.Parameter.empty else None)
              for p in inspect.signature(helpdesk_core.bootstrap).parameters.values()]
    assert documented == actual
    returns = inspect.signature(helpdesk_core.bootstrap).return_annotation
    assert ast.unparse(shown.returns) == returns


def test_the_public_names_table_is_helpdesk_core_all() -> None:
    table = TEXT[TEXT.index("| Group | Names |"):]
    table = table[:table.index("\n\n")]
    listed = set(re.findall(r"`(\w+)`", table))
    assert listed == set(helpdesk_core.__all__)


ACCESS = "docs/reference/access.md"
_ACCESS_ROW = re.compile(r"^\| `[a-z_]+` \| [^|]+ \| (.+) \|$", re.MULTILINE)
_METHOD = re.compile(r"`(\w+)\.(\w+)\([^`]*\)`")
_NO_ACTOR = "*no actor:*"


def test_the_access_reference_names_methods_that_exist_and_check_as_it_says() -> None:
    """Each method in the access table's third column exists; those after "*no actor:*" take
    none, every other one takes the actor it checks (actor, agent or author)."""
    text = (ROOT / ACCESS).read_text(encoding="utf-8")
    named = []
    for cell in _ACCESS_ROW.findall(text):
        checked, _, unchecked = cell.partition(_NO_ACTOR)
        named += [(*m, False) for m in _METHOD.findall(checked)]
        named += [(*m, True) for m in _METHOD.findall(unchecked)]
    assert len(named) > 40
    for section, method, no_actor in named:
        assert section in SECTIONS, f"{ACCESS}: there is no helpdesk.{section}"
        member = _members(SECTIONS[section]).get(method)
        assert callable(member), f"{ACCESS}: helpdesk.{section} has no method {method}()"
        takes_actor = bool({"actor", "agent", "author"} & set(inspect.signature(member).parameters))
        assert takes_actor is not no_actor, (
            f"{ACCESS}: helpdesk.{section}.{method}() "
            + ("takes an actor" if takes_actor else "takes no actor: mark it (no actor)"))
