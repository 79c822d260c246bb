"""Who may do what: one pure access policy, asked before anything is loaded for writing.

Every command carries an :class:`~helpdesk_core.domain.values.Actor`. The caller names the
command as an :class:`Action`, describes the ticket it is about (if any) as a
:class:`TicketScope` built from a read-only load, and calls :func:`check`; a refusal is
:class:`~helpdesk_core.errors.PermissionDenied`, raised before a unit of work is opened for
writing, so nothing is written. :func:`allowed` answers the same question without raising (to
hide a button, to filter a list).

The rules are one table, :data:`RULES`: each action maps to a :class:`Who`, and :func:`check`
only reads that table. Today there are four answers:

- ``Who.STAFF``: agents and the system only;
- ``Who.OWN_TICKET``: also a customer, on a ticket whose customer or participant they are;
- ``Who.OWN_TICKET_OR_NONE``: also a customer, before there is a ticket (opening one, uploading
  an attachment for a first message, listing their own tickets) or on a ticket of theirs;
- ``Who.EVERYONE``: every actor, a customer without an id (an anonymous visitor) too — what
  they then see is the action's own rule (reading the knowledge base: a customer sees only
  public, published articles; :meth:`KbArticle.is_public`).

Agents (each within their role) and the system may do everything. A customer is an actor with
kind ``customer`` whose ``id`` is a contact id; a customer without an id (an unknown sender)
owns no ticket, so they may only do what needs none.

Agents have roles (:class:`~helpdesk_core.domain.staff.Role`, from the staff directory):
:data:`LEAST_ROLE` says which role each action takes, and the facade's guard passes the
agent's role to :func:`check`. An agent without a known role — one the staff directory does
not list — may do everything, as the system may.

Agents may see only some tickets (:class:`~helpdesk_core.domain.staff.AgentScope`): the
facade's guard passes such an agent's teams as ``teams=`` and :class:`TicketScope` carries
the ticket's ``team`` and ``assignee``; a ticket of another team, not assigned to the agent,
is refused with the reason :data:`NOT_VISIBLE` — asked before the role, so that nothing else
is said about it — and the guard answers that refusal as ``TicketNotFound``, exactly as for a
ticket that does not exist.

The seam for what follows (organisations): :class:`TicketScope` already carries
``organisation_id``, and an answer such as "a customer of the ticket's organisation, by role"
lets a company's contacts see each other's tickets.

Status changes are named by :func:`status_action` / :func:`transition_action` (reopen, close or
another transition) and articles by :func:`article_action`, so the facade has one place to ask.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.staff import Role
from helpdesk_core.domain.status import StatusCategory, Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, ActorKind
from helpdesk_core.errors import PermissionDenied

__all__ = [
    "LEAST_ROLE",
    "NOT_VISIBLE",
    "RULES",
    "Action",
    "TicketScope",
    "Who",
    "allowed",
    "article_action",
    "check",
    "sees",
    "status_action",
    "transition_action",
]


class Action(enum.Enum):
    """Every command the helpdesk offers, named for the access check.

    The value is what :class:`PermissionDenied` carries as ``action``; it is stable (hosts may
    log it or map it to their own permissions).
    """

    # reading
    READ_TICKET = "read_ticket"  # the ticket: number, subject, status
    READ_PUBLIC_ARTICLES = "read_public_articles"  # the messages the customer may see
    READ_INTERNAL = "read_internal"  # history, notes, outbox, SLA clocks, assignment, calls
    VIEW_QUEUE = "view_queue"  # lists of tickets across customers
    LIST_OWN_TICKETS = "list_own_tickets"  # a customer's own tickets, in the portal
    LOOK_UP_CALLER = "look_up_caller"  # screen pop: caller, organisation, tickets, orders
    # what a customer does on their own ticket
    REPLY = "reply"  # a customer's public message
    ATTACH = "attach"  # upload a file for a message
    REOPEN = "reopen"  # back to open from waiting on customer, resolved or closed
    CLOSE = "close"  # to resolved or closed (see status_action)
    # opening tickets
    OPEN_OWN_TICKET = "open_own_ticket"  # a customer's web form
    OPEN_FOR_CUSTOMER = "open_for_customer"  # staff entry, a ticket from an order
    # working on a ticket
    TRANSITION = "transition"  # any other status change
    ASSIGN = "assign"  # assign and reassign (agent, team)
    SET_PRIORITY = "set_priority"
    SET_DUE = "set_due"
    TAG = "tag"  # tag and untag
    SET_FIELD = "set_field"  # custom fields
    LINK = "link"  # links to host records and to other tickets
    MERGE = "merge"  # merge tickets, undo a merge, split articles off
    ADD_NOTE = "add_note"  # internal notes
    START_FOLLOWUP = "start_followup"  # exchange, RMA, repair, refund through the host
    SEND_REPLY = "send_reply"  # an agent's message to the customer
    RESEND = "resend"  # queue a failed or uncertain outgoing message again
    RENDER_TEMPLATE = "render_template"  # preview or render a template for a ticket
    RECORD_CALL = "record_call"  # what was agreed on the phone
    # signed portal links
    ISSUE_LINK = "issue_link"  # a link that opens one ticket for its customer
    REVOKE_LINK = "revoke_link"  # revoke one link, or every link of a ticket or contact
    # running the helpdesk
    RECEIVE_INBOUND = "receive_inbound"  # mail, SMS, delivery reports, missed calls
    MANAGE_TEMPLATES = "manage_templates"  # list, save, delete templates
    CONFIGURE = "configure"  # incident types and other settings
    RUN_BACKGROUND_WORK = "run_background_work"  # fetch mail, outbox, SLA sweeps, staged mail
    # the knowledge base
    READ_KB = "read_kb"  # articles and suggestions; a customer sees public, published ones
    MANAGE_KB = "manage_kb"  # write, publish, archive articles; their revisions
    # personal data (GDPR)
    EXPORT_PERSONAL_DATA = "export_personal_data"  # everything stored about one contact
    ERASE_PERSONAL_DATA = "erase_personal_data"  # anonymise one contact everywhere


class Who(enum.Enum):
    """Who may do an action; the value is how the reference documentation says it."""

    STAFF = "agents and the system"
    OWN_TICKET = "agents and the system; a customer on their own ticket"
    OWN_TICKET_OR_NONE = (
        "agents and the system; a customer with no ticket yet, or on their own ticket"
    )
    EVERYONE = "everyone, customers and anonymous visitors too"


_A, _W = Action, Who

#: The whole policy: every action and who may do it. docs/reference/access.md shows this table
#: and a test keeps the two the same.
RULES: Mapping[Action, Who] = MappingProxyType(
    {
        _A.READ_TICKET: _W.OWN_TICKET,
        _A.READ_PUBLIC_ARTICLES: _W.OWN_TICKET,
        _A.READ_INTERNAL: _W.STAFF,
        _A.VIEW_QUEUE: _W.STAFF,
        _A.LIST_OWN_TICKETS: _W.OWN_TICKET_OR_NONE,
        _A.LOOK_UP_CALLER: _W.STAFF,
        _A.REPLY: _W.OWN_TICKET,
        _A.ATTACH: _W.OWN_TICKET_OR_NONE,
        _A.REOPEN: _W.OWN_TICKET,
        _A.CLOSE: _W.OWN_TICKET,
        _A.OPEN_OWN_TICKET: _W.OWN_TICKET_OR_NONE,
        _A.OPEN_FOR_CUSTOMER: _W.STAFF,
        _A.TRANSITION: _W.STAFF,
        _A.ASSIGN: _W.STAFF,
        _A.SET_PRIORITY: _W.STAFF,
        _A.SET_DUE: _W.STAFF,
        _A.TAG: _W.STAFF,
        _A.SET_FIELD: _W.STAFF,
        _A.LINK: _W.STAFF,
        _A.MERGE: _W.STAFF,
        _A.ADD_NOTE: _W.STAFF,
        _A.START_FOLLOWUP: _W.STAFF,
        _A.SEND_REPLY: _W.STAFF,
        _A.RESEND: _W.STAFF,
        _A.RENDER_TEMPLATE: _W.STAFF,
        _A.RECORD_CALL: _W.STAFF,
        _A.ISSUE_LINK: _W.STAFF,
        _A.REVOKE_LINK: _W.STAFF,
        _A.RECEIVE_INBOUND: _W.STAFF,
        _A.MANAGE_TEMPLATES: _W.STAFF,
        _A.CONFIGURE: _W.STAFF,
        _A.RUN_BACKGROUND_WORK: _W.STAFF,
        _A.READ_KB: _W.EVERYONE,
        _A.MANAGE_KB: _W.STAFF,
        _A.EXPORT_PERSONAL_DATA: _W.STAFF,
        _A.ERASE_PERSONAL_DATA: _W.STAFF,
    }
)

_R = Role
_READING = {_A.READ_TICKET, _A.READ_PUBLIC_ARTICLES, _A.READ_INTERNAL, _A.VIEW_QUEUE,
            _A.LIST_OWN_TICKETS, _A.LOOK_UP_CALLER, _A.READ_KB, _A.RENDER_TEMPLATE}
_NOTES = {_A.ADD_NOTE, _A.ATTACH}
_SUPERVISING = {_A.MANAGE_TEMPLATES, _A.RUN_BACKGROUND_WORK, _A.EXPORT_PERSONAL_DATA}
_ADMINISTERING = {_A.CONFIGURE, _A.ERASE_PERSONAL_DATA}

#: The least role an agent needs for each action (an agent the staff directory does not list,
#: where it lists none, may do everything). docs/reference/access.md shows it; a test keeps
#: the two the same.
LEAST_ROLE: Mapping[Action, Role] = MappingProxyType({
    action: (_R.READ_ONLY if action in _READING else _R.LIGHT_AGENT if action in _NOTES
             else _R.SUPERVISOR if action in _SUPERVISING
             else _R.ADMIN if action in _ADMINISTERING else _R.AGENT)
    for action in Action
})

_STAFF_KINDS = frozenset({ActorKind.AGENT, ActorKind.SYSTEM})


def _contact_ids(values: Iterable[str | None]) -> frozenset[str]:
    """Converter: the non-empty ids only (an empty id must never match an empty id)."""
    if isinstance(values, str):
        values = (values,)
    return frozenset(v for v in values if isinstance(v, str) and v)


@attrs.frozen
class TicketScope:
    """What the policy needs to know about a ticket, taken from a read-only load.

    ``participant_ids`` are contact ids. A ticket keeps its participants as e-mail addresses
    (:func:`helpdesk_core.domain.ticket.participants`); the caller resolves those it knows to
    contact ids, because an actor is identified by contact id only.
    """

    ticket_id: str
    number: str
    customer_id: str | None = None
    organisation_id: str | None = None
    participant_ids: frozenset[str] = attrs.field(default=frozenset(), converter=_contact_ids)
    team: str | None = None
    assignee: str | None = None

    @classmethod
    def from_ticket(cls, ticket: Ticket, participant_ids: Iterable[str] = ()) -> TicketScope:
        return cls(ticket_id=ticket.id, number=ticket.number, customer_id=ticket.customer_id,
                   organisation_id=ticket.organisation_id,
                   participant_ids=participant_ids, team=ticket.team,
                   assignee=ticket.assignee)

    def involves(self, contact_id: str | None) -> bool:
        """Is ``contact_id`` the ticket's customer or one of its participants?"""
        if not contact_id:
            return False
        return contact_id == self.customer_id or contact_id in self.participant_ids


