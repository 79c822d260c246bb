"""MessageTemplate refuses values that could never be stored or found."""

from __future__ import annotations

import pytest

from helpdesk_core.domain.templates import MessageTemplate, TemplateKind
from helpdesk_core.errors import ValidationError


def make(**changes: object) -> MessageTemplate:
    values: dict[str, object] = {"key": "thanks", "kind": TemplateKind.REPLY, "language": "cs",
                                 "name": "Díky", "subject": "Re", "body_text": "Text"}
    values.update(changes)
    return MessageTemplate(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "field"), [
    ({"key": "Thanks!"}, "key"),
    ({"key": "acknowledgement"}, "key"),  # reserved for the system template
    ({"kind": TemplateKind.RESOLUTION}, "key"),  # a system kind under another key
    ({"language": "cze"}, "language"),
    ({"language": "xx"}, "language"),  # two letters, but no language
    ({"language": "cs-XX"}, "language"),
    ({"incident_type": "Complaint"}, "incident_type"),
    ({"subject": "  "}, "subject"),
    ({"body_text": ""}, "body_text"),
    ({"body_text": "x" * 64_001}, "body_text"),
    ({"key": "sms", "kind": TemplateKind.SMS_REPLY}, "subject"),  # SMS has no subject
    ({"key": "sms", "kind": TemplateKind.SMS_REPLY, "subject": "", "body_html": "<p>"},
     "body_html"),
    ({"name": ""}, "name"),
])
def test_refused_values(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        make(**changes)
    assert info.value.field == field


def test_kinds() -> None:
    assert TemplateKind.ACKNOWLEDGEMENT.is_system
    assert not TemplateKind.REPLY.is_system
    assert not TemplateKind.SMS_REPLY.is_system
    assert TemplateKind.SMS_ACKNOWLEDGEMENT.is_sms
    assert not TemplateKind.SMS_ACKNOWLEDGEMENT.has_subject
    assert not TemplateKind.TEXT_BLOCK.has_subject
    block = make(kind=TemplateKind.TEXT_BLOCK, subject="", key="signature")
    assert [part for part, _ in block.parts()] == ["text"]
    assert [part for part, _ in make(body_html="<p>x</p>").parts()] == ["subject", "text", "html"]


def test_line_endings_are_normalised() -> None:
    assert make(body_text="a\r\nb").body_text == "a\nb"


@pytest.mark.parametrize(("given", "kept"), [("CS", "cs"), ("pt_br", "pt-BR"), ("iw", "he")])
def test_a_language_is_kept_as_tickets_keep_it(given: str, kept: str) -> None:
    """One form for one language, so that a template is found for a ticket in that language."""
    assert make(language=given).language == kept
