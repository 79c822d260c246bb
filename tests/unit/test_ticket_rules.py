"""Rules that every channel shares, on the model: a customer's reply, following merges,
sending a message, and the one header policy of everything we send."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.outgoing import (
    MAX_REFERENCES,
    Automation,
    Draft,
    HeaderPolicy,
    build_message,
    headers,
)
from helpdesk_core.domain.status import DEFAULT_TRANSITIONS, StatusCategory, Workflow
from helpdesk_core.domain.ticket import REOPENED_BY_CUSTOMER, Ticket, follow_merges
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import MergeConflict
from helpdesk_core.testing.builders import AGENT, T0, open_ticket

WORKFLOW = Workflow.default()
JANA = Actor.customer("c-1", "Jana")
POLICY = HeaderPolicy("shop.example", "X-Shop-Loop", "shop")
# A way into every category of the default workflow, from new.
ROUTES = {
    StatusCategory.NEW: [],
    StatusCategory.OPEN: ["open"],
    StatusCategory.WAITING_ON_CUSTOMER: ["open", "waiting_on_customer"],
    StatusCategory.WAITING_ON_THIRD_PARTY: ["open", "waiting_on_third_party"],
    StatusCategory.RESOLVED: ["open", "resolved"],
    StatusCategory.CLOSED: ["open", "resolved", "closed"],
}


def _in(category: StatusCategory) -> Ticket:
    ticket = open_ticket(customer_id="c-1")
    for step in ROUTES[category]:
        ticket.transition(step, workflow=WORKFLOW, at=T0, actor=AGENT)
    assert ticket.status_category is category
    return ticket


# -- a customer's reply, on any channel ---------------------------------------------------------


@given(category=st.sampled_from(sorted(ROUTES, key=lambda c: c.value)),
       channel=st.sampled_from([Channel.EMAIL, Channel.SMS, Channel.WEB_FORM, Channel.PHONE]),
       automatic=st.booleans())
@settings(max_examples=120, deadline=None)
def test_a_customer_reply_reopens_exactly_what_waits_on_them_or_was_finished(
        category: StatusCategory, channel: Channel, automatic: bool) -> None:
    ticket = _in(category)
    article = ticket.customer_replied(channel=channel, author=JANA, body_text="Still broken.",
                                      at=T0 + timedelta(hours=1), workflow=WORKFLOW,
                                      automatic=automatic)
    assert article.direction is Direction.INBOUND
    assert article.public
    assert article.channel is channel
    reopened = category in REOPENED_BY_CUSTOMER and not automatic
    expected = StatusCategory.OPEN if reopened else category
    assert ticket.status_category is expected
    moves = [e for e in ticket.pending_events if e.kind is EventKind.STATUS_CHANGED
             and e.at > T0]
    assert len(moves) == (1 if reopened else 0)


def test_the_reopening_can_be_credited_to_the_channel() -> None:
    ticket = _in(StatusCategory.RESOLVED)
    mailer = Actor.system("mail")
    ticket.customer_replied(channel=Channel.EMAIL, author=JANA, body_text="No.", at=T0,
                            workflow=WORKFLOW, reopened_by=mailer)
    assert ticket.pending_events[-1].actor == mailer


def test_a_workflow_without_a_way_back_keeps_the_status_and_the_message() -> None:
    ticket = _in(StatusCategory.CLOSED)
    strict = Workflow.with_custom((), transitions=frozenset(
        move for move in DEFAULT_TRANSITIONS if move[0] is not StatusCategory.CLOSED))
    ticket.customer_replied(channel=Channel.SMS, author=JANA, body_text="Hello?", at=T0,
                            workflow=strict)
    assert ticket.status_category is StatusCategory.CLOSED
    assert ticket.pending_articles[-1].body_text == "Hello?"


# -- following merges ---------------------------------------------------------------------------


def test_follow_merges_reaches_the_ticket_that_was_not_merged() -> None:
    chain = [open_ticket() for _ in range(4)]
    for ticket, target in itertools.pairwise(chain):
        ticket.merged_into = target.id
    by_id = {t.id: t for t in chain}
    assert follow_merges(chain[0], by_id.__getitem__) is chain[-1]
    assert follow_merges(chain[-1], by_id.__getitem__) is chain[-1]


def test_a_merge_cycle_is_a_merge_conflict_not_an_endless_loop() -> None:
    one, two = open_ticket(), open_ticket()
    one.merged_into, two.merged_into = two.id, one.id
    by_id = {t.id: t for t in (one, two)}
    with pytest.raises(MergeConflict):
        follow_merges(one, by_id.__getitem__)


# -- sending, and the one header policy ---------------------------------------------------------

addresses = st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True)
message_ids = st.from_regex(r"<[a-z0-9]{1,12}@[a-z]{1,8}\.example>", fullmatch=True)
drafts = st.builds(
    Draft, kind=st.sampled_from(["reply", "acknowledgement", "resolution", "escalation"]),
    channel=st.sampled_from([Channel.EMAIL, Channel.SMS]), sender=addresses,
    recipients=st.lists(addresses, min_size=1, max_size=3).map(tuple),
    subject=st.text(max_size=30), text=st.text(max_size=30),
    cc=st.lists(addresses, max_size=2).map(tuple),
    automation=st.sampled_from(list(Automation)),
    in_reply_to=st.none() | message_ids,
    references=st.lists(message_ids, max_size=30).map(tuple))


@given(draft=drafts)
@settings(max_examples=300, deadline=None)
def test_one_header_policy_for_every_message(draft: Draft) -> None:
    found = headers(draft, POLICY)
    if draft.channel is Channel.SMS:
        assert found == {}
        return
    automatic = draft.automation is not Automation.NONE
    assert ("Auto-Submitted" in found) is automatic
    assert (found.get("X-Shop-Loop") == "shop") is automatic
    assert (found.get("X-Auto-Response-Suppress") == "All") is automatic
    if automatic:
        assert found["Auto-Submitted"] == draft.automation.value
    threaded = bool(draft.in_reply_to or draft.references)
    assert ("In-Reply-To" in found) is threaded
    if threaded:
        refs = found["References"].split(" ")
        assert len(refs) <= MAX_REFERENCES
        assert found["In-Reply-To"] in refs  # the message answered is always referenced
        if draft.in_reply_to:
            assert found["In-Reply-To"] == draft.in_reply_to
    message = build_message(draft, policy=POLICY, ticket_id="t-1", at=T0)
    assert set(draft.recipients) | set(draft.cc) == set(message.recipients)
    assert message.headers == found


def test_send_writes_the_outbound_article_the_message_and_the_record() -> None:
    ticket = open_ticket(customer_id="c-1")
    sent = ticket.send(Draft(kind="reply", channel=Channel.EMAIL, sender="help@shop.example",
                             recipients=("jana@example.cz",), subject="Re: Konvice",
                             text="Posíláme štítek."), author=AGENT, at=T0, policy=POLICY)
    assert sent.article.direction is Direction.OUTBOUND
    assert sent.message.article_id == sent.article.id
    assert sent.message.message_id is not None
    assert sent.message.message_id.endswith("@shop.example>")
    assert sent.article.meta["message_id"] == sent.message.message_id
    assert sent.record is not None
    assert sent.record.message_id == sent.message.message_id
    assert ticket.pending_events[-1].kind is EventKind.ARTICLE_ADDED

    sms = ticket.send(Draft(kind="reply", channel=Channel.SMS, sender="+420800123456",
                            recipients=("+420601234567",), subject="", text="Hotovo."),
                      author=AGENT, at=T0, policy=POLICY)
    assert sms.message.message_id is None
    assert sms.record is None
