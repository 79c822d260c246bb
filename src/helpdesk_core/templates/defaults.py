"""The system templates the helpdesk ships, in cs, de, sk and en.

A deployment overrides any of them by saving a template with the same key and language (and,
if it likes, an incident type); these are the last step of the resolution.
"""

from __future__ import annotations

from helpdesk_core.domain.templates import MessageTemplate, TemplateKind

__all__ = ["DEFAULT_TEMPLATES"]

_ACK_SUBJECT = "[{{ ticket.number }}] {{ ticket.subject }}"
_RESOLVED_SUBJECT = {
    "en": "[{{ ticket.number }}] Resolved: {{ ticket.subject }}",
    "de": "[{{ ticket.number }}] Erledigt: {{ ticket.subject }}",
    "cs": "[{{ ticket.number }}] Vyřešeno: {{ ticket.subject }}",
    "sk": "[{{ ticket.number }}] Vyriešené: {{ ticket.subject }}",
}
_ESCALATION_SUBJECT = {
    "en": "[{{ ticket.number }}] Escalated: {{ ticket.subject }}",
    "de": "[{{ ticket.number }}] Eskaliert: {{ ticket.subject }}",
    "cs": "[{{ ticket.number }}] Eskalace: {{ ticket.subject }}",
    "sk": "[{{ ticket.number }}] Eskalácia: {{ ticket.subject }}",
}
_WARNING_SUBJECT = {
    "en": "[{{ ticket.number }}] Due {{ sla.due_at|datetime }}: {{ ticket.subject }}",
    "de": "[{{ ticket.number }}] Fällig {{ sla.due_at|datetime }}: {{ ticket.subject }}",
    "cs": "[{{ ticket.number }}] Termín {{ sla.due_at|datetime }}: {{ ticket.subject }}",
    "sk": "[{{ ticket.number }}] Termín {{ sla.due_at|datetime }}: {{ ticket.subject }}",
}

_MERGED_SUBJECT = {
    "en": "[{{ ticket.continues_as }}] Your request {{ ticket.number }} continues as "
          "{{ ticket.continues_as }}",
    "de": "[{{ ticket.continues_as }}] Ihre Anfrage {{ ticket.number }} wird als "
          "{{ ticket.continues_as }} fortgeführt",
    "cs": "[{{ ticket.continues_as }}] Váš požadavek {{ ticket.number }} pokračuje jako "
          "{{ ticket.continues_as }}",
    "sk": "[{{ ticket.continues_as }}] Vaša požiadavka {{ ticket.number }} pokračuje ako "
          "{{ ticket.continues_as }}",
}

