"""The SLA repository on SQLAlchemy Core: records for the sweep, escalations fired once."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from helpdesk_core.domain.escalations import EscalationRecord, SlaRecord
from helpdesk_sqlalchemy.engine import UnitRepository, guarded
from helpdesk_sqlalchemy.tables import sla_escalations, sla_state

__all__ = ["SqlAlchemySlaRepository"]

_GET = select(sla_state).where(sla_state.c.ticket_id == bindparam("ticket_id"))
_DUE = (select(sla_state)
        .where(sla_state.c.next_at <= bindparam("now"))
        .order_by(sla_state.c.next_at, sla_state.c.ticket_id)
        .limit(bindparam("limit")))
_FIRED = (select(sla_escalations)
          .where(sla_escalations.c.ticket_id == bindparam("ticket_id"))
          .order_by(sla_escalations.c.fired_at, sla_escalations.c.target,
                    sla_escalations.c.cycle, sla_escalations.c.level))


_COLUMNS = ("policy", "reason", "updated_at", "next_at", "targets_digest", "calendar_digest")


@functools.cache
def _statements(dialect: str) -> tuple[Any, Any]:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    put = insert(sla_state)
    put = put.on_conflict_do_update(
        index_elements=["ticket_id"],
        set_={c: put.excluded[c] for c in _COLUMNS})
    # DO NOTHING: a second transaction firing the same level waits for the first one's
    # commit and then inserts nothing — rowcount 0 tells it the level fired already.
    fire = insert(sla_escalations).on_conflict_do_nothing().returning(
        sla_escalations.c.ticket_id)  # rowcount is not reliable for this on every driver
    return put, fire


def _record(row: RowMapping) -> SlaRecord:
    return SlaRecord(ticket_id=row["ticket_id"], **{c: row[c] for c in _COLUMNS})


class SqlAlchemySlaRepository(UnitRepository):
    @guarded
    def put(self, record: SlaRecord) -> None:
        conn = self._conn()
        conn.execute(_statements(conn.dialect.name)[0],
                     {"ticket_id": record.ticket_id,
                      **{c: getattr(record, c) for c in _COLUMNS}})

    @guarded
    def get(self, ticket_id: str) -> SlaRecord | None:
        row = self._conn().execute(_GET, {"ticket_id": ticket_id}).mappings().first()
        return None if row is None else _record(row)

    @guarded
    def due(self, *, now: datetime, limit: int) -> list[SlaRecord]:
        rows = self._conn().execute(_DUE, {"now": now, "limit": limit}).mappings()
        return [_record(r) for r in rows]

    @guarded
    def fire(self, record: EscalationRecord) -> bool:
        conn = self._conn()
        result = conn.execute(_statements(conn.dialect.name)[1],
                              {"ticket_id": record.ticket_id, "target": record.target,
                               "cycle": record.cycle, "level": record.level,
                               "fired_at": record.fired_at, "notified": list(record.notified)})
        return result.first() is not None

    @guarded
    def fired(self, ticket_id: str) -> list[EscalationRecord]:
        rows = self._conn().execute(_FIRED, {"ticket_id": ticket_id}).mappings()
        return [EscalationRecord(ticket_id=r["ticket_id"], target=r["target"], cycle=r["cycle"],
                                 level=r["level"], fired_at=r["fired_at"],
                                 notified=tuple(r["notified"])) for r in rows]
