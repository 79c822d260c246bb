"""The fenced code blocks of the documentation pages, and the markers that say how to run them.

A marker is an HTML comment on the line right before a block's opening fence (several markers
are several comments, one per line, with nothing else between them and the fence):

``<!-- not run: REASON -->``
    the block is not run; the reason is shown as the skip message of its own test item
    (installs, long-running servers, commands that run this very test suite).
``<!-- file: PATH -->``
    the block is written to PATH, relative to the page's working directory, instead of being
    run (a module of the example, a pyproject.toml, a raw mail); a second block with the same
    PATH is appended to it. Later blocks import or read it.
``<!-- needs: SERVER[, SERVER] -->``
    the block needs a real server: ``postgresql``, ``smtp``, ``dovecot`` or ``kannel``. The
    harness starts it (or connects to it) before the page runs and describes it in
    environment variables the block reads; see docservers.py.
``<!-- env: NAME=value[, NAME=value] -->``
    environment variables the block reads that are no server (a webhook token, an API key),
    with the made-up values the page runs with; set for the whole run of the page.
``<!-- run from: repository root -->``
    a shell block that runs a file of the repository (``python examples/quickstart/demo.py``);
    it runs with the repository root as working directory instead of the page's.

Blocks in ``python`` run in one namespace per page; ``sh`` and ``console`` blocks run with
bash, one process per block. Blocks in other languages (``text``, ``json``, ``toml``, output
shown without a language ...) are not run unless a ``file:`` marker writes them somewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]
RUN_LANGUAGES = {"python": "python", "sh": "sh", "console": "sh", "bash": "sh", "shell": "sh"}
SERVERS = ("postgresql", "smtp", "dovecot", "kannel")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)[^`]*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<key>[a-z][a-z ]*[a-z]):\s*(?P<value>.*?)\s*-->\s*$")
_MARKER_KEYS = {"not run", "file", "needs", "env", "run from"}


class MarkerError(ValueError):
    """A marker the harness does not understand: a typo must not silently run or skip."""


@attrs.frozen
class Block:
    page: str  # relative to the repository root, e.g. "docs/how-to/send-mail.md"
    line: int  # the line of the opening fence, 1-based
    language: str  # as written after the fence ("" for none)
    text: str
    markers: dict[str, str] = attrs.field(factory=dict, eq=False)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def kind(self) -> str | None:
        """``python`` or ``sh`` for a block that is run, else None."""
        return RUN_LANGUAGES.get(self.language)

    @property
    def not_run(self) -> str | None:
        return self.markers.get("not run")

    @property
    def file(self) -> str | None:
        return self.markers.get("file")

    @property
    def needs(self) -> tuple[str, ...]:
        raw = self.markers.get("needs", "")
        return tuple(name.strip() for name in raw.split(",") if name.strip())

    @property
    def env(self) -> dict[str, str]:
        raw = self.markers.get("env", "")
        pairs = (item.split("=", 1) for item in raw.split(",") if item.strip())
        return {name.strip(): value.strip() for name, value in pairs}

    @property
    def from_repository_root(self) -> bool:
        return self.markers.get("run from") == "repository root"

    @property
    def action(self) -> str:
        """What the harness does with it: ``skip``, ``write``, ``run`` or ``ignore``."""
        if self.not_run is not None:
            return "skip"
        if self.file is not None:
            return "write"
        return "run" if self.kind else "ignore"


def pages() -> list[str]:
    """Every page whose blocks run: the README, the quickstart's README and docs/**."""
    found = ["README.md", "examples/quickstart/README.md"]
    found += sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
    return found


def blocks(page: str) -> list[Block]:
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        found.append(Block(page=page, line=i + 1, language=opening["lang"].lower(),
                           text="\n".join(body) + "\n", markers=_markers(page, lines, i)))
        i = j + 1
    return found


def _markers(page: str, lines: list[str], fence_index: int) -> dict[str, str]:
    markers: dict[str, str] = {}
    k = fence_index - 1
    while k >= 0:
        match = _MARKER.match(lines[k])
        if not match:
            break
        key, value = match["key"], match["value"]
        if key not in _MARKER_KEYS:
            raise MarkerError(f"{page}:{k + 1}: unknown marker {key!r} "
                              f"(known: {', '.join(sorted(_MARKER_KEYS))})")
        if not value:
            raise MarkerError(f"{page}:{k + 1}: the marker {key!r} needs a value")
        if key == "needs":
            unknown = [n.strip() for n in value.split(",") if n.strip() not in SERVERS]
            if unknown:
                raise MarkerError(f"{page}:{k + 1}: unknown server(s) {unknown}; "
                                  f"known: {', '.join(SERVERS)}")
        if key == "env" and not all(re.fullmatch(r"\s*[A-Z_][A-Z0-9_]*=[^,]*", item)
                                    for item in value.split(",")):
            raise MarkerError(f"{page}:{k + 1}: 'env' takes NAME=value pairs, comma-separated")
        if key == "run from" and value != "repository root":
            raise MarkerError(f"{page}:{k + 1}: 'run from' takes only 'repository root'")
        markers[key] = value
        k -= 1
    return markers
