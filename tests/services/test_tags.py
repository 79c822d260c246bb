"""Tags through the facade: every way in stores the same normalised tag, or refuses it."""

from __future__ import annotations

import pytest

from helpdesk_core import Actor, KeywordRule, StaffVia, TicketQuery
from helpdesk_core.errors import ValidationError

EVA = Actor.agent("eva", "Eva")


def _open(helpdesk, **details):
    return helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Dotaz",
                                          message="Konvice nehřeje.", **details)


def test_a_tag_with_spaces_is_stored_with_hyphens_on_every_way_in(make_helpdesk):
    helpdesk = make_helpdesk(classification_rules=(
        KeywordRule(keywords=("konvice",), tags=("Kitchen  Appliance",)),))
    ticket = _open(helpdesk, tags=["  VIP   Customer "])
    ticket = helpdesk.tickets.tag(ticket.number, "Needs Callback", "VIP customer", actor=EVA)

    assert ticket.tags == {"vip-customer", "needs-callback", "kitchen-appliance"}
    found = helpdesk.tickets.queue(TicketQuery(tags=frozenset({"Vip Customer"})))
    assert [t.number for t in found.items] == [ticket.number]
    ticket = helpdesk.tickets.untag(ticket.number, "NEEDS  callback", actor=EVA)
    assert ticket.tags == {"vip-customer", "kitchen-appliance"}


@pytest.mark.parametrize("tag", ["", "   ", "x" * 65, "bell\x07", "zero\u200bwidth", "-dash",
                                 "semi;colon"])
def test_an_odd_tag_is_refused_on_every_way_in_and_nothing_is_written(helpdesk, tag):
    ticket = _open(helpdesk)
    with pytest.raises(ValidationError) as refused:
        helpdesk.tickets.tag(ticket.number, "fine", tag, actor=EVA)
    assert refused.value.field == "tag"
    assert helpdesk.tickets.get(ticket.number).tags == frozenset()

    before = len(helpdesk.tickets.queue().items)
    with pytest.raises(ValidationError):
        _open(helpdesk, tags=[tag])
    assert len(helpdesk.tickets.queue().items) == before
    with pytest.raises(ValidationError):
        KeywordRule(keywords=("konvice",), tags=(tag,))