_TEXTS: dict[TemplateKind, dict[str, str]] = {
    TemplateKind.MERGE_NOTICE: {
        "en": """Hello {{ customer.name }},

your request {{ ticket.number }} ({{ ticket.subject }}) is about the same matter as
{{ ticket.continues_as }}, so we continue both there. Replies to either number reach us.
""",
        "de": """Guten Tag {{ customer.name }},

Ihre Anfrage {{ ticket.number }} ({{ ticket.subject }}) betrifft dieselbe Sache wie
{{ ticket.continues_as }}; wir führen beide dort weiter. Antworten unter beiden Nummern
erreichen uns.
""",
        "cs": """Dobrý den {{ customer.name }},

Váš požadavek {{ ticket.number }} ({{ ticket.subject }}) se týká téže věci jako
{{ ticket.continues_as }}, proto oba vyřizujeme tam. Odpovědi pod oběma čísly k nám dojdou.
""",
        "sk": """Dobrý deň {{ customer.name }},

Vaša požiadavka {{ ticket.number }} ({{ ticket.subject }}) sa týka tej istej veci ako
{{ ticket.continues_as }}, preto obe vybavujeme tam. Odpovede pod oboma číslami k nám prídu.
""",
    },
    TemplateKind.ACKNOWLEDGEMENT: {
        "en": """Hello {{ customer.name }},

thank you for your message. We have received it as ticket {{ ticket.number }} and will get
back to you as soon as we can.

Please keep the ticket number in the subject when you reply.
""",
        "de": """Guten Tag {{ customer.name }},

vielen Dank für Ihre Nachricht. Wir haben sie als Ticket {{ ticket.number }} erfasst und
melden uns so bald wie möglich.

Bitte lassen Sie die Ticketnummer im Betreff, wenn Sie antworten.
""",
        "cs": """Dobrý den {{ customer.name }},

děkujeme za Vaši zprávu. Přijali jsme ji jako požadavek {{ ticket.number }} a ozveme se
co nejdříve.

Při odpovědi prosím ponechte číslo požadavku v předmětu.
""",
        "sk": """Dobrý deň {{ customer.name }},

ďakujeme za Vašu správu. Prijali sme ju ako požiadavku {{ ticket.number }} a ozveme sa
čo najskôr.

Pri odpovedi prosím ponechajte číslo požiadavky v predmete.
""",
    },
    TemplateKind.RESOLUTION: {
        "en": """Hello {{ customer.name }},

your request {{ ticket.number }} of {{ ticket.created_at|date }} has been resolved.
If anything is still not right, simply reply to this message.
{% if ticket.portal_url %}
You can see the whole request at {{ ticket.portal_url }}
{% endif %}""",
        "de": """Guten Tag {{ customer.name }},

Ihre Anfrage {{ ticket.number }} vom {{ ticket.created_at|date }} ist erledigt.
Falls noch etwas nicht stimmt, antworten Sie einfach auf diese Nachricht.
{% if ticket.portal_url %}
Die ganze Anfrage finden Sie unter {{ ticket.portal_url }}
{% endif %}""",
        "cs": """Dobrý den {{ customer.name }},

Váš požadavek {{ ticket.number }} ze dne {{ ticket.created_at|date }} byl vyřešen.
Pokud ještě něco není v pořádku, stačí odpovědět na tuto zprávu.
{% if ticket.portal_url %}
Celý požadavek najdete na {{ ticket.portal_url }}
{% endif %}""",
        "sk": """Dobrý deň {{ customer.name }},

Vaša požiadavka {{ ticket.number }} zo dňa {{ ticket.created_at|date }} bola vyriešená.
Ak ešte niečo nie je v poriadku, stačí odpovedať na túto správu.
{% if ticket.portal_url %}
Celú požiadavku nájdete na {{ ticket.portal_url }}
{% endif %}""",
    },
    TemplateKind.ESCALATION: {
        "en": """Ticket {{ ticket.number }} ({{ ticket.priority }}) has been escalated.
Subject: {{ ticket.subject }}
Customer: {{ customer.name }}
Due: {{ sla.due_at|datetime if sla.due_at else "no deadline" }}
""",
        "de": """Ticket {{ ticket.number }} ({{ ticket.priority }}) wurde eskaliert.
Betreff: {{ ticket.subject }}
Kunde: {{ customer.name }}
Fällig: {{ sla.due_at|datetime if sla.due_at else "keine Frist" }}
""",
        "cs": """Požadavek {{ ticket.number }} ({{ ticket.priority }}) byl eskalován.
Předmět: {{ ticket.subject }}
Zákazník: {{ customer.name }}
Termín: {{ sla.due_at|datetime if sla.due_at else "bez termínu" }}
""",
        "sk": """Požiadavka {{ ticket.number }} ({{ ticket.priority }}) bola eskalovaná.
Predmet: {{ ticket.subject }}
Zákazník: {{ customer.name }}
Termín: {{ sla.due_at|datetime if sla.due_at else "bez termínu" }}
""",
    },
    TemplateKind.SLA_WARNING: {
        "en": """Ticket {{ ticket.number }} is due {{ sla.due_at|datetime }}
{{- " and is overdue" if sla.overdue }}.
Subject: {{ ticket.subject }}
""",
        "de": """Ticket {{ ticket.number }} ist fällig am {{ sla.due_at|datetime }}
{{- " und überfällig" if sla.overdue }}.
Betreff: {{ ticket.subject }}
""",
        "cs": """Požadavek {{ ticket.number }} má termín {{ sla.due_at|datetime }}
{{- " a je po termínu" if sla.overdue }}.
Předmět: {{ ticket.subject }}
""",
        "sk": """Požiadavka {{ ticket.number }} má termín {{ sla.due_at|datetime }}
{{- " a je po termíne" if sla.overdue }}.
Predmet: {{ ticket.subject }}
""",
    },
    TemplateKind.SMS_ACKNOWLEDGEMENT: {
        "en": "We have received your request as {{ ticket.number }}. We will be in touch.",
        "de": "Wir haben Ihre Anfrage als {{ ticket.number }} erfasst und melden uns.",
        "cs": "Váš požadavek jsme přijali pod číslem {{ ticket.number }}. Ozveme se.",
        "sk": "Vašu požiadavku sme prijali pod číslom {{ ticket.number }}. Ozveme sa.",
    },
    TemplateKind.SMS_RESOLUTION: {
        "en": "Your request {{ ticket.number }} has been resolved.",
        "de": "Ihre Anfrage {{ ticket.number }} ist erledigt.",
        "cs": "Váš požadavek {{ ticket.number }} byl vyřešen.",
        "sk": "Vaša požiadavka {{ ticket.number }} bola vyriešená.",
    },
    TemplateKind.SMS_SLA_WARNING: {
        "en": "{{ ticket.number }} is due {{ sla.due_at|datetime('short') }}.",
        "de": "{{ ticket.number }} ist fällig am {{ sla.due_at|datetime('short') }}.",
        "cs": "{{ ticket.number }} má termín {{ sla.due_at|datetime('short') }}.",
        "sk": "{{ ticket.number }} má termín {{ sla.due_at|datetime('short') }}.",
    },
}

_SUBJECTS: dict[TemplateKind, dict[str, str]] = {
    TemplateKind.ACKNOWLEDGEMENT: dict.fromkeys(("en", "de", "cs", "sk"), _ACK_SUBJECT),
    TemplateKind.RESOLUTION: _RESOLVED_SUBJECT,
    TemplateKind.ESCALATION: _ESCALATION_SUBJECT,
    TemplateKind.SLA_WARNING: _WARNING_SUBJECT,
    TemplateKind.MERGE_NOTICE: _MERGED_SUBJECT,
}
_NAMES = {
    TemplateKind.ACKNOWLEDGEMENT: "Acknowledgement",
    TemplateKind.RESOLUTION: "Resolution message",
    TemplateKind.ESCALATION: "Escalation notice",
    TemplateKind.SLA_WARNING: "SLA warning",
    TemplateKind.MERGE_NOTICE: "Merge notice",
    TemplateKind.SMS_ACKNOWLEDGEMENT: "SMS acknowledgement",
    TemplateKind.SMS_RESOLUTION: "SMS resolution message",
    TemplateKind.SMS_SLA_WARNING: "SMS SLA warning",
}

DEFAULT_TEMPLATES: tuple[MessageTemplate, ...] = tuple(
    MessageTemplate(
        key=kind.value, kind=kind, language=language, name=_NAMES[kind],
        subject=_SUBJECTS.get(kind, {}).get(language, ""), body_text=text,
    )
    for kind, texts in _TEXTS.items()
    for language, text in texts.items()
)
