"""The portal links' records on SQLAlchemy Core (tokens are never stored, only their hash)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import RowMapping

from helpdesk_core.domain.portal import PortalLink
from helpdesk_sqlalchemy.engine import UnitRepository, guarded
from helpdesk_sqlalchemy.tables import portal_links

__all__ = ["SqlAlchemyPortalLinkRepository"]

_COLUMNS = ("id", "token_hash", "ticket_id", "contact_id", "email_digest", "issued_at",
            "expires_at", "revoked_at")
_INSERT = insert(portal_links)
_GET = select(portal_links).where(portal_links.c.id == bindparam("link_id"))
_REVOKE = (update(portal_links)
           .where(portal_links.c.id == bindparam("link_id"),
                  portal_links.c.revoked_at.is_(None))
           .values(revoked_at=bindparam("at")))


def _link(row: RowMapping) -> PortalLink:
    return PortalLink(**{c: row[c] for c in _COLUMNS})


class SqlAlchemyPortalLinkRepository(UnitRepository):
    @guarded
    def add(self, link: PortalLink) -> None:
        self._conn().execute(_INSERT, {c: getattr(link, c) for c in _COLUMNS})

    @guarded
    def get(self, link_id: str) -> PortalLink | None:
        row = self._conn().execute(_GET, {"link_id": link_id}).mappings().first()
        return None if row is None else _link(row)

    @guarded
    def revoke(self, link_id: str, *, at: datetime) -> bool:
        return self._conn().execute(_REVOKE, {"link_id": link_id, "at": at}).rowcount == 1

    @guarded
    def revoke_all(self, *, at: datetime, ticket_id: str | None = None,
                   contact_id: str | None = None) -> int:
        if ticket_id is None and contact_id is None:
            return 0
        statement = (update(portal_links).where(portal_links.c.revoked_at.is_(None))
                     .values(revoked_at=at))
        if ticket_id is not None:
            statement = statement.where(portal_links.c.ticket_id == ticket_id)
        if contact_id is not None:
            statement = statement.where(portal_links.c.contact_id == contact_id)
        return self._conn().execute(statement).rowcount
