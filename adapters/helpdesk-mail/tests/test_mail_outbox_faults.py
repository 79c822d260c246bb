"""Fault runs: dispatcher processes killed with SIGKILL while a slow SMTP server takes mail.

Several dispatcher processes (``outbox_child.py``) share one outbox on PostgreSQL or SQLite
and one real SMTP server (aiosmtpd) that takes its time per message — part before the data
(answering RCPT), part after it (before its final 250), so that leases run out in both
places. The test kills dispatchers at random moments and starts new ones in their place,
then lets the last ones finish and runs one clean dispatcher itself. The rule checked: **the
server received each Message-ID at most once** (but for an explicit resend, tried at the end),
and every message ends *sent* (received exactly once), *failed* or *uncertain*.

The suite runs short cases (1 s leases, 0.2 to 0.5 s a message, about 20 messages). ``nox -s
faults_outbox`` runs the long ones (leases up to 300 s, 2 to 7 s a message, more messages) by
setting ``HELPDESK_OUTBOX_FAULTS`` to a JSON list of cases; each case prints its figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import attrs
import pytest

from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain import Actor, Channel
from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
from helpdesk_core.settings import Settings
from helpdesk_core.testing.builders import open_ticket, store_tickets
from outbox_child import policy as dispatch_policy
from outbox_child import sender, settings
from smtp_server import FaultyHandler, SmtpServer
from test_mail_outbox import _drop, _pg_schema

CHILD = Path(__file__).with_name("outbox_child.py")
AGENT = Actor.agent("petra", "Petra Malá")


@attrs.frozen
class Case:
    backend: str  # "postgresql" | "sqlite"
    dispatchers: int
    messages: int
    lease: float  # seconds
    per_message: tuple[float, float]  # the server's time per message, drawn from this range
    kills: int
    kill_every: float  # seconds between kills, on average
    batch: int = 5
    seed: int = 13
    # The share of the server's time taken before the data (at RCPT); the rest comes after it,
    # before the final reply (a content scanner). A lease must outlast connecting and the
    # envelope, or no mail ever reaches its data.
    before_data: float = 0.5

    @property
    def name(self) -> str:
        low, high = self.per_message
        return (f"{self.backend}-{self.dispatchers}x-lease{self.lease:g}s-"
                f"{low:g}to{high:g}s-{self.messages}msgs-{self.kills}kills")


SHORT = [
    Case("postgresql", 2, 16, 1.0, (0.2, 0.5), kills=2, kill_every=0.5),
    Case("postgresql", 4, 20, 1.0, (0.2, 0.5), kills=3, kill_every=0.5, batch=4),
    Case("sqlite", 2, 12, 1.0, (0.2, 0.4), kills=2, kill_every=0.5),
]


def _cases() -> list[Case]:
    given = os.environ.get("HELPDESK_OUTBOX_FAULTS")
    if not given:
        return SHORT
    return [Case(**{**case, "per_message": tuple(case["per_message"])})
            for case in json.loads(given)]


class SlowHandler(FaultyHandler):
    """Takes each message's time partly before the data (at the first RCPT) and the rest after
    it (before the final reply); counts Message-IDs as soon as the data is in."""

    def __init__(self, per_message: tuple[float, float], seed: int,
                 before_data: float = 0.5) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.per_message = per_message
        self.before_data = before_data
        self.ids: Counter[str] = Counter()
        self.delays: dict[int, float] = {}
        # The dispatcher processes (by pid, from their EHLO name) waiting for an answer now,
        # and whether before the data ("rcpt") or after it ("data").
        self.waiting: dict[int, str] = {}

    async def _wait(self, session: Any, phase: str) -> None:
        pid = int(str(session.host_name).removeprefix("pid").split(".")[0] or 0)
        self.waiting[pid] = phase
        try:
            await asyncio.sleep(self._delay(session, phase))
        finally:
            self.waiting.pop(pid, None)

    def caught(self, phase: str, within: float) -> int | None:
        """A process waiting in ``phase`` (within ``within`` seconds), or None."""
        until = time.monotonic() + within
        while time.monotonic() < until:
            found = [pid for pid, now in list(self.waiting.items()) if now == phase]
            if found:
                return found[0]
            time.sleep(0.01)
        return None

    def _delay(self, session: Any, phase: str) -> float:
        key = id(session)
        if key not in self.delays:
            self.delays[key] = self.rng.uniform(*self.per_message)
        share = self.before_data if phase == "rcpt" else 1 - self.before_data
        return self.delays[key] * share

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str],
    ) -> str:
        if not envelope.rcpt_tos:
            await self._wait(session, "rcpt")
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any,
    ) -> str:
        data = envelope.original_content or envelope.content
        with self.lock:
            self.ids[str(message_from_bytes(data, policy=policy.default)["Message-ID"])] += 1
        await self._wait(session, "data")
        self.delays.pop(id(session), None)
        return "250 Message accepted"


@pytest.fixture(params=_cases(), ids=lambda case: case.name)
def case(request: pytest.FixtureRequest) -> Case:
    case: Case = request.param
    if case.backend == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return case


@pytest.fixture
def url(case: Case, tmp_path: Path) -> Iterator[str]:
    if case.backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.sqlite3'}"
        return
    schema, pg = _pg_schema()
    try:
        yield pg
    finally:
        _drop(schema)


def _queue(url: str, count: int) -> list[str]:
    """``count`` e-mails, three to a ticket; their Message-IDs."""
    with bootstrap(Settings(database_url=url), environ={}) as desk:
        tickets = store_tickets(desk.storage, [open_ticket() for _ in range(0, count, 3)])
        ids = [f"<fault-{i}@helpdesk.shop.example>" for i in range(count)]
        with desk.storage.unit_of_work() as uow:
            for i, message_id in enumerate(ids):
                uow.outbox.add(OutboxMessage.create(
                    ticket_id=tickets[i // 3].id, kind="reply", channel=Channel.EMAIL,
                    sender="support@shop.example", recipients=(f"c{i}@example.org",),
                    subject=f"Odpověď {i}", body_text="Dobrý den.",
                    at=desk.clock.now(), message_id=message_id))
            uow.commit()
    return ids


def _spawn(case: Case, url: str, port: int, deadline: float) -> subprocess.Popen[str]:
    config = {"database_url": url, "port": port, "lease": case.lease, "batch": case.batch,
              "deadline": deadline}
    return subprocess.Popen([sys.executable, str(CHILD), json.dumps(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_faults(case: Case, url: str) -> dict[str, Any]:
    """One fault run; returns its figures (and asserts the rule)."""
    ids = _queue(url, case.messages)
    handler = SlowHandler(case.per_message, case.seed, case.before_data)
    server = SmtpServer(handler)
    server.start()
    rng = random.Random(case.seed)
    started = time.monotonic()
    # Long enough for everything, a killed dispatcher's leases included, with room to spare.
    budget = (case.messages * sum(case.per_message) / 2 / case.dispatchers
              + (case.kills + 2) * case.lease * 2 + 60)
    try:
        running = [_spawn(case, url, server.port, budget) for _ in range(case.dispatchers)]
        killed, phases = 0, Counter[str]()
        while killed < case.kills and time.monotonic() - started < budget / 2:
            time.sleep(rng.uniform(0.5, 1.5) * case.kill_every)
            # Mid-send: before the data and after it, by turns.
            phase = ("data", "rcpt")[killed % 2]
            pid = handler.caught(phase, within=max(sum(case.per_message), 2.0) * 2)
            victim = next((p for p in running if p.pid == pid and p.poll() is None), None)
            if victim is None:
                continue
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed += 1
            phases[phase] += 1
            running[running.index(victim)] = _spawn(case, url, server.port, budget)
        reports = []
        for child in running:
            out, err = child.communicate(timeout=budget + 120)
            assert child.returncode == 0, err
            reports.append(json.loads(out))
        # A final clean run after every lease has run out.
        time.sleep(case.lease)
        with bootstrap(settings(url), environ={}) as desk:
            final = desk.outbox.dispatch(mail_sender=sender(server.port),
                                         policy=dispatch_policy(case.lease, case.batch))
            with desk.storage.unit_of_work(read_only=True) as uow:
                messages = {m.message_id: m for m in uow.outbox.find(limit=10_000)}
        seconds = time.monotonic() - started
        received = Counter(handler.ids)
        states = Counter(m.state.value for m in messages.values())
        figures = {
            "case": case.name, "seconds": round(seconds, 1), "killed": killed,
            "killed_before_data": phases["rcpt"], "killed_after_data": phases["data"],
            "states": dict(states), "received": sum(received.values()),
            "received_twice": sorted(mid for mid, n in received.items() if n > 1),
            "lost_claims": sum(r["lost"] for r in reports) + final.lost,
            "final_run_claimed": final.claimed,
        }
        print(json.dumps(figures))
        assert sorted(messages) == sorted(ids)
        assert figures["received_twice"] == []
        assert set(states) <= {"sent", "failed", "uncertain"}, states
        for message_id, message in messages.items():
            if message.state is OutboxState.SENT:
                assert received[message_id] == 1, message_id
        # An explicit resend of an uncertain message is the one way to a second copy.
        uncertain = [m for m in messages.values() if m.state is OutboxState.UNCERTAIN]
        if uncertain:
            with bootstrap(settings(url), environ={}) as desk:
                desk.outbox.resend(uncertain[0].id, actor=AGENT)
                handler.per_message = (0.0, 0.0)
                again = desk.outbox.dispatch(mail_sender=sender(server.port),
                                             policy=dispatch_policy(case.lease, case.batch))
            assert again.sent == 1
            assert handler.ids[uncertain[0].message_id or ""] in (1, 2)
            assert [mid for mid, n in handler.ids.items() if n > 1] in (
                [], [uncertain[0].message_id])
        return figures
    finally:
        server.stop()


def test_killed_dispatchers_never_send_a_message_twice(case: Case, url: str) -> None:
    figures = run_faults(case, url)
    assert figures["killed"] == case.kills