#: The reason of a refusal because the agent may not see the ticket at all; the facade's
#: guard answers it as ``TicketNotFound``.
NOT_VISIBLE = "the ticket is outside the teams the agent sees"


def sees(actor: Actor, scope: TicketScope, teams: frozenset[str] | None) -> bool:
    """May the agent ``actor``, who sees the tickets of ``teams`` (None: every ticket), see
    the ticket ``scope`` describes? Yes when its team is one of ``teams`` or it is assigned
    to them."""
    if teams is None:
        return True
    return ((scope.team is not None and scope.team in teams)
            or (bool(actor.id) and scope.assignee == actor.id))


def _refusal(actor: Actor, action: Action, scope: TicketScope | None,
             role: Role | None = None, teams: frozenset[str] | None = None) -> str | None:
    """Why ``actor`` may not do ``action`` (on ``scope``), or None when they may."""
    if actor.kind is ActorKind.AGENT and scope is not None and not sees(actor, scope, teams):
        return NOT_VISIBLE
    if actor.kind is ActorKind.AGENT and role is not None:
        least = LEAST_ROLE[action]
        if role.rank < least.rank:
            return f"the role {role.value} may not; it takes {least.value} or above"
        return None
    if actor.kind in _STAFF_KINDS:
        return None
    if actor.kind is not ActorKind.CUSTOMER:  # fail closed on anything unforeseen
        return "unknown kind of actor"
    who = RULES.get(action, Who.STAFF)
    if who is Who.STAFF:
        return "only agents and the system may"
    if who is Who.EVERYONE:
        return None
    if scope is None:
        if who is Who.OWN_TICKET_OR_NONE:
            return None
        return "a customer may do this only on a ticket of theirs"
    if not actor.id:
        return "a customer without an id has no tickets"
    if not scope.involves(actor.id):
        return "neither the ticket's customer nor a participant"
    return None


