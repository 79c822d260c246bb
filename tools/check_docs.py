"""Docs checks run by ``nox -s docs``.

- every hook in plugins/hookspecs.py is documented in docs/reference/hooks.md with its
  signature and has a test named after it;
- every relative link in docs/ and README.md points at a file that exists.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def hooks() -> list[str]:
    tree = ast.parse((ROOT / "src/helpdesk_core/plugins/hookspecs.py").read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)
            and n.name.startswith("helpdesk_")]


def main() -> int:
    problems: list[str] = []
    reference = (ROOT / "docs/reference/hooks.md").read_text(encoding="utf-8")
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    for name in hooks():
        if not re.search(rf"^#+ .*{name}", reference, re.MULTILINE):
            problems.append(f"docs/reference/hooks.md has no heading for {name}")
        if f"def {name}(" not in reference:
            problems.append(f"docs/reference/hooks.md shows no signature for {name}")
        if f"def test_{name}(" not in tests:
            problems.append(f"no test named test_{name}")
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.exists():
                problems.append(f"{page.relative_to(ROOT)}: broken link {target}")
    for problem in problems:
        print(problem)
    print(f"docs check: {len(hooks())} hooks, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
