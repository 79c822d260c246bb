"""helpdesk.kb through the facade: who sees what, versions, suggestions for a ticket, an
article from an agent's reply, attachments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain.knowledge import KbChange, KbState
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import ConcurrencyError, NotFound, PermissionDenied, ValidationError
from helpdesk_core.inmemory import FakeClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVA = Actor.agent("eva", "Eva")
ANONYMOUS = Actor.customer(None)


@pytest.fixture
def desk() -> Iterator[Helpdesk]:
    with bootstrap(Settings(storage="memory", autoload_plugins=False), clock=FakeClock(T0),
                   environ={}) as helpdesk:
        helpdesk.kb.create(key="descaling", title="Odvápnění kávovaru",
                           body="Když svítí kontrolka odvápnění, spusťte program odvápnění.",
                           language="cs", category="appliances/coffee", visibility="public",
                           tags=["kavovar"], actor=EVA)
        helpdesk.kb.publish("descaling", actor=EVA)
        helpdesk.kb.create(key="courier-claims", title="Reklamace u dopravce (interní)",
                           body="Poškozenou zásilku reklamujeme u dopravce do 5 dnů.",
                           language="cs", category="shipping/damage", actor=EVA)
        helpdesk.kb.publish("courier-claims", actor=EVA)
        yield helpdesk


def test_a_customer_sees_public_published_articles_only(desk: Helpdesk) -> None:
    assert desk.kb.get("descaling", actor=ANONYMOUS).title == "Odvápnění kávovaru"
    with pytest.raises(NotFound):
        desk.kb.get("courier-claims", actor=ANONYMOUS)
    assert desk.kb.get("courier-claims", actor=EVA).key == "courier-claims"
    assert [a.key for a in desk.kb.list(actor=ANONYMOUS)] == ["descaling"]
    assert desk.kb.list(visibility="internal", actor=ANONYMOUS) == []
    assert [a.key for a in desk.kb.list(actor=EVA)] == ["courier-claims", "descaling"]
    assert [a.key for a in desk.kb.list(category="shipping", actor=EVA)] == ["courier-claims"]
    desk.kb.unpublish("descaling", actor=EVA)
    with pytest.raises(NotFound):
        desk.kb.get("descaling", actor=Actor.customer("c-1"))
    for write in (lambda: desk.kb.create(key="x", title="X", body="X", language="cs",
                                         actor=ANONYMOUS),
                  lambda: desk.kb.publish("descaling", actor=ANONYMOUS),
                  lambda: desk.kb.revisions("descaling", actor=ANONYMOUS)):
        with pytest.raises(PermissionDenied):
            write()


def test_edits_keep_every_version(desk: Helpdesk) -> None:
    edited = desk.kb.edit("descaling", body="Nalijte odvápňovač a spusťte program.",
                          actor=EVA, expected_version=2)
    assert edited.version == 3
    assert edited.state is KbState.PUBLISHED
    with pytest.raises(ConcurrencyError):
        desk.kb.edit("descaling", title="Starý pohled", actor=EVA, expected_version=2)
    revisions = desk.kb.revisions("descaling", actor=EVA)
    assert [(r.version, r.change) for r in revisions] == [
        (1, KbChange.CREATED), (2, KbChange.PUBLISHED), (3, KbChange.EDITED)]
    assert revisions[0].article.body.startswith("Když svítí")
    archived = desk.kb.archive(edited.id, actor=EVA)
    assert archived.state is KbState.ARCHIVED
    with pytest.raises(ValidationError):
        desk.kb.create(key="descaling", title="Again", body="Again", language="cs", actor=EVA)
    with pytest.raises(NotFound):
        desk.kb.edit("missing", title="X", actor=EVA)


def test_suggestions_for_a_text_and_for_a_ticket(desk: Helpdesk) -> None:
    [first] = desk.kb.suggest(text="jak odvapnit kavovar, sviti kontrolka", language="cs")
    assert first.article.key == "descaling"
    assert "kontrolka" in first.matched
    ticket = desk.tickets.open_from_web_form(
        {"email": "jana@example.cz", "name": "Jana", "subject": "Poškozená zásilka",
         "message": "Zásilka přišla poškozená.", "language": "cs"})
    keys = [s.article.key for s in desk.kb.suggest(ticket.number, actor=EVA)]
    assert keys == ["courier-claims"]
    # A customer gets public articles only, and only for a ticket of theirs.
    assert desk.kb.suggest(ticket.number, actor=Actor.customer(ticket.customer_id)) == []
    with pytest.raises(PermissionDenied):
        desk.kb.suggest(ticket.number, actor=Actor.customer("someone-else"))
    with pytest.raises(ValidationError):
        desk.kb.suggest(actor=EVA)
    with pytest.raises(ValidationError):
        desk.kb.suggest(ticket.number, text="both", actor=EVA)


def test_an_agents_reply_becomes_a_draft_article(desk: Helpdesk) -> None:
    ticket = desk.tickets.open_from_web_form(
        {"email": "jana@example.cz", "name": "Jana", "subject": "Kávovar teče",
         "message": "Z kávovaru teče voda.", "language": "cs"})
    photo = desk.tickets.add_attachment(data=b"\x89PNG\r\n\x1a\n", filename="tacka.png",
                                        content_type="image/png", actor=EVA)
    article, _message = desk.tickets.reply(ticket.number, "Vyjměte a vyčistěte spařovací "
                                           "jednotku.", agent=EVA, attachments=[photo])
    draft = desk.kb.from_reply(ticket.number, article.id, key="coffee-leaking", actor=EVA,
                               category="appliances/coffee", tags=["kavovar"])
    assert (draft.title, draft.language, draft.state) == ("Kávovar teče", "cs", KbState.DRAFT)
    assert draft.body == "Vyjměte a vyčistěte spařovací jednotku."
    assert draft.related_tickets == (ticket.number,)
    assert draft.attachments == (photo,)
    first_message = desk.tickets.articles(ticket.number)[0]
    with pytest.raises(NotFound):  # the customer's own message is no reply
        desk.kb.from_reply(ticket.number, first_message.id, key="x", actor=EVA)


def test_attach_stores_the_file_as_a_new_version(desk: Helpdesk) -> None:
    article = desk.kb.attach("descaling", data=b"%PDF-1.4 manual", filename="navod.pdf",
                             content_type="application/pdf", actor=EVA)
    assert article.version == 3
    [meta] = article.attachments
    assert meta.filename == "navod.pdf"
    assert meta.size == 15
    assert desk.blob_store.get(meta.blob_key) == b"%PDF-1.4 manual"
    with pytest.raises(NotFound):
        desk.kb.attach("missing", data=b"x", filename="x.pdf", actor=EVA)
