"""Rendering a stored template: each part in the sandbox, within the limits.

A rendering that runs past a limit raises :class:`TemplateError` rather than returning a cut
text: a reply that stops mid-sentence, or a notice missing its deadline, must not reach a
customer looking complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import attrs
from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError

from helpdesk_core.domain.templates import MessageTemplate, TemplateProblem
from helpdesk_core.errors import TemplateError
from helpdesk_core.templates.sandbox import (
    RenderLimitExceeded,
    TemplateLimits,
    compile_template,
    render_stream,
)

__all__ = ["RenderedMessage", "render_message", "render_source"]

MAX_SUBJECT = 500


@attrs.frozen
class RenderedMessage:
    """What a template produced: the subject (empty for SMS and text blocks), the text and
    the HTML part when the template has one."""

    subject: str
    text: str
    html: str | None = None


def _template_line(traceback: TracebackType | None) -> int | None:
    """The template line a runtime error happened on (Jinja maps its frames to it)."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def render_source(source: str, context: Mapping[str, Any], *, part: str = "text",
                  limits: TemplateLimits | None = None, key: str | None = None) -> str:
    """Render one part. Raises TemplateError with the part and line on any failure."""
    limits = limits or TemplateLimits()
    try:
        template = compile_template(source, html=part == "html", limits=limits)
    except TemplateSyntaxError as exc:
        raise TemplateError([TemplateProblem(part, exc.lineno, f"syntax error: {exc.message}")],
                            key=key) from exc
    except JinjaError as exc:
        raise TemplateError([TemplateProblem(part, None, str(exc))], key=key) from exc
    except RecursionError as exc:
        raise TemplateError([TemplateProblem(part, None, "nested too deeply")],
                            key=key) from exc
    try:
        return render_stream(template, context, limits)
    except (RenderLimitExceeded, JinjaError, ArithmeticError, ValueError, TypeError,
            LookupError, AttributeError, RecursionError, MemoryError) as exc:
        problem = TemplateProblem(part, _template_line(exc.__traceback__), str(exc))
        raise TemplateError([problem], key=key) from exc


def render_message(template: MessageTemplate, context: Mapping[str, Any], *,
                   limits: TemplateLimits | None = None) -> RenderedMessage:
    """Render every part of ``template``. The subject is folded onto one line."""
    rendered: dict[str, str] = {}
    for part, source in template.parts():
        rendered[part] = render_source(source, context, part=part, limits=limits,
                                       key=template.key)
    subject = " ".join(rendered.get("subject", "").split())[:MAX_SUBJECT]
    return RenderedMessage(subject=subject, text=rendered["text"], html=rendered.get("html"))
