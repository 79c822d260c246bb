"""What a customer sees and does through ``helpdesk.portal``."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from portal_support import EVA, T0, customer_of, make_helpdesk, written

from helpdesk_core import Helpdesk, InvalidTransition, NotFound, RateLimited, TicketNotFound
from helpdesk_core.domain.portal import PortalLimits, PortalUpload, promise_words
from helpdesk_core.domain.ratelimit import Bucket, RateRule
from helpdesk_core.inmemory import FakeClock, InMemoryRateLimiter
from helpdesk_core.sla import BusinessCalendar, PolicySelector, SlaConfig, SlaPolicy, SlaTarget
from helpdesk_core.sla import TargetKind as K

OFFICE = BusinessCalendar.weekly("UTC", {"mon-fri": "09:00-17:00"})
SLA = SlaConfig(selector=PolicySelector.standard(default=SlaPolicy(
    "standard", OFFICE, targets=[SlaTarget.uniform(K.FIRST_RESPONSE, timedelta(hours=4)),
                                 SlaTarget.uniform(K.RESOLUTION, timedelta(hours=16))])))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def test_the_ticket_view_says_the_status_and_the_promise_in_words() -> None:
    clock = FakeClock(T0 + timedelta(hours=6))  # Monday 15:00
    with make_helpdesk(clock, sla=SLA) as desk:
        jana = customer_of(desk, "jana@example.cz")
        [ticket] = desk.portal.my_tickets(actor=jana).items
        view = desk.portal.ticket(ticket.number, actor=jana)
        assert (view.status, view.subject) == ("new", "Konvice")
        assert view.promise == "we answer within 4 business hours; due Tue 11:00"
        desk.tickets.reply(ticket.number, "Díváme se na to.", agent=EVA)
        later = desk.portal.ticket(ticket.number, actor=jana)
        assert later.promise == "we aim to resolve this within 16 business hours; due Wed 15:00"
        desk.portal.close(ticket.number, actor=jana)
        assert desk.portal.ticket(ticket.number, actor=jana).promise is None


def test_without_an_sla_the_promise_is_the_due_date_or_none(desk: Helpdesk) -> None:
    jana = customer_of(desk, "jana@example.cz")
    [ticket] = desk.portal.my_tickets(actor=jana).items
    assert ticket.promise is None
    desk.tickets.set_due(ticket.number, datetime(2026, 3, 20, 12, 0, tzinfo=T0.tzinfo),
                         actor=EVA)
    assert desk.portal.ticket(ticket.number, actor=jana).promise == "due Fri 20 Mar 2026 12:00"


@given(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=30)))
def test_promise_words_never_fail(duration: timedelta) -> None:
    words = promise_words(answer=(duration, T0 + duration), resolve=None, due_at=None,
                          now=T0, zone=T0.tzinfo)  # type: ignore[arg-type]
    assert words is not None
    assert words.startswith("we answer within ")


def test_a_customer_sees_public_messages_and_downloads_their_files(desk: Helpdesk) -> None:
    jana = customer_of(desk, "jana@example.cz", "Jana")
    [ticket] = desk.portal.my_tickets(actor=jana).items
    note_file = desk.tickets.add_attachment(data=b"secret", filename="note.txt")
    desk.tickets.add_note(ticket.number, "internal only", agent=EVA, attachments=[note_file])
    sent = desk.portal.reply(ticket.number, "Photo and a page", actor=jana, files=[
        PortalUpload("photo.png", PNG, "image/png"),
        PortalUpload("page.html", b"<script>alert(1)</script>", "text/html")])
    articles = desk.portal.articles(ticket.number, actor=jana)
    assert [a.text for a in articles][::2] == ["Dobrý den", "Photo and a page"]
    assert articles[1].text.startswith("Hello Jana")  # the acknowledgement
    assert [a.from_customer for a in articles] == [True, False, True]
    assert "internal only" not in [a.text for a in articles]
    photo, page = articles[-1].attachments
    assert photo.id == sent.attachments[0].id
    assert note_file.blob_key not in repr(articles)  # no blob key is ever shown
    got = desk.portal.download(ticket.number, photo.id, actor=jana)
    assert (got.data, got.content_type) == (PNG, "image/png")
    html = desk.portal.download(ticket.number, page.id, actor=jana)
    assert (html.content_type, html.disposition) == ("application/octet-stream", "attachment")
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    assert html.headers["Content-Disposition"].startswith('attachment; filename="page.html.txt"')
    for unknown in ("nothing", f"{articles[-1].id}~9", "../../etc", ""):
        with pytest.raises(NotFound, match="no attachment"):
            desk.portal.download(ticket.number, unknown, actor=jana)


def test_reopen_and_close(desk: Helpdesk) -> None:
    jana = customer_of(desk, "jana@example.cz")
    [ticket] = desk.portal.my_tickets(actor=jana).items
    assert desk.portal.close(ticket.number, actor=jana).status == "closed"
    with pytest.raises(InvalidTransition):
        desk.portal.close(ticket.number, actor=jana)
    assert desk.portal.reopen(ticket.number, actor=jana).status == "open"
    with pytest.raises(InvalidTransition):
        desk.portal.reopen(ticket.number, actor=jana)


def test_a_reply_to_a_merged_ticket_lands_on_the_ticket_it_continues_as(
        desk: Helpdesk) -> None:
    jana = customer_of(desk, "jana@example.cz")
    [source] = desk.portal.my_tickets(actor=jana).items
    target = desk.portal.open_ticket({"email": "x@example.cz", "message": "again"}, actor=jana)
    desk.tickets.merge(target.number, [source.number], actor=EVA)
    sent = desk.portal.reply(source.number, "still broken", actor=jana,
                             files=[PortalUpload("p.png", PNG, "image/png")])
    on_target = desk.portal.articles(target.number, actor=jana)
    assert sent.id in {a.id for a in on_target}
    assert desk.portal.download(target.number, sent.attachments[0].id, actor=jana).data == PNG


def test_a_refused_reply_stores_no_file(desk: Helpdesk) -> None:
    jana = customer_of(desk, "jana@example.cz")
    [ticket] = desk.portal.my_tickets(actor=jana).items
    before = written(desk)
    with pytest.raises(ValueError, match="body"):
        desk.portal.reply(ticket.number, "", actor=jana, files=[PortalUpload("a.png", PNG)])
    with pytest.raises(TicketNotFound):
        desk.portal.reply("HD-2026-999999", "x", actor=jana, files=[PortalUpload("a", PNG)])
    assert written(desk) == before


def test_replies_and_tickets_from_the_portal_are_rate_limited(clock: FakeClock) -> None:
    limits = PortalLimits(reply=RateRule(2, timedelta(hours=1)),
                          open_ticket=RateRule(1, timedelta(hours=1)))
    with make_helpdesk(clock, portal_limits=limits) as desk:
        jana = customer_of(desk, "jana@example.cz")
        [ticket] = desk.portal.my_tickets(actor=jana).items
        desk.portal.reply(ticket.number, "one", actor=jana)
        desk.portal.reply(ticket.number, "two", actor=jana)
        before = written(desk)
        with pytest.raises(RateLimited) as limited:
            desk.portal.reply(ticket.number, "three", actor=jana)
        assert (limited.value.action, limited.value.retry_after) == ("reply", 1800)
        assert written(desk) == before
        desk.tickets.reply(ticket.number, "agents are not limited", agent=EVA)
        form = {"email": "new@example.cz", "message": "hi"}
        desk.portal.open_ticket(form, caller="203.0.113.1")
        with pytest.raises(RateLimited):
            desk.portal.open_ticket(form, caller="203.0.113.1")
        desk.portal.open_ticket(form, caller="203.0.113.2")
        desk.portal.open_ticket(form)  # the host's own call, without a caller


# -- the bucket --------------------------------------------------------------------------------


@given(calls=st.integers(1, 50), minutes=st.integers(1, 600), taken=st.integers(0, 120),
       later=st.integers(0, 100_000))
def test_a_bucket_allows_its_calls_then_refuses_until_one_came_back(
        calls: int, minutes: int, taken: int, later: int) -> None:
    rule = RateRule(calls, timedelta(minutes=minutes))
    bucket, allowed = Bucket.full(rule, T0), 0
    for _ in range(taken):
        bucket, wait = bucket.take(rule, T0)
        allowed += wait is None
    assert allowed == min(taken, calls)
    wait = bucket.wait(rule, T0)
    if taken >= calls:
        assert wait is not None
        assert 0 < wait <= rule.interval + 0.001
        assert bucket.wait(rule, T0 + timedelta(seconds=wait)) is None
    else:
        assert wait is None
    at = T0 + timedelta(seconds=later)
    assert bucket.refilled(rule, at).level <= calls
    assert bucket.refilled(rule, T0 - timedelta(hours=1)).level == bucket.level


def test_the_in_memory_limiter_forgets_full_buckets_first() -> None:
    rule = RateRule(1, timedelta(minutes=1))
    limiter = InMemoryRateLimiter(max_keys=3)
    for key in "abc":
        assert limiter.take(key, rule, now=T0) is None
    assert limiter.take("d", rule, now=T0 + timedelta(minutes=2)) is None  # a, b, c are full
    assert limiter.wait("d", rule, now=T0 + timedelta(minutes=2)) is not None
    for key in "efgh":
        limiter.take(key, rule, now=T0 + timedelta(minutes=2))
    assert len(limiter._buckets) <= 3


@pytest.mark.parametrize(("fields", "field"), [
    ({"filename": "a.png", "data": "text"}, "files.data"),
    ({"filename": None, "data": b""}, "files.filename"),
    ({"filename": "a", "data": b"", "content_type": 3}, "files.content_type"),
])
def test_an_upload_of_the_wrong_types_is_refused(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PortalUpload(**fields)  # type: ignore[arg-type]
