"""Opening tickets: web form, staff entry, from an order — and the one way every channel
builds a new ticket (:meth:`Intake.build`: number, first article, classification,
assignment). The side rules (SLA record and due date, acknowledgement, outbox) are the
message bus's in-transaction handlers; a refused request writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.assignment import known_team
from helpdesk_core.domain.contacts import Contact, Order, normalize_email, normalize_phone
from helpdesk_core.domain.extensions import Classification, KeywordRule, combine_classifications
from helpdesk_core.domain.incident_types import IncidentTypeTree
from helpdesk_core.domain.intake import StaffVia, WebFormSubmission, validate_language
from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel, EntityRef, Priority, clean_text
from helpdesk_core.errors import OrderNotFound, UnknownStaff, ValidationError
from helpdesk_core.ports import Clock, Directory
from helpdesk_core.services.assignment import Assignment
from helpdesk_core.services.unit_of_work import Unit, Units

__all__ = ["Intake"]

log = logging.getLogger("helpdesk_core.intake")
CLASSIFIER = Actor.system("classifier")
MAX_BODY = 100_000  # characters of a ticket's first message


class Intake:
    def __init__(self, *, units: Units, clock: Clock, directory: Directory,
                 numbering: TicketNumberFormat, assignment: Assignment,
                 classifiers: Callable[[Ticket, str], list[Classification]],
                 rules: tuple[KeywordRule, ...] = (), default_language: str = "en") -> None:
        self.units = units
        self.clock = clock
        self.directory = directory
        self.numbering = numbering
        self.assignment = assignment
        self.classifiers = classifiers
        self.rules = rules
        self.default_language = default_language

    def open_from_web_form(self, fields: Mapping[str, object]) -> Ticket:
        """A customer's web form. The order number, if given, must be the customer's own."""
        form = WebFormSubmission.parse(fields)
        customer = self.directory.customer_by_email(form.email)
        order = None
        if form.order_number:
            order = self._order(form.order_number)
            order.ensure_belongs_to(customer_id=customer.id if customer else None, email=form.email)
        if customer is None:
            customer = self.directory.create_customer(
                name=form.name, email=form.email, language=form.language
            )
        return self._open(
            subject=form.subject,
            body=form.message,
            channel=Channel.WEB_FORM,
            actor=Actor.customer(customer.id, customer.name or form.name),
            direction=Direction.INBOUND,
            customer=customer,
            links=[order.ref] if order else [],
            language=form.language,
            data={"order_number": order.number} if order else {},
        )

    def open_by_staff(
        self,
        *,
        agent: Actor,
        via: StaffVia | str,
        subject: str,
        message: str,
        customer_id: str | None = None,
        customer_email: str | None = None,
        customer_name: str = "",
        customer_phone: str | None = None,
        order_number: str | None = None,
        priority: Priority | str | None = None,
        incident_type: str | None = None,
        team: str | None = None,
        assignee: str | None = None,
        tags: Iterable[str] = (),
        custom_fields: Mapping[str, Any] | None = None,
        language: str | None = None,
    ) -> Ticket:
        """A request typed in by staff: taken on the phone, in the store, or found in a return.

        The customer is named by id, or found (and if unknown, created) by e-mail or phone.
        """
        # Everything that can refuse the request is checked before a contact is created.
        via = StaffVia.of(via)
        language = validate_language(language)
        assignee, team = self.assignment.named(assignee, team)
        self._check_incident_type(incident_type)
        tags = tuple(tags)
        self._rehearse(subject=subject, body=message, channel=via.channel, actor=agent,
                       priority=priority, tags=tags, custom_fields=custom_fields, team=team,
                       assignee=assignee, language=language)
        customer, new_customer = self._staff_customer(
            customer_id, customer_email, customer_name, customer_phone
        )
        order = None
        if order_number:
            order = self._order(order_number)
            if customer is not None:
                order.ensure_belongs_to(customer_id=customer.id, email=customer.email)
            elif new_customer is not None:
                order.ensure_belongs_to(customer_id=None, email=new_customer.get("email"))
        if customer is None and new_customer is not None:
            customer = self.directory.create_customer(**new_customer)
        if customer is None and order is not None:
            customer = self._order_customer(order)
        return self._open(
            subject=subject, body=message, channel=via.channel, actor=agent,
            direction=Direction.INBOUND, customer=customer, links=[order.ref] if order else [],
            priority=priority, incident_type=incident_type, team=team, assignee=assignee,
            tags=tags, custom_fields=custom_fields, language=language, data={"via": via.value},
        )

    def open_from_order(
        self,
        *,
        agent: Actor,
        order_number: str,
        subject: str,
        message: str,
        priority: Priority | str | None = None,
        incident_type: str | None = None,
        team: str | None = None,
        assignee: str | None = None,
        tags: Iterable[str] = (),
    ) -> Ticket:
        """The fastest entry: find the order, open a ticket linked to it and to its customer."""
        assignee, team = self.assignment.named(assignee, team)
        self._check_incident_type(incident_type)
        tags = tuple(tags)
        self._rehearse(subject=subject, body=message, channel=Channel.STAFF, actor=agent,
                       priority=priority, tags=tags, team=team, assignee=assignee)
        order = self._order(order_number)
        customer = self._order_customer(order)
        return self._open(
            subject=subject, body=message, channel=Channel.STAFF, actor=agent,
            direction=Direction.INTERNAL if agent.kind.value == "agent" else Direction.INBOUND,
            customer=customer, links=[order.ref], priority=priority, incident_type=incident_type,
            team=team, assignee=assignee, tags=tags, data={"order_number": order.number},
        )

    # -- shared steps ------------------------------------------------------------------------

    def _order(self, number: str) -> Order:
        order = self.directory.order_by_number(number)
        if order is None:
            raise OrderNotFound(number)
        return order

    def _order_customer(self, order: Order) -> Contact | None:
        if order.customer_id:
            found = self.directory.customer(order.customer_id)
            if found is not None:
                return found
        if order.customer_email:
            email = normalize_email(order.customer_email)
            return self.directory.customer_by_email(email) or self.directory.create_customer(
                name="", email=email
            )
        return None

    def _staff_customer(
        self, customer_id: str | None, email: str | None, name: str, phone: str | None
    ) -> tuple[Contact | None, dict[str, str] | None]:
        """The known customer, or what to create one from once the request is accepted."""
        if customer_id:
            found = self.directory.customer(customer_id)
            if found is None:
                raise ValidationError(f"no customer {customer_id!r}", field="customer_id")
            return found, None
        if email:
            email = normalize_email(email, field="customer_email")
            e164 = normalize_phone(phone, field="customer_phone") if phone else None
            found = self.directory.customer_by_email(email)
            return found, None if found else {"name": name, "email": email,
                                              **({"phone": e164} if e164 else {})}
        if phone:
            e164 = normalize_phone(phone, field="customer_phone")
            found = self.directory.customer_by_phone(e164)
            return found, None if found else {"name": name, "phone": e164}
        return None, None

    def _check_incident_type(self, key: str | None) -> None:
        if key is None:
            return
        with self.units(read_only=True) as unit:
            IncidentTypeTree.of(unit.incident_types.all()).get(key)

    def _rehearse(self, *, body: str, priority: Priority | str | None,
                  custom_fields: Mapping[str, Any] | None = None, **ticket: Any) -> None:
        """Open the ticket on paper only: whatever would refuse it refuses now, before a
        contact is created for it (a refused request writes nothing)."""
        clean_text(body, field="message", max_length=MAX_BODY)
        Ticket.open(number="-", at=self.clock.now(), priority=priority or Priority.NORMAL,
                    custom_fields=dict(custom_fields or {}), **ticket)

    def _open(self, **kwargs: Any) -> Ticket:
        """Create the ticket in a transaction of its own."""
        with self.units() as unit:
            ticket = self.build(unit, **kwargs)
            unit.commit()
        return ticket

    def build(
        self,
        unit: Unit,
        *,
        subject: str,
        body: str,
        channel: Channel,
        actor: Actor,
        direction: Direction,
        customer: Contact | None,
        links: list[EntityRef],
        priority: Priority | str | None = None,
        incident_type: str | None = None,
        team: str | None = None,
        assignee: str | None = None,
        tags: Iterable[str] = (),
        custom_fields: Mapping[str, Any] | None = None,
        language: str | None = None,
        data: dict[str, Any] | None = None,
        channel_owner: str | None = None,
        article: Mapping[str, Any] | None = None,
    ) -> Ticket:
        """A new ticket with its first article, numbered, classified, assigned and added to
        ``unit`` — every channel opens its tickets through here.

        The caller may change it further and commits; the bus's handlers then add the SLA
        record, the acknowledgement and the rest. ``article`` holds extra keyword arguments
        for the first article (meta, attachments, external id); ``channel_owner`` is the
        person responsible for the channel.
        """
        body = clean_text(body, field="message", max_length=MAX_BODY)
        now = self.clock.now()
        tree = IncidentTypeTree.of(unit.incident_types.all())
        if incident_type is not None:
            tree.get(incident_type)  # unknown types are refused, not silently stored
        seq = unit.sequences.next_value(self.numbering.scope(now))
        ticket = Ticket.open(
            number=self.numbering.render(seq=seq, created_at=now),
            subject=subject, channel=channel, at=now, actor=actor,
            priority=priority or Priority.NORMAL,
            customer_id=customer.id if customer else None,
            organisation_id=customer.organisation_id if customer else None,
            incident_type=incident_type, links=links, tags=tags,
            custom_fields=dict(custom_fields or {}), team=team, assignee=assignee,
            language=language or (customer.language if customer else None)
            or self.default_language,
            data=data,
        )
        ticket.add_article(direction=direction, channel=channel, author=actor, body_text=body,
                           at=now, subject=ticket.subject, **dict(article or {}))
        self._classify(ticket, tree, f"{ticket.subject}\n{body}", explicit={
            "priority": priority is not None, "incident_type": incident_type is not None,
            "team": team is not None,
        })
        if ticket.assignee is None:
            self.assignment.assign_new(unit, ticket, tree, customer, channel_owner)
        unit.tickets.add(ticket)
        return ticket

    def _classify(self, ticket: Ticket, tree: IncidentTypeTree, text: str,
                  explicit: dict[str, bool]) -> None:
        """Rules and plugin classifiers fill in what the caller did not decide."""
        suggestions = [s for rule in self.rules if (s := rule.classify(text))]
        suggestions += self.classifiers(ticket, text)
        if not suggestions:
            return
        best = combine_classifications(suggestions)
        now = ticket.updated_at
        if best.incident_type and not explicit["incident_type"] and best.incident_type in tree:
            ticket.set_incident_type(best.incident_type, at=now, actor=CLASSIFIER)
        if best.priority and not explicit["priority"]:
            ticket.set_priority(best.priority, at=now, actor=CLASSIFIER)
        if best.team and not explicit["team"]:
            try:
                team = known_team(self.assignment.staff, best.team)
            except UnknownStaff as unknown:
                # A classifier's suggestion: the ticket is not refused for it, only not used.
                log.warning("classification %s suggested a team it cannot have: %s",
                            best.source, unknown)
            else:
                ticket.set_team(team, at=now, actor=CLASSIFIER)
        for tag in sorted(best.tags):
            ticket.add_tag(tag, at=now, actor=CLASSIFIER)