def allowed(actor: Actor, action: Action, scope: TicketScope | None = None, *,
            role: Role | None = None, teams: frozenset[str] | None = None) -> bool:
    """May ``actor`` do ``action`` (on the ticket ``scope`` describes)? ``role``: the
    agent's role, when the staff directory knows it (None: an agent may do everything).
    ``teams``: the teams whose tickets an agent who sees only their teams' tickets sees
    (None: the agent sees every ticket); see :func:`sees`."""
    return _refusal(actor, action, scope, role, teams) is None


def check(actor: Actor, action: Action, scope: TicketScope | None = None, *,
          role: Role | None = None, teams: frozenset[str] | None = None) -> None:
    """Return if ``actor`` may do ``action`` (on ``scope``), else raise PermissionDenied
    (with the reason :data:`NOT_VISIBLE` for a ticket the agent may not see)."""
    reason = _refusal(actor, action, scope, role, teams)
    if reason is not None:
        raise PermissionDenied(actor, action.value,
                               ticket=scope.number if scope is not None else None,
                               reason=reason)


_C = StatusCategory
_REOPENED_FROM = frozenset({_C.WAITING_ON_CUSTOMER, _C.RESOLVED, _C.CLOSED})


def status_action(current: StatusCategory, target: StatusCategory) -> Action:
    """The action a status change from ``current`` to ``target`` (categories) amounts to.

    - ``REOPEN``: back to open from waiting on the customer, resolved or closed — what a
      customer's reply does by mail. Not from waiting on a third party: ending that wait (and
      restarting the SLA clock it pauses) is the agents' decision.
    - ``CLOSE``: an active ticket to resolved or closed, or a resolved one to closed. Both
      count, because a customer's "that solved it" lands on resolved in some workflows and on
      closed in others, and accepting resolved work closes it.
    - ``TRANSITION``: anything else, including moves between two statuses of one category.
    """
    if target is _C.OPEN and current in _REOPENED_FROM:
        return Action.REOPEN
    if target is _C.CLOSED and (current.is_active or current is _C.RESOLVED):
        return Action.CLOSE
    if target is _C.RESOLVED and current.is_active:
        return Action.CLOSE
    return Action.TRANSITION


def transition_action(workflow: Workflow, current: str, target: str) -> Action:
    """:func:`status_action` for status keys of ``workflow``. An unknown key gives
    ``TRANSITION``, so a customer is refused before the workflow is asked about the move."""
    source, goal = workflow.statuses.get(current), workflow.statuses.get(target)
    if source is None or goal is None or source.key == goal.key:
        return Action.TRANSITION
    return status_action(source.category, goal.category)


def article_action(direction: Direction, *, public: bool | None = None) -> Action:
    """The action adding an article amounts to: an internal (or unpublished inbound) one is a
    note, an outbound one a reply to the customer, an inbound one the customer's reply."""
    if direction is Direction.INTERNAL or (direction is Direction.INBOUND and public is False):
        return Action.ADD_NOTE
    if direction is Direction.OUTBOUND:
        return Action.SEND_REPLY
    return Action.REPLY
