"""One test per hook in helpdesk_core.plugins.hookspecs, named after the hook.

Each registers a small plugin object through ``bootstrap(..., plugins=[...])`` and checks the
effect through the public API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain import (
    Actor,
    ActorKind,
    Contact,
    EntityKind,
    EntityRef,
    EventKind,
    Priority,
    StaffVia,
    Ticket,
    TicketEvent,
)
from helpdesk_core.domain.extensions import (
    AssignmentProposal,
    Classification,
    FollowUpRequest,
    KeywordRule,
)
from helpdesk_core.errors import ConcurrencyError, PluginError
from helpdesk_core.inmemory import FakeClock, InMemoryBlobStore, InMemoryDirectory, InMemoryStorage
from helpdesk_core.plugins import hookimpl

EVA = Actor.agent("eva", "Eva")
MakeHelpdesk = Callable[..., Helpdesk]


@pytest.fixture
def make_helpdesk() -> MakeHelpdesk:
    def make(*plugins: object, **settings: Any) -> Helpdesk:
        settings.setdefault("storage", "memory")
        return bootstrap(Settings(autoload_plugins=False, **settings), plugins=plugins,
                         clock=FakeClock(), environ={})

    return make


def staff_ticket(helpdesk: Helpdesk, **kwargs: Any) -> Ticket:
    kwargs.setdefault("subject", "Kettle")
    kwargs.setdefault("message", "Broken")
    return helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, **kwargs)


# -- helpdesk_register -------------------------------------------------------------------------


class AcmeAdapters:
    """Registers a storage, a blob store and a directory under its own names."""

    def __init__(self) -> None:
        self.storage = InMemoryStorage()
        self.blob_store = InMemoryBlobStore()
        self.directory = InMemoryDirectory()
        self.seen_settings: list[Settings] = []

    @hookimpl
    def helpdesk_register(self, registry):
        def storage(settings: Settings) -> InMemoryStorage:
            self.seen_settings.append(settings)
            return self.storage

        registry.add_storage("acme", storage)
        registry.add_blob_store("acme", lambda settings: self.blob_store)
        registry.add_directory("acme-crm", lambda settings: self.directory)


def test_helpdesk_register(make_helpdesk):
    plugin = AcmeAdapters()
    helpdesk = make_helpdesk(plugin, storage="acme", directory="acme-crm",
                             options={"dsn": "acme://"})
    assert helpdesk.storage is plugin.storage
    assert helpdesk.blob_store is plugin.blob_store  # named like the storage
    assert helpdesk.directory is plugin.directory
    [settings] = plugin.seen_settings
    assert settings is helpdesk.settings
    assert settings.option("dsn") == "acme://"
    described = helpdesk.registry.describe()
    assert described["storage"] == ["acme", "memory"]
    assert described["directory"] == ["acme-crm", "memory"]
    # the adapters are really in use
    ticket = staff_ticket(helpdesk, customer_email="new@example.cz")
    with plugin.storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.get(ticket.id).number == ticket.number
    assert plugin.directory.customer(ticket.customer_id) is not None


# -- helpdesk_ticket_event ---------------------------------------------------------------------


class Listener:
    def __init__(self) -> None:
        self.received: list[tuple[TicketEvent, Ticket]] = []
        self.helpdesk: Helpdesk | None = None
        self.committed_versions: list[int] = []

    @hookimpl
    def helpdesk_ticket_event(self, event, ticket):
        self.received.append((event, ticket))
        if self.helpdesk is not None:  # what the store holds when we are told
            self.committed_versions.append(self.helpdesk.tickets.get(ticket.id).version)
        ticket.set_priority(Priority.LOW, at=ticket.updated_at, actor=EVA)  # a copy: no effect


class BrokenListener:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def helpdesk_ticket_event(self, event):
        self.calls += 1
        raise RuntimeError("listener bug")


def test_helpdesk_ticket_event(make_helpdesk, caplog):
    first, broken, last = Listener(), BrokenListener(), Listener()
    helpdesk = make_helpdesk(first, broken, last)
    first.helpdesk = helpdesk
    caplog.set_level(logging.ERROR, logger="helpdesk_core.plugins")

    ticket = staff_ticket(helpdesk)
    helpdesk.tickets.transition(ticket.id, "open", actor=EVA)
    helpdesk.tickets.tag(ticket.id, "vip", "b2b", actor=EVA)
    with pytest.raises(ConcurrencyError):
        helpdesk.tickets.set_priority(ticket.id, Priority.HIGH, actor=EVA, expected_version=1)

    history = helpdesk.tickets.history(ticket.id)
    # every committed event, in order, to every listener, despite the broken one between them
    for listener in (first, last):
        assert [event for event, _ in listener.received] == history
    assert broken.calls == len(history)
    assert "listener bug" in caplog.text
    # told after the commit, with the committed state, as a copy
    assert first.committed_versions == [1, 1, 2, 3, 3]
    assert [t.version for _, t in first.received] == [1, 1, 2, 3, 3]
    assert helpdesk.tickets.get(ticket.id).priority is Priority.NORMAL
    assert helpdesk.tickets.get(ticket.id).status == "open"  # the failures undid nothing
    assert [e.kind for e in history] == [EventKind.CREATED, EventKind.ARTICLE_ADDED,
                                         EventKind.STATUS_CHANGED, EventKind.TAG_ADDED,
                                         EventKind.TAG_ADDED]


# -- helpdesk_template_globals -----------------------------------------------------------------


class Globals:
    def __init__(self, values: dict[str, Any] | None) -> None:
        self.values = values
        self.languages: list[str] = []

    @hookimpl
    def helpdesk_template_globals(self, language):
        self.languages.append(language)
        return None if self.values is None else {**self.values, "lang_seen": language}


def test_helpdesk_template_globals(make_helpdesk):
    shop = Globals({"shop_name": "Konvice.cz", "hotline": "+420 800 123 456"})
    silent = Globals(None)
    brand = Globals({"shop_name": "Konvice Group", "logo": "/static/logo.svg"})
    helpdesk = make_helpdesk(shop, silent, brand)
    merged = helpdesk.hooks.template_globals("cs")
    assert merged == {"shop_name": "Konvice Group", "hotline": "+420 800 123 456",
                      "logo": "/static/logo.svg", "lang_seen": "cs"}
    assert shop.languages == silent.languages == brand.languages == ["cs"]
    # registration order decides: the later plugin wins
    reversed_order = make_helpdesk(brand, shop)
    assert reversed_order.hooks.template_globals("de")["shop_name"] == "Konvice.cz"
    assert make_helpdesk().hooks.template_globals("en") == {}

    class Wrong:
        @hookimpl
        def helpdesk_template_globals(self, language):
            return ["not", "a", "dict"]

    with pytest.raises(PluginError):
        make_helpdesk(Wrong()).hooks.template_globals("cs")


# -- helpdesk_classify -------------------------------------------------------------------------


class VipClassifier:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def helpdesk_classify(self, ticket, text):
        self.seen.append((ticket.number, text))
        if "vip" not in text.casefold():
            return None
        return Classification("vip", priority=Priority.URGENT, tags={"vip"}, confidence=0.9,
                              reason="VIP mentioned")


def test_helpdesk_classify(make_helpdesk):
    classifier = VipClassifier()
    rule = KeywordRule(keywords=("kettle",), priority=Priority.HIGH, tags=("kettle",))
    helpdesk = make_helpdesk(classifier, classification_rules=(rule,))

    ticket = staff_ticket(helpdesk, subject="VIP kettle", message="Our VIP's kettle is broken")
    assert classifier.seen == [(ticket.number, "VIP kettle\nOur VIP's kettle is broken")]
    stored = helpdesk.tickets.get(ticket.id)
    assert stored.priority is Priority.URGENT  # more confident than the rule
    assert stored.tags == {"vip", "kettle"}
    by_classifier = [e for e in helpdesk.tickets.history(ticket.id)
                     if e.actor.kind is ActorKind.SYSTEM and e.actor.name == "classifier"]
    assert {(e.kind, e.new) for e in by_classifier} == {
        (EventKind.PRIORITY_CHANGED, "urgent"), (EventKind.TAG_ADDED, "vip"),
        (EventKind.TAG_ADDED, "kettle"),
    }

    plain = staff_ticket(helpdesk, subject="Question", message="Opening hours?")
    assert helpdesk.tickets.get(plain.id).priority is Priority.NORMAL

    explicit = staff_ticket(helpdesk, subject="VIP", message="x", priority=Priority.LOW)
    assert helpdesk.tickets.get(explicit.id).priority is Priority.LOW



def test_helpdesk_classify_failures_are_logged_and_skipped(make_helpdesk, caplog):
    class Nonsense:
        @hookimpl
        def helpdesk_classify(self, ticket, text):
            return {"priority": "urgent"}

    class Crashing:
        @hookimpl
        def helpdesk_classify(self, ticket, text):
            raise RuntimeError("model not loaded")

    caplog.set_level(logging.ERROR, logger="helpdesk_core.plugins")
    helpdesk = make_helpdesk(Nonsense(), Crashing(), VipClassifier())
    ticket = staff_ticket(helpdesk, subject="VIP", message="x")
    stored = helpdesk.tickets.get(ticket.id)
    assert stored.priority is Priority.URGENT  # the working classifier still counted
    assert "model not loaded" in caplog.text
    assert "helpdesk_classify" in caplog.text


def test_helpdesk_classify_suggestions_come_in_registration_order(make_helpdesk):
    class Suggest:
        def __init__(self, source: str, priority: Priority) -> None:
            self.source, self.priority = source, priority

        @hookimpl
        def helpdesk_classify(self, ticket, text):
            return Classification(self.source, priority=self.priority, confidence=0.5)

    helpdesk = make_helpdesk(Suggest("first", Priority.HIGH), Suggest("second", Priority.LOW))
    ticket = staff_ticket(helpdesk)
    assert [c.source for c in helpdesk.hooks.classify(ticket, "x")] == ["first", "second"]
    assert helpdesk.tickets.get(ticket.id).priority is Priority.HIGH  # ties: the earlier one


# -- helpdesk_assignment_resolvers -------------------------------------------------------------


class RoundRobin:
    name = "round_robin"

    def __init__(self, agents: list[str]) -> None:
        self.agents = agents
        self.asked = 0

    def propose(self, ticket):
        agent = self.agents[self.asked % len(self.agents)]
        self.asked += 1
        return AssignmentProposal(self.name, agent, None, "next in line")


class RoundRobinPlugin:
    def __init__(self) -> None:
        self.resolver = RoundRobin(["karel", "lucie"])

    @hookimpl
    def helpdesk_assignment_resolvers(self):
        return [self.resolver]


def test_helpdesk_assignment_resolvers(make_helpdesk):
    plugin = RoundRobinPlugin()
    directory = InMemoryDirectory()
    helpdesk = bootstrap(Settings(storage="memory", autoload_plugins=False),
                         directory=directory, plugins=[plugin], clock=FakeClock(), environ={})

    first = staff_ticket(helpdesk)
    second = staff_ticket(helpdesk)
    assert [helpdesk.tickets.get(t.id).assignee for t in (first, second)] == ["karel", "lucie"]
    [assigned] = [e for e in helpdesk.tickets.history(first.id) if e.kind is EventKind.ASSIGNED]
    reason = assigned.data["reason"]
    assert reason["winner"] == "round_robin"
    assert reason["why"] == "next in line"
    # the plugin's resolver comes after the built-in steps of the chain
    assert [step["resolver"] for step in reason["trace"]] == [
        "incident_type", "account_owner", "channel_owner", "helpdesk_owner", "round_robin"
    ]

    # a built-in answer ends the chain before the plugin is asked
    owner = directory.add_customer(Contact.create(name="Petr", email="petr@example.cz",
                                                  account_owner="olga"))
    asked = plugin.resolver.asked
    third = staff_ticket(helpdesk, customer_id=owner.id)
    assert helpdesk.tickets.get(third.id).assignee == "olga"
    assert plugin.resolver.asked == asked


def test_helpdesk_assignment_resolvers_a_failing_resolver_is_skipped(make_helpdesk, caplog):
    class Broken:
        name = "ldap_lookup"

        def propose(self, ticket):
            raise ConnectionError("ldap down")

    class BrokenPlugin:
        @hookimpl
        def helpdesk_assignment_resolvers(self):
            return [Broken()]

    caplog.set_level(logging.ERROR)
    helpdesk = make_helpdesk(BrokenPlugin(), RoundRobinPlugin())
    ticket = staff_ticket(helpdesk)
    assert helpdesk.tickets.get(ticket.id).assignee == "karel"
    [assigned] = [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.ASSIGNED]
    trace = assigned.data["reason"]["trace"]
    assert [step["resolver"] for step in trace] == [
        "incident_type", "account_owner", "channel_owner", "helpdesk_owner", "ldap_lookup",
        "round_robin",
    ]
    assert "ldap down" in trace[4]["error"]
    assert "ldap_lookup" in caplog.text


# -- helpdesk_followup_actions -----------------------------------------------------------------


class Rma:
    key = "rma"
    label = "Send to manufacturer"

    def __init__(self) -> None:
        self.requests: list[FollowUpRequest] = []

    def start(self, request):
        self.requests.append(request)
        return EntityRef(EntityKind.RMA, "erp", f"RMA-{len(self.requests)}")


class Refund:
    key = "refund"
    label = "Refund"

    def start(self, request):
        return EntityRef(EntityKind.INVOICE, "erp", "CN-1")


class ActionsPlugin:
    def __init__(self, *actions: object) -> None:
        self.actions = list(actions)

    @hookimpl
    def helpdesk_followup_actions(self):
        return self.actions


def test_helpdesk_followup_actions(make_helpdesk):
    rma = Rma()
    helpdesk = make_helpdesk(ActionsPlugin(rma), ActionsPlugin(Refund()))
    assert sorted(helpdesk.hooks.followup_actions()) == ["refund", "rma"]

    ticket = staff_ticket(helpdesk, customer_email="jana@example.cz")
    ref = helpdesk.tickets.start_followup(ticket.number, "rma", actor=EVA,
                                          data={"fault": "no heat"})
    assert ref == EntityRef(EntityKind.RMA, "erp", "RMA-1")
    assert helpdesk.tickets.get(ticket.id).links == {ref}
    [request] = rma.requests
    assert (request.ticket_number, request.customer_id, dict(request.data)) == (
        ticket.number, ticket.customer_id, {"fault": "no heat"}
    )
    refund = helpdesk.tickets.start_followup(ticket.id, "refund", actor=EVA)
    assert helpdesk.tickets.get(ticket.id).links == {ref, refund}

    clash = make_helpdesk(ActionsPlugin(Rma()), ActionsPlugin(Rma()))
    with pytest.raises(PluginError, match="rma"):
        clash.hooks.followup_actions()
