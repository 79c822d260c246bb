"""Signed portal links' records: stored by id, revoked by a timestamp that stays.

Covers :class:`~helpdesk_core.ports.portal.PortalLinkRepository`.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from helpdesk_core.domain.portal import PortalLink, issue_link
from helpdesk_core.ports.storage import PortalLinkRepository, Storage
from helpdesk_core.testing.builders import T0, open_ticket, store_tickets

__all__ = ["TestPortalLinkRepository"]

COVERS = (PortalLinkRepository,)

SECRET = "contract-secret-" + "x" * 32


def _link(ticket_id: str, contact_id: str, *, hours: int = 24) -> PortalLink:
    return issue_link(secret=SECRET, ticket_id=ticket_id, contact_id=contact_id,
                      email=f"{contact_id}@example.cz", issued_at=T0,
                      ttl=timedelta(hours=hours))[1]


def _add(storage: Storage, *links: PortalLink) -> None:
    with storage.unit_of_work() as uow:
        for link in links:
            uow.portal_links.add(link)
        uow.commit()


class TestPortalLinkRepository:
    def test_a_link_is_stored_and_read_back_as_it_was(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        link = _link(ticket.id, "c-jana", hours=24 * 90)
        _add(storage, link)
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.portal_links.get(link.id) == link
            assert uow.portal_links.get("no-such-link") is None
            assert uow.portal_links.get(link.id.upper() if link.id != link.id.upper()
                                        else link.id.lower()) is None  # ids are exact
        stored = _fetch(storage, link.id)
        assert stored.expires_at - stored.issued_at == timedelta(days=90)
        assert stored.expires_at.tzinfo is not None

    def test_a_rolled_back_link_is_not_stored(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        link = _link(ticket.id, "c-jana")
        with storage.unit_of_work() as uow:
            uow.portal_links.add(link)
            assert uow.portal_links.get(link.id) == link  # the unit sees its own write
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.portal_links.get(link.id) is None

    def test_revoking_one_link_keeps_the_first_time(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        first, second = _link(ticket.id, "c-jana"), _link(ticket.id, "c-jana")
        _add(storage, first, second)
        later = T0 + timedelta(hours=1)
        with storage.unit_of_work() as uow:
            assert uow.portal_links.revoke(first.id, at=later) is True
            assert uow.portal_links.revoke(first.id, at=later + timedelta(1)) is False
            assert uow.portal_links.revoke("no-such-link", at=later) is False
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.portal_links.revoke(first.id, at=later + timedelta(2)) is False
            uow.commit()
        assert _fetch(storage, first.id) == attrs.evolve(first, revoked_at=later)
        assert _fetch(storage, second.id) == second

    def test_revoking_every_link_of_a_ticket_or_a_contact(self, storage: Storage) -> None:
        one, two = store_tickets(storage, [open_ticket(), open_ticket()])
        links = {
            "one-jana": _link(one.id, "c-jana"), "one-petr": _link(one.id, "c-petr"),
            "two-jana": _link(two.id, "c-jana"), "two-petr": _link(two.id, "c-petr"),
            "two-eva": _link(two.id, "c-eva"),
        }
        _add(storage, *links.values())
        at = T0 + timedelta(minutes=5)
        with storage.unit_of_work() as uow:
            assert uow.portal_links.revoke_all(at=at) == 0  # naming neither: nothing
            assert uow.portal_links.revoke_all(at=at, ticket_id=two.id, contact_id="c-petr") == 1
            assert uow.portal_links.revoke_all(at=at, ticket_id=one.id) == 2
            uow.commit()
        with storage.unit_of_work() as uow:
            # already revoked ones are not counted again, and keep their time
            assert uow.portal_links.revoke_all(at=at + timedelta(1), contact_id="c-jana") == 1
            assert uow.portal_links.revoke_all(at=at, contact_id="c-nobody") == 0
            uow.commit()
        revoked = {name: _fetch(storage, link.id).revoked_at for name, link in links.items()}
        assert revoked == {"one-jana": at, "one-petr": at, "two-jana": at + timedelta(1),
                           "two-petr": at, "two-eva": None}


def _fetch(storage: Storage, link_id: str) -> PortalLink:
    with storage.unit_of_work(read_only=True) as uow:
        link = uow.portal_links.get(link_id)
    assert link is not None
    return link
