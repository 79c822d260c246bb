"""The side rules of merging and linking, as message-bus handlers.

* ``merge_notice`` (in transaction, on ``merged``): when the merge asked for it, the merged
  ticket's customer is told where the request continues — the ``merge_notice`` template
  rendered for the merged ticket, queued on the target (the merged ticket takes no articles)
  to the merged ticket's customer, in the merge's transaction.
* ``children_follow_parent`` (in transaction, on ``status_changed``): with
  ``MergePolicy.children_follow_parent``, a parent entering *resolved* resolves its open
  children (and theirs, as the bus hands their events round).
"""

from __future__ import annotations

import contextlib

from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.outgoing import Automation
from helpdesk_core.domain.relations import Relation, ticket_links
from helpdesk_core.domain.status import StatusCategory, Workflow
from helpdesk_core.domain.ticket import follow_merges
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import InvalidTransition, NotFound
from helpdesk_core.ports import Clock
from helpdesk_core.services.acknowledgement import machine_quiet
from helpdesk_core.services.merging import MergeNotice
from helpdesk_core.services.messagebus import Raised
from helpdesk_core.services.replies import Replies
from helpdesk_core.services.templates import Templates
from helpdesk_core.services.unit_of_work import Unit

__all__ = ["LINKS", "MERGER", "ChildrenFollowParent", "MergeNoticeSender"]

MERGER = Actor.system("merge")
LINKS = Actor.system("links")


class MergeNoticeSender:
    """The ``merge_notice`` in-transaction handler."""

    def __init__(self, *, templates: Templates, replies: Replies) -> None:
        self.templates = templates
        self.replies = replies

    def __call__(self, raised: Raised, unit: Unit) -> None:
        source = raised.ticket
        if not raised.of_kind(EventKind.MERGED) or unit.noted(source, MergeNotice) is None:
            return
        customer = self.templates.customer(source)
        if customer is None or not customer.emails or source.merged_into is None:
            return
        address = customer.emails[0]
        if machine_quiet(unit, address, policy=self.replies.policy,
                         now=self.replies.clock.now()) is not None:
            return
        try:
            rendered = self.templates.render(source, "merge_notice", customer=customer,
                                             unit=unit)
        except NotFound:
            return
        target = follow_merges(source, unit.tickets.get)
        draft = self.replies.draft(unit, target, author=MERGER, text=rendered.text,
                                   html=rendered.html, subject=rendered.subject or None,
                                   channel=Channel.EMAIL, kind="merge_notice", to=[address],
                                   automation=Automation.GENERATED)
        self.replies.send(unit, target, draft, author=MERGER)


class ChildrenFollowParent:
    """The ``children_follow_parent`` in-transaction handler."""

    def __init__(self, *, workflow: Workflow, clock: Clock) -> None:
        self.workflow = workflow
        self.clock = clock

    def __call__(self, raised: Raised, unit: Unit) -> None:
        resolved = [e for e in raised.of_kind(EventKind.STATUS_CHANGED)
                    if e.data.get("to_category") == StatusCategory.RESOLVED.value]
        parent = raised.ticket
        if not resolved or parent.status_category is not StatusCategory.RESOLVED:
            return
        links = ticket_links([*unit.history(parent), *parent.pending_events])
        for child_link in links:
            if child_link.relation is not Relation.CHILD:
                continue
            child = follow_merges(unit.tickets.get(child_link.ticket_id), unit.tickets.get)
            if not child.status_category.is_active:
                continue
            # A workflow without a way to resolved from the child's status leaves it.
            with contextlib.suppress(InvalidTransition):
                child.transition(StatusCategory.RESOLVED.value, workflow=self.workflow,
                                 at=self.clock.now(), actor=LINKS)
