"""The acknowledgement a new mail ticket gets: rendered from a template in the sandbox.

Templates are text a deployment can change (``MailPolicy.ack_templates``), so they run in
Jinja's immutable sandbox with strict undefined names, against plain data only.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.errors import ConfigurationError

__all__ = ["DEFAULT_ACK_TEMPLATES", "render_acknowledgement"]

_SUBJECT = "[{{ ticket.number }}] {{ ticket.subject }}"

# language → (subject, text). The ticket number stays in the subject so replies thread.
DEFAULT_ACK_TEMPLATES: Mapping[str, tuple[str, str]] = {
    "en": (_SUBJECT, """Hello {{ customer.name or "" }},

thank you for your message. We have received it as ticket {{ ticket.number }} and will get
back to you as soon as we can.

Please keep the ticket number in the subject when you reply.
"""),
    "de": (_SUBJECT, """Guten Tag {{ customer.name or "" }},

vielen Dank für Ihre Nachricht. Wir haben sie als Ticket {{ ticket.number }} erfasst und
melden uns so bald wie möglich.

Bitte lassen Sie die Ticketnummer im Betreff, wenn Sie antworten.
"""),
    "cs": (_SUBJECT, """Dobrý den {{ customer.name or "" }},

děkujeme za Vaši zprávu. Přijali jsme ji jako požadavek {{ ticket.number }} a ozveme se
co nejdříve.

Při odpovědi prosím ponechte číslo požadavku v předmětu.
"""),
    "sk": (_SUBJECT, """Dobrý deň {{ customer.name or "" }},

ďakujeme za Vašu správu. Prijali sme ju ako požiadavku {{ ticket.number }} a ozveme sa
čo najskôr.

Pri odpovedi prosím ponechajte číslo požiadavky v predmete.
"""),
}

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                     keep_trailing_newline=True)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """Compiling costs a thousand renderings; templates change rarely."""
    return _ENV.from_string(source)


def render_acknowledgement(
    ticket: Ticket,
    *,
    customer_name: str,
    language: str | None,
    templates: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[str, str]:
    """Subject and text in the ticket's language, falling back to English."""
    merged = {**DEFAULT_ACK_TEMPLATES, **(templates or {})}
    subject_src, text_src = merged.get(language or "en") or merged["en"]
    context: dict[str, Any] = {
        "ticket": {"number": ticket.number, "subject": ticket.subject,
                   "priority": ticket.priority.value},
        "customer": {"name": customer_name},
    }
    try:
        subject = _compiled(subject_src).render(context)
        text = _compiled(text_src).render(context)
    except TemplateError as exc:
        raise ConfigurationError(f"acknowledgement template ({language}): {exc}") from exc
    return " ".join(subject.split())[:500], text
