"""Every placeholder a template may use, as data.

The save-time checks accept exactly these names (plus the host's globals), and the reference
page ``docs/reference/templates.md`` lists them from this same table; a test keeps the two
equal. Paths: ``orders[].number`` is a field of each item of a list, ``ticket.custom_fields.*``
any key of a mapping.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = ["LOOP", "PLACEHOLDERS", "Placeholder", "Shape", "build_shapes", "reference_table"]


@attrs.frozen
class Placeholder:
    path: str
    type: str  # text, number, yes/no, date-time, list, object, mapping, any; "or none" allowed
    description: str


PLACEHOLDERS: tuple[Placeholder, ...] = (
    Placeholder("language", "text",
                "The language the template is rendered in (cs, de, sk, en ...)."),
    Placeholder("timezone", "text", "The IANA time zone dates are shown in."),
    Placeholder("now", "date-time", "When the message is rendered."),
    Placeholder("ticket", "object", "The ticket the message is about."),
    Placeholder("ticket.number", "text", "The ticket number, e.g. HD-2026-000042."),
    Placeholder("ticket.subject", "text", "The ticket's subject."),
    Placeholder("ticket.status", "text", "The status key (custom statuses included)."),
    Placeholder("ticket.status_category", "text",
                "The semantic status: new, open, waiting_on_customer, waiting_on_third_party, "
                "resolved, closed, merged."),
    Placeholder("ticket.priority", "text", "urgent, high, normal or low."),
    Placeholder("ticket.channel", "text", "Where the ticket came from: email, web_form, staff, "
                "phone, sms, chat, api."),
    Placeholder("ticket.created_at", "date-time", "When the ticket was opened."),
    Placeholder("ticket.updated_at", "date-time", "When the ticket last changed."),
    Placeholder("ticket.incident_type", "text or none", "The incident-type key, e.g. "
                "complaint/damaged."),
    Placeholder("ticket.incident_type_name", "text or none", "The incident type's name."),
    Placeholder("ticket.language", "text or none", "The ticket's language."),
    Placeholder("ticket.assignee", "text or none", "The assigned agent's id."),
    Placeholder("ticket.team", "text or none", "The ticket's team."),
    Placeholder("ticket.due_at", "date-time or none", "When the ticket is due."),
    Placeholder("ticket.tags", "list", "The ticket's tags (text)."),
    Placeholder("ticket.custom_fields", "mapping", "The ticket's custom fields by name."),
    Placeholder("ticket.custom_fields.*", "any", "One custom field: text, number, yes/no or "
                "none."),
    Placeholder("ticket.continues_as", "text or none", "The number of the ticket this one "
                "was merged into (its request continues there); none if it was not merged."),
    Placeholder("ticket.portal_url", "text or none", "The ticket's page in the customer "
                "portal, when the deployment has one."),
    Placeholder("customer", "object", "The customer; the fields are empty text when the ticket "
                "has none."),
    Placeholder("customer.name", "text", "The customer's name."),
    Placeholder("customer.email", "text", "The customer's primary e-mail address."),
    Placeholder("customer.phone", "text", "The customer's first phone number (E.164)."),
    Placeholder("customer.language", "text or none", "The customer's language."),
    Placeholder("organisation", "object or none", "The customer's organisation."),
    Placeholder("organisation.name", "text", "The organisation's name."),
    Placeholder("order", "object or none", "The first order linked to the ticket."),
    Placeholder("order.number", "text", "The order number."),
    Placeholder("order.placed_at", "date-time or none", "When the order was placed."),
    Placeholder("order.summary", "text", "The host's short description of the order."),
    Placeholder("orders", "list", "Every order linked to the ticket."),
    Placeholder("orders[].number", "text", "The order number."),
    Placeholder("orders[].placed_at", "date-time or none", "When the order was placed."),
    Placeholder("orders[].summary", "text", "The host's short description of the order."),
    Placeholder("links", "list", "Every host record linked to the ticket."),
    Placeholder("links[].kind", "text", "order, invoice, product, delivery, rma, contract or "
                "ticket."),
    Placeholder("links[].system", "text", "The host system the record lives in."),
    Placeholder("links[].id", "text", "The record's id in that system."),
    Placeholder("agent", "object or none", "The agent writing the message (none for automatic "
                "messages)."),
    Placeholder("agent.id", "text", "The agent's id."),
    Placeholder("agent.name", "text", "The agent's name."),
    Placeholder("sla", "object", "The ticket's service-level deadlines."),
    Placeholder("sla.due_at", "date-time or none", "The resolution deadline."),
    Placeholder("sla.overdue", "yes/no", "Whether the deadline has passed."),
)

LOOP_FIELDS = ("index", "index0", "revindex", "revindex0", "first", "last", "length",
               "previtem", "nextitem", "depth", "depth0")


@attrs.define
class Shape:
    """What the checks know of a value: an object's fields, a list's items, any key."""

    label: str
    kind: str = "any"  # any, scalar, object, list, mapping, function
    fields: dict[str, Shape] = attrs.field(factory=dict)
    items: Shape | None = None

    def member(self, name: str) -> Shape | None:
        """The shape of ``self.name``; None when it does not exist."""
        if self.kind == "any":
            return Shape(f"{self.label}.{name}")
        if self.kind == "mapping":
            return self.fields.get("*") or Shape(f"{self.label}.{name}")
        if self.kind == "object":
            return self.fields.get(name)
        return None


def _kind(type_: str) -> str:
    base = type_.removesuffix(" or none")
    return {"object": "object", "list": "list", "mapping": "mapping", "any": "any"}.get(
        base, "scalar")


def build_shapes(placeholders: Iterable[Placeholder] = PLACEHOLDERS) -> dict[str, Shape]:
    """The top-level names and their shapes, built from the paths."""
    roots: dict[str, Shape] = {}
    for item in placeholders:
        parts = item.path.split(".")
        container = roots
        parent: Shape | None = None
        label = ""
        for depth, part in enumerate(parts):
            is_items = part.endswith("[]")
            name = part.removesuffix("[]")
            label = f"{label}.{name}" if label else name
            if parent is not None and parent.kind == "list":
                assert parent.items is not None
                container = parent.items.fields
            shape = container.get(name)
            if shape is None:
                last = depth == len(parts) - 1
                shape = container[name] = Shape(label, _kind(item.type) if last else "object")
            if is_items and shape.items is None:
                shape.items = Shape(f"{label}[]", "object")
            parent = shape
            container = shape.fields
    return roots


LOOP = Shape("loop", "object", {name: Shape(f"loop.{name}", "scalar") for name in LOOP_FIELDS})


def reference_table(placeholders: Iterable[Placeholder] = PLACEHOLDERS) -> str:
    """The Markdown table of placeholders in the reference page."""
    rows = ["| Placeholder | Type | Meaning |", "| --- | --- | --- |"]
    rows += [f"| `{p.path}` | {p.type} | {p.description} |" for p in placeholders]
    return "\n".join(rows)
