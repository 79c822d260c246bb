"""Merging, undoing a merge, splitting and linking tickets through the facade (in memory)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.services.conftest import MakeHelpdesk

from helpdesk_core import Helpdesk
from helpdesk_core.domain import Direction
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.merging import MergePolicy
from helpdesk_core.domain.relations import Relation
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import MergeConflict, PermissionDenied, ValidationError
from helpdesk_core.inmemory import FakeClock

AGENT = Actor.agent("eva", name="Eva")


def _form(helpdesk: Helpdesk, message: str, *, email: str = "jana@example.cz",
          subject: str = "Broken kettle") -> str:
    return helpdesk.tickets.open_from_web_form(
        {"email": email, "name": "Jana", "subject": subject, "message": message}).number


def _texts(helpdesk: Helpdesk, key: str) -> list[str]:
    """The log without the acknowledgements the web form sent."""
    return [x.body_text for x in helpdesk.tickets.articles(key)
            if x.meta.get("kind") != "acknowledgement"]


def _comparable(helpdesk: Helpdesk, key: str) -> dict[str, object]:
    snap = helpdesk.tickets.get(key).snapshot()
    for moving in ("version", "event_seq", "updated_at"):
        snap.pop(moving)
    return snap


def test_merge_moves_articles_and_routes_old_number(helpdesk: Helpdesk,
                                                   clock: FakeClock) -> None:
    a = _form(helpdesk, "The kettle leaks.")
    clock.advance(timedelta(minutes=5))
    b = _form(helpdesk, "Also the lid is broken.")
    helpdesk.tickets.tag(b, "lid", actor=AGENT)
    merged = helpdesk.tickets.merge(a, [b], actor=AGENT, reason="same kettle")
    assert merged.sources == (b,)
    assert _texts(helpdesk, a) == ["The kettle leaks.", "Also the lid is broken."]
    assert helpdesk.tickets.articles(b) == []
    source = helpdesk.tickets.get(b)
    assert source.status == "merged"
    assert source.merged_into == helpdesk.tickets.get(a).id
    assert "lid" in helpdesk.tickets.get(a).tags
    kinds = [e.kind for e in helpdesk.tickets.history(b)]
    assert EventKind.MERGED in kinds
    assert EventKind.MERGE_RECEIVED in [e.kind for e in helpdesk.tickets.history(a)]
    # a note or a customer's reply addressed to the merged ticket lands on the target
    note = helpdesk.tickets.add_note(b, "late note", agent=AGENT)
    assert note.ticket_id == helpdesk.tickets.get(a).id
    assert _texts(helpdesk, a)[-1] == "late note"


def test_unmerge_restores_the_source_and_keeps_new_articles_on_target(
        helpdesk: Helpdesk, clock: FakeClock) -> None:
    a = _form(helpdesk, "The kettle leaks.")
    b = _form(helpdesk, "Lid broken.", subject="Lid")
    helpdesk.tickets.transition(b, "waiting_on_customer", actor=AGENT)
    helpdesk.tickets.tag(b, "lid", actor=AGENT)
    helpdesk.tickets.set_due(b, clock.now() + timedelta(days=3), actor=AGENT)
    before_a, before_b = _comparable(helpdesk, a), _comparable(helpdesk, b)
    b_articles = [x.id for x in helpdesk.tickets.articles(b)]
    helpdesk.tickets.merge(a, [b], actor=AGENT)
    clock.advance(timedelta(hours=1))
    helpdesk.tickets.add_note(a, "after the merge", agent=AGENT)
    restored = helpdesk.tickets.unmerge(b, actor=AGENT)
    assert restored.status == "waiting_on_customer"
    assert restored.merged_into is None
    assert _comparable(helpdesk, b) == before_b
    assert [x.id for x in helpdesk.tickets.articles(b)] == b_articles
    after_a = _comparable(helpdesk, a)
    assert after_a["tags"] == before_a["tags"]  # the merge's tag went with it
    assert _texts(helpdesk, a) == ["The kettle leaks.", "after the merge"]
    kinds = [e.kind for e in helpdesk.tickets.history(a)]
    assert EventKind.MERGE_RELEASED in kinds


def test_merge_refusals(helpdesk: Helpdesk) -> None:
    a, b = _form(helpdesk, "one"), _form(helpdesk, "two")
    other = _form(helpdesk, "someone else", email="petr@example.cz")
    with pytest.raises(MergeConflict, match="itself"):
        helpdesk.tickets.merge(a, [a], actor=AGENT)
    with pytest.raises(MergeConflict, match="different customers"):
        helpdesk.tickets.merge(a, [other], actor=AGENT)
    helpdesk.tickets.merge(a, [other], actor=AGENT, other_customers=True)
    helpdesk.tickets.merge(a, [b], actor=AGENT)
    with pytest.raises(MergeConflict, match="already merged"):
        helpdesk.tickets.merge(a, [b], actor=AGENT)
    with pytest.raises(MergeConflict, match="merged itself"):
        helpdesk.tickets.merge(b, [a], actor=AGENT)
    with pytest.raises(MergeConflict, match="not merged"):
        helpdesk.tickets.unmerge(a, actor=AGENT)
    with pytest.raises(PermissionDenied):
        helpdesk.tickets.merge(a, [b], actor=Actor.customer("c1"))


def test_more_sources_than_the_policy_allows(make_helpdesk: MakeHelpdesk) -> None:
    helpdesk = make_helpdesk(merging=MergePolicy(max_sources=2))
    keys = [_form(helpdesk, f"message {i}") for i in range(4)]
    with pytest.raises(MergeConflict, match="at most 2"):
        helpdesk.tickets.merge(keys[0], keys[1:], actor=AGENT)


def test_chain_routes_to_the_live_end_and_undo_in_any_order(helpdesk: Helpdesk,
                                                            clock: FakeClock) -> None:
    keys = []
    for text in ("first", "second", "third"):
        clock.advance(timedelta(minutes=1))
        keys.append(_form(helpdesk, text))
    a, b, c = keys
    helpdesk.tickets.merge(b, [a], actor=AGENT)
    helpdesk.tickets.merge(c, [b], actor=AGENT)
    assert _texts(helpdesk, c) == ["first", "second", "third"]
    # a note for the first ticket follows the chain to the live end
    assert helpdesk.tickets.add_note(a, "via a", agent=AGENT).ticket_id == (
        helpdesk.tickets.get(c).id)
    # undo the first merge while the second stands: a's article comes back from c
    helpdesk.tickets.unmerge(a, actor=AGENT)
    assert _texts(helpdesk, a) == ["first"]
    assert _texts(helpdesk, c) == ["second", "third", "via a"]
    helpdesk.tickets.unmerge(b, actor=AGENT)
    assert _texts(helpdesk, b) == ["second"]


def test_merge_notice_goes_to_the_sources_customer(helpdesk: Helpdesk) -> None:
    a = _form(helpdesk, "The kettle leaks.")
    b = _form(helpdesk, "Lid broken.", email="petr@example.cz")
    helpdesk.tickets.merge(a, [b], actor=AGENT, other_customers=True, notify=True)
    notices = [m for m in helpdesk.outbox.for_ticket(helpdesk.tickets.get(a).id)
               if m.kind == "merge_notice"]
    assert len(notices) == 1
    assert notices[0].recipients == ("petr@example.cz",)
    assert b in notices[0].subject
    assert a in notices[0].subject


def test_split_moves_chosen_articles_into_a_linked_ticket(helpdesk: Helpdesk) -> None:
    a = _form(helpdesk, "The kettle leaks.")
    note = helpdesk.tickets.add_note(a, "Customer also asks about a toaster", agent=AGENT)
    done = helpdesk.tickets.split(a, [note.id], actor=AGENT, subject="Toaster question")
    assert [x.id for x in helpdesk.tickets.articles(done.new.number)] == [note.id]
    assert _texts(helpdesk, a) == ["The kettle leaks."]
    assert {(x.relation, x.number) for x in helpdesk.tickets.links(a)} == {
        (Relation.SPLIT_INTO, done.new.number)}
    assert {(x.relation, x.number) for x in helpdesk.tickets.links(done.new.number)} == {
        (Relation.SPLIT_FROM, a)}
    with pytest.raises(ValidationError):
        helpdesk.tickets.split(a, ["no-such-article"], actor=AGENT)


def test_links_both_sides_and_parent_cycles_refused(helpdesk: Helpdesk) -> None:
    problem, incident, other = (_form(helpdesk, t) for t in ("problem", "incident", "other"))
    helpdesk.tickets.link(incident, problem, "parent", actor=AGENT)
    assert [(x.relation, x.number) for x in helpdesk.tickets.links(problem)] == [
        (Relation.CHILD, incident)]
    with pytest.raises(MergeConflict, match="ancestor"):
        helpdesk.tickets.link(problem, incident, "parent", actor=AGENT)
    with pytest.raises(MergeConflict, match="already has a parent"):
        helpdesk.tickets.link(incident, other, Relation.PARENT, actor=AGENT)
    helpdesk.tickets.link(other, problem, "related", actor=AGENT)
    helpdesk.tickets.unlink(problem, incident, actor=AGENT)
    assert [(x.relation, x.number) for x in helpdesk.tickets.links(problem)] == [
        (Relation.RELATED, other)]
    assert helpdesk.tickets.links(incident) == ()


def test_linking_or_unlinking_a_merged_ticket_is_a_merge_conflict(helpdesk: Helpdesk) -> None:
    # Found by the merge state machine: a link to a ticket merged since could be neither
    # made nor removed, and the refusal was a bare DomainError out of the merged ticket.
    a, b, c = (_form(helpdesk, t) for t in ("one", "two", "three"))
    helpdesk.tickets.link(a, b, "related", actor=AGENT)
    helpdesk.tickets.merge(c, [b], actor=AGENT)
    before = [helpdesk.tickets.history(x) for x in (a, b)]
    with pytest.raises(MergeConflict, match=f"{b} was merged"):
        helpdesk.tickets.unlink(a, b, actor=AGENT)
    with pytest.raises(MergeConflict, match=f"{b} was merged"):
        helpdesk.tickets.link(b, a, "duplicate_of", actor=AGENT)
    assert [helpdesk.tickets.history(x) for x in (a, b)] == before
    helpdesk.tickets.unmerge(b, actor=AGENT)
    helpdesk.tickets.unlink(a, b, actor=AGENT)
    assert helpdesk.tickets.links(a) == () == helpdesk.tickets.links(b)


def test_resolving_a_parent_resolves_children_by_policy(make_helpdesk: MakeHelpdesk) -> None:
    helpdesk = make_helpdesk(merging=MergePolicy(children_follow_parent=True))
    problem, incident = _form(helpdesk, "outage"), _form(helpdesk, "cannot log in")
    helpdesk.tickets.link(problem, incident, "child", actor=AGENT)
    helpdesk.tickets.transition(problem, "resolved", actor=AGENT)
    assert helpdesk.tickets.get(incident).status == "resolved"


def test_children_stay_without_the_policy(helpdesk: Helpdesk) -> None:
    problem, incident = _form(helpdesk, "outage"), _form(helpdesk, "cannot log in")
    helpdesk.tickets.link(problem, incident, "child", actor=AGENT)
    helpdesk.tickets.transition(problem, "resolved", actor=AGENT)
    assert helpdesk.tickets.get(incident).status == "new"


def test_duplicate_suggestions_have_scores_and_reasons(helpdesk: Helpdesk,
                                                       clock: FakeClock) -> None:
    first = _form(helpdesk, "The kettle leaks water", subject="Kettle leaking")
    clock.advance(timedelta(hours=2))
    _form(helpdesk, "Where is my invoice?", subject="Invoice", email="petr@example.cz")
    new = _form(helpdesk, "Still leaking", subject="Re: Kettle leaking!")
    found = helpdesk.tickets.duplicates(new)
    assert [s.number for s in found] == [first]
    assert found[0].score > 0.5
    assert "same customer" in found[0].reasons
    assert any(r.startswith("similar subject") for r in found[0].reasons)
    # suggestions only: nothing merged
    assert helpdesk.tickets.get(new).merged_into is None


def test_portal_reply_and_agent_reply_to_a_merged_ticket_land_on_target(
        helpdesk: Helpdesk) -> None:
    a, b = _form(helpdesk, "one"), _form(helpdesk, "two")
    helpdesk.tickets.merge(a, [b], actor=AGENT)
    customer = Actor.customer(helpdesk.tickets.get(b).customer_id or "")
    added = helpdesk.tickets.add_article(b, direction=Direction.INBOUND,
                                         channel=Channel.WEB_FORM, author=customer,
                                         body_text="late", public=True)
    target = helpdesk.tickets.get(a)
    assert added.ticket_id == target.id
    article, message = helpdesk.tickets.reply(b, "We are on it.", agent=AGENT)
    assert article.ticket_id == target.id == message.ticket_id
    assert helpdesk.tickets.articles(b) == []


def test_hooks_see_every_merge_undo_split_and_link_event(make_helpdesk: MakeHelpdesk) -> None:
    from helpdesk_core import hookimpl

    seen: list[tuple[str, str]] = []

    class Listener:
        @hookimpl
        def helpdesk_ticket_event(self, event, ticket):  # type: ignore[no-untyped-def]
            seen.append((ticket.number, event.kind.value))

    helpdesk = make_helpdesk(plugins=(Listener(),))
    a, b = _form(helpdesk, "one"), _form(helpdesk, "two")
    helpdesk.tickets.merge(a, [b], actor=AGENT)
    helpdesk.tickets.unmerge(b, actor=AGENT)
    note = helpdesk.tickets.add_note(a, "split me", agent=AGENT)
    split = helpdesk.tickets.split(a, [note.id], actor=AGENT)
    helpdesk.tickets.link(a, b, "related", actor=AGENT)
    for expected in [(b, "merged"), (a, "merge_received"), (b, "unmerged"),
                     (a, "merge_released"), (a, "split_off"),
                     (split.new.number, "split_from"), (a, "related"), (b, "related")]:
        assert expected in seen


def test_unmerge_can_take_articles_that_arrived_after_the_merge(helpdesk: Helpdesk,
                                                                clock: FakeClock) -> None:
    a, b = _form(helpdesk, "one"), _form(helpdesk, "two", subject="Other")
    helpdesk.tickets.merge(a, [b], actor=AGENT)
    clock.advance(timedelta(minutes=1))
    late = helpdesk.tickets.add_note(b, "meant for the second", agent=AGENT)
    stays = helpdesk.tickets.add_note(a, "meant for the first", agent=AGENT)
    with pytest.raises(ValidationError):
        helpdesk.tickets.unmerge(b, actor=AGENT, take=["no-such-article"])
    helpdesk.tickets.unmerge(b, actor=AGENT, take=[late.id])
    assert _texts(helpdesk, b) == ["two", "meant for the second"]
    assert stays.id in [x.id for x in helpdesk.tickets.articles(a)]
