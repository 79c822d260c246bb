"""One unit-of-work path: services commit only through ``Unit.commit``; in-transaction handlers
share the fate of the commit; after-commit handlers only ever see what was committed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

import helpdesk_core.facade
import helpdesk_core.services
from helpdesk_core import Actor, Helpdesk, Priority, Settings, bootstrap, hookimpl
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.errors import StorageError
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory, InMemoryStorage
from helpdesk_core.ports.storage import UnitOfWork
from helpdesk_core.services.messagebus import Raised
from helpdesk_core.services.unit_of_work import Unit
from helpdesk_core.sla import (
    BusinessCalendar,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

ALWAYS = BusinessCalendar.weekly("UTC", {"mon-sun": "00:00-24:00"})
SLA = SlaConfig(selector=PolicySelector.standard(default=SlaPolicy(
    "standard", ALWAYS, targets=[SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))])))
AGENT = Actor.agent("eva", "Eva")
FORM = {"email": "jana@example.cz", "name": "Jana", "message": "Konvice netopí."}

# -- the rule, read from the source ---------------------------------------------------------

_PATH_MODULE = "unit_of_work.py"  # the one module that may open and commit a storage unit


def _modules() -> Iterator[Path]:
    for package in (helpdesk_core.services, helpdesk_core.facade):
        yield from sorted(Path(package.__path__[0]).glob("*.py"))


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func, line = node.func, f"{path.name}:{node.lineno}"
        receiver = func.value
        if func.attr == "unit_of_work":
            found.append(f"{line} opens a storage unit itself")
        elif func.attr == "commit" and not (isinstance(receiver, ast.Name)
                                            and receiver.id == "unit"):
            found.append(f"{line} commits something that is not its Unit")
        elif func.attr == "save" and isinstance(receiver, ast.Attribute) \
                and receiver.attr == "tickets":
            found.append(f"{line} saves a ticket (the unit saves what changed)")
        if isinstance(receiver, ast.Attribute) and receiver.attr == "storage_unit":
            found.append(f"{line} works on the storage's own unit")
    return found


def test_services_and_facades_commit_only_through_the_unit_of_work_path() -> None:
    checked = [p for p in _modules() if p.name != _PATH_MODULE]
    assert len(checked) > 20  # the packages were found
    problems = [v for path in checked for v in _violations(path)]
    assert problems == []


def test_the_rule_catches_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(deps, uow, unit):\n"
                   "    with deps.storage.unit_of_work() as uow:\n"
                   "        uow.tickets.save(t)\n"
                   "        uow.commit()\n"
                   "    unit.storage_unit.commit()\n")
    assert len(_violations(bad)) == 5


# -- fault injection ------------------------------------------------------------------------


class _FailingUnit:
    """The storage's unit, whose commit fails once everything was written into it."""

    def __init__(self, inner: UnitOfWork, storage: FailingStorage) -> None:
        self._inner = inner
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        if self._storage.fail_commits:
            raise StorageError("the database went away at commit")
        self._inner.commit()


class FailingStorage:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fail_commits = False

    def unit_of_work(self, *, read_only: bool = False) -> _FailingUnit:
        return _FailingUnit(self.inner.unit_of_work(read_only=read_only), self)

    def migrate(self) -> None:
        self.inner.migrate()

    def check_schema(self) -> None:
        self.inner.check_schema()

    def close(self) -> None:
        self.inner.close()


class Listener:
    def __init__(self) -> None:
        self.seen: list[tuple[str, EventKind]] = []

    @hookimpl
    def helpdesk_ticket_event(self, event: TicketEvent, ticket: Ticket) -> None:
        self.seen.append((ticket.number, event.kind))


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FailingStorage]:
    if request.param == "memory":
        inner: Any = InMemoryStorage()
    else:
        sqlalchemy = pytest.importorskip("helpdesk_sqlalchemy")
        inner = sqlalchemy.SqlAlchemyStorage.from_url(f"sqlite:///{tmp_path / 'hd.sqlite3'}")
        inner.migrate()
    failing = FailingStorage(inner)
    yield failing
    failing.close()


def _desk(storage: FailingStorage, listener: Listener, clock: FakeClock) -> Helpdesk:
    return bootstrap(Settings(storage="memory", autoload_plugins=False, sla=SLA,
                              migrate=False), storage=storage,  # type: ignore[arg-type]
                     directory=InMemoryDirectory(), clock=clock, plugins=[listener],
                     environ={})


def _written(storage: FailingStorage) -> dict[str, int]:
    with storage.inner.unit_of_work(read_only=True) as uow:
        tickets = uow.tickets.query(TicketQuery(limit=100)).items
        return {"tickets": len(tickets),
                "outbox": sum(len(uow.outbox.for_ticket(t.id)) for t in tickets),
                "sla": sum(uow.sla.get(t.id) is not None for t in tickets)}


def test_a_failed_commit_rolls_back_the_handlers_writes_and_tells_nobody(
        storage: FailingStorage) -> None:
    listener, clock = Listener(), FakeClock()
    desk = _desk(storage, listener, clock)
    storage.fail_commits = True
    with pytest.raises(StorageError):
        desk.tickets.open_from_web_form(FORM)
    # The acknowledgement (outbox) and the SLA record were written inside the transaction by
    # handlers; none of it is there, and no after-commit handler heard of the ticket.
    assert _written(storage) == {"tickets": 0, "outbox": 0, "sla": 0}
    assert listener.seen == []

    storage.fail_commits = False
    ticket = desk.tickets.open_from_web_form(FORM)
    assert _written(storage) == {"tickets": 1, "outbox": 1, "sla": 1}
    assert (ticket.number, EventKind.CREATED) in listener.seen
    assert (ticket.number, EventKind.SLA_POLICY) in listener.seen  # handlers' events too


def test_a_failing_in_transaction_handler_rolls_back_the_change(
        storage: FailingStorage) -> None:
    listener, clock = Listener(), FakeClock()
    desk = _desk(storage, listener, clock)
    ticket = desk.tickets.open_from_web_form(FORM)
    listener.seen.clear()

    def refuses(raised: Raised, unit: Unit) -> None:
        if any(e.field == "priority" for e in raised.events):
            raise RuntimeError("a handler failed")

    desk.bus.in_transaction("refuses", refuses)
    with pytest.raises(RuntimeError):
        desk.tickets.set_priority(ticket.number, Priority.URGENT, actor=AGENT)
    assert desk.tickets.get(ticket.number).priority is ticket.priority
    assert listener.seen == []


def test_after_commit_handlers_see_each_committed_event_once(storage: FailingStorage) -> None:
    listener, clock = Listener(), FakeClock()
    desk = _desk(storage, listener, clock)
    ticket = desk.tickets.open_from_web_form(FORM)
    stored = [(ticket.number, e.kind) for e in desk.tickets.history(ticket.number)]
    assert listener.seen == stored

