"""Message templates: the sandbox, the save-time checks, rendering and the placeholder schema.

Pure: imports jinja2, pendulum, babel and the core's domain only. Storage and the use cases are in
``helpdesk_core.ports.templates`` and ``helpdesk_core.services.templates``.
"""

from helpdesk_core.templates.checks import check_source, check_template
from helpdesk_core.templates.context import template_context
from helpdesk_core.templates.defaults import DEFAULT_TEMPLATES
from helpdesk_core.templates.render import RenderedMessage, render_message, render_source
from helpdesk_core.templates.sandbox import TemplateLimits
from helpdesk_core.templates.schema import PLACEHOLDERS, Placeholder, reference_table

__all__ = [
    "DEFAULT_TEMPLATES",
    "PLACEHOLDERS",
    "Placeholder",
    "RenderedMessage",
    "TemplateLimits",
    "check_source",
    "check_template",
    "reference_table",
    "render_message",
    "render_source",
    "template_context",
]
