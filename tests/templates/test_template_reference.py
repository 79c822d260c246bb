"""The reference page, the schema the checks use and the context a ticket gets agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.templates import PLACEHOLDERS, check_source, reference_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "templates.md"


def test_the_reference_lists_every_placeholder_of_the_schema() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- placeholders:start -->\n(.*?)\n<!-- placeholders:end -->", text,
                      re.DOTALL)
    assert block is not None
    assert block.group(1) == reference_table(), (
        "regenerate the table with helpdesk_core.templates.reference_table()")
    listed = re.findall(r"^\| `([^`]+)` \|", block.group(1), re.MULTILINE)
    assert listed == [p.path for p in PLACEHOLDERS]
    assert len(set(listed)) == len(listed)


def _use(path: str) -> str:
    """A template that uses ``path``, looping where the path goes through a list."""
    head, sep, tail = path.partition("[].")
    if sep:
        return f"{{% for item in {head} %}}{{{{ item.{tail} }}}}{{% endfor %}}"
    return "{{ " + path.replace(".*", ".anything") + " }}"


def test_every_documented_placeholder_passes_the_checks() -> None:
    for placeholder in PLACEHOLDERS:
        assert check_source(_use(placeholder.path)) == [], placeholder.path


def _paths(value: Any, prefix: str) -> set[str]:
    found = {prefix} if prefix else set()
    if isinstance(value, dict) and not prefix.endswith("custom_fields"):
        for key, item in value.items():
            found |= _paths(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, dict):
        found.add(f"{prefix}.*")
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for key, item in value[0].items():
            found |= _paths(item, f"{prefix}[].{key}")
    return found


def test_the_context_of_a_ticket_has_exactly_the_documented_shape(helpdesk: Helpdesk) -> None:
    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Rozbité",
                                          "order_number": "2026-00042"})
    context = helpdesk.templates.context(ticket.number, language="cs",
                                         agent=Actor.agent("petra", "Petra"))
    assert _paths(context, "") == {p.path for p in PLACEHOLDERS}


def test_a_context_holds_plain_data_only(helpdesk: Helpdesk) -> None:
    from datetime import datetime

    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Rozbité",
                                          "order_number": "2026-00042"})
    plain = (str, int, float, bool, type(None), datetime)

    def check(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)
        else:
            assert isinstance(value, plain), type(value)

    check(helpdesk.templates.context(ticket.number, language="cs"))
