"""Every code block in README.md, examples/quickstart/README.md and docs/ runs, twice in a row.

One test per page (its id is the page's path). The page's ``python`` blocks run in order in one
namespace, so later blocks use the names of earlier ones, as in a script pasted together from
the page; its ``sh``/``console`` blocks run with bash. The first run starts in a new, empty
temporary working directory (also on ``sys.path``, like a script's folder); the second runs in
the same directory, with a new namespace and new servers, so it proves that a reader can follow
the page again where they followed it before: the SQLite files of the first run are still
there (a block must not fail because its file or its tables exist, or because its ticket
numbers moved on); the files the page writes (``file:`` markers) are written anew.
``HELPDESK_*`` variables of the calling environment are removed for the runs, except
``HELPDESK_TEST_DATABASE_URL``.

Markers (HTML comments right before a block, see docblocks.py) say what not to run and why
(installs and nox sessions only; a test lists them and checks each gives its reason), which
blocks are files
of the example rather than code to run, which servers a block needs (docservers.py) and which
shell blocks run from the repository root.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docservers
import pytest
from docblocks import ROOT, Block, blocks, pages

SH_TIMEOUT = 600
# Shell commands that must never run unmarked: they install packages or start nox sessions
# (which install packages and may run this very suite).
_MUST_BE_MARKED = re.compile(r"\bpip3?\b[^\n]*\binstall\b|\bnox\b|\bapt(-get)?\b")

ALL = {page: blocks(page) for page in pages()}


def _page_params() -> Iterator[Any]:
    for page, found in ALL.items():
        if not any(block.action in ("run", "write") for block in found):
            continue
        yield pytest.param(page, id=page)


@pytest.mark.parametrize("page", list(_page_params()))
def test_page(page: str, tmp_path_factory: pytest.TempPathFactory,
              request: pytest.FixtureRequest) -> None:
    workdir = tmp_path_factory.mktemp(f"{Path(page).stem}-")
    for run in (1, 2):
        if run == 2:  # the page's own files are written again; its databases stay
            for block in ALL[page]:
                if block.action == "write":
                    (workdir / str(block.file)).unlink(missing_ok=True)
        _run_page(page, ALL[page], workdir, run, request)


def test_blocks_left_out_are_commands_that_install_or_start_nox_and_say_why() -> None:
    """A python block always runs. Only a shell block that installs packages or starts a nox
    session (which installs packages, and may run this very suite) may be left out, and its
    marker gives the reason."""
    left_out = [b for found in ALL.values() for b in found if b.action == "skip"]
    assert left_out  # the README's own quickstart is among them
    for block in left_out:
        assert block.kind == "sh", block.where
        assert _MUST_BE_MARKED.search(block.text), f"{block.where} could run: unmark it"
        assert len(block.not_run.strip()) >= 10, f"{block.where}: say why it is not run"


# -- running a page ---------------------------------------------------------------------------


def _servers(page: str, found: list[Block], request: pytest.FixtureRequest,
             stack: contextlib.ExitStack) -> dict[str, str]:
    env: dict[str, str] = {}
    for need in sorted({n for b in found if b.action != "skip" for n in b.needs}):
        if need == "postgresql":
            env.update(stack.enter_context(docservers.postgresql()))
        elif need == "smtp":
            env.update(stack.enter_context(docservers.smtp()))
        elif need == "dovecot":
            env.update(stack.enter_context(
                docservers.dovecot(request.getfixturevalue("docs_dovecot"))))
        elif need == "kannel":
            env.update(stack.enter_context(
                docservers.kannel(request.getfixturevalue("docs_kannel"))))
        else:  # docblocks refuses unknown names; this is a harness bug
            raise AssertionError(f"{page}: no provider for {need!r}")
    return env


def _run_page(page: str, found: list[Block], workdir: Path, run: int,
              request: pytest.FixtureRequest) -> None:
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    imported_before = set(sys.modules)
    with contextlib.ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("HELPDESK_") and name != "HELPDESK_TEST_DATABASE_URL":
                patch.delenv(name)
        for name, value in _servers(page, found, request, stack).items():
            patch.setenv(name, value)
        for block in found:
            for name, value in block.env.items() if block.action != "skip" else ():
                patch.setenv(name, value)
        patch.chdir(workdir)
        patch.syspath_prepend(str(workdir))
        try:
            for block in found:
                where = f"{page}, block at line {block.line} ({block.language}), run {run} of 2"
                if block.action == "write":
                    if block.kind == "python":  # a module of the example: it must compile
                        _compile(block, where, workdir)
                    target = workdir / block.file
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with target.open("a", encoding="utf-8") as out:
                        out.write(block.text)
                elif block.action == "run" and block.kind == "python":
                    _run_python(block, namespace, where, workdir)
                elif block.action == "run":
                    _run_sh(block, where, workdir)
        finally:
            _close_helpdesks(namespace)
            _forget_modules(workdir, imported_before)


def _compile(block: Block, where: str, workdir: Path) -> Any:
    # Padded so that line numbers in tracebacks are the page's own.
    source = "\n" * block.line + block.text
    try:
        return compile(source, str(ROOT / block.page), "exec", dont_inherit=True)
    except SyntaxError as error:
        shown = "".join(traceback.format_exception(error))
    pytest.fail(f"{where} does not compile (working directory {workdir}):\n{shown}",
                pytrace=False)


def _run_python(block: Block, namespace: dict[str, Any], where: str, workdir: Path) -> None:
    code = _compile(block, where, workdir)
    try:
        exec(code, namespace)
        return
    except (Exception, SystemExit) as error:
        # Only the block's own frames and below: the harness's frame says nothing.
        shown = "".join(traceback.format_exception(error.with_traceback(
            error.__traceback__.tb_next if error.__traceback__ else None)))
    pytest.fail(f"{where} failed (working directory {workdir}):\n{shown}", pytrace=False)


def _commands(block: Block) -> str:
    if block.language != "console":
        return block.text
    # A console block: "$ command" lines run; the others are the output shown.
    return "".join(line[2:] + "\n" for line in block.text.splitlines() if line.startswith("$ "))


def _run_sh(block: Block, where: str, workdir: Path) -> None:
    script = _commands(block)
    if _MUST_BE_MARKED.search(script):
        pytest.fail(f"{where}: this shell block installs packages or runs nox; put "
                    "<!-- not run: REASON --> on the line before it, or change it",
                    pytrace=False)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cwd = ROOT if block.from_repository_root else workdir
    try:
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=SH_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{where} did not finish within {SH_TIMEOUT} s:\n{script}\n"
                    f"--- output\n{expired.stdout}\n--- errors\n{expired.stderr}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"{where} exited with {done.returncode} (in {cwd}):\n{script}\n"
                    f"--- output\n{done.stdout[-4000:]}\n--- errors\n{done.stderr[-4000:]}",
                    pytrace=False)


def _close_helpdesks(namespace: dict[str, Any]) -> None:
    from helpdesk_core.app import Helpdesk

    for value in namespace.values():
        if isinstance(value, Helpdesk):
            with contextlib.suppress(Exception):
                value.close()


def _forget_modules(workdir: Path, imported_before: set[str]) -> None:
    """Modules the page wrote and imported, so that the next run imports its own files."""
    for name in set(sys.modules) - imported_before:
        module = sys.modules[name]
        try:
            places = [getattr(module, "__file__", None) or "",
                      *(getattr(module, "__path__", None) or [])]
        except Exception:  # a namespace package whose parent is gone cannot list its path
            continue
        if any(place and Path(place).is_relative_to(workdir) for place in places):
            del sys.modules[name]
