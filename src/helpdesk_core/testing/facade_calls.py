"""Calls of the facade's public methods with arguments drawn from their annotations: for
property tests that feed every method values of the wrong type and hostile strings, on any
storage (see ``tests/property/test_hostile_arguments.py`` and the SQL adapter's tests).

:func:`section_methods` lists every public method of every section, so a method added to a
section is covered without touching a test. :func:`call_arguments` draws, for each
parameter, a plausible value (a ticket that exists in :func:`seed`'s helpdesk, a known agent,
an enum member or its text, a value object built from hostile fields), a value of the wrong
type, or a hostile string. Value objects are built inside the draw: their constructors are
public too, and a non-library error from one fails the draw.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
from hypothesis import strategies as st

from helpdesk_core import app
from helpdesk_core.app import Helpdesk
from helpdesk_core.domain import Contact, EntityKind, EntityRef, Order
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import AdapterError, HelpdeskError
from helpdesk_core.inmemory import InMemoryDirectory
from helpdesk_core.testing.inbox import MemoryInbox
from helpdesk_core.testing.strategies import (
    actors,
    hostile_instants,
    hostile_strings,
    raw_mails,
    wrong_values,
)

__all__ = ["FORM", "call_arguments", "call_refused_cleanly", "section_class", "section_methods",
           "seed", "shop_directory"]

EVA = Actor.agent("eva", "Eva")
FORM = {"email": "jana@example.cz", "name": "Jana", "message": "Konvice netopí.",
        "subject": "Konvice", "order_number": "2026-00042", "language": "cs"}

# Good values by parameter name, so that a call often gets past the first check and the
# hostile value in another parameter reaches the rules behind it. The first ticket a fresh
# helpdesk opens in 2026 is HD-2026-000001.
GOOD_TEXT: dict[str, list[str]] = {
    "key": ["HD-2026-000001", "ack", "reply.default"],
    "ticket_key": ["HD-2026-000001"],
    "ticket": ["HD-2026-000001"],
    "caller": ["203.0.113.7"],
    "to": ["open", "resolved", "waiting_on_customer", "closed"],
    "assignee": ["eva", "alice"],
    "team": ["returns"],
    "language": ["cs", "en", "de"],
    "channel": ["default"],
    "mail_channel": ["default"],
    "name": ["serial_no", "default"],
    "order_number": ["2026-00042"],
    "from_number": ["+420601234567", "601 234 567"],
    "to_number": ["+420800123456"],
    "region": ["CZ"],
    "filename": ["photo.jpg", "faktura.pdf"],
    "content_type": ["image/jpeg", "application/pdf", "text/html"],
    "action": ["exchange", "refund"],
    "status": ["delivered", "failed"],
    "incident_type": ["complaint"],
    "template": ["Dobrý den, {{ ticket.number }}"],
    "provider_call_id": ["call-1"],
    "provider_id": ["sms-1"],
}


class FakeMailSender:
    """A MailSender that accepts every recipient."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, mail: Any, *, before_data: Callable[[], None] | None = None
             ) -> Mapping[str, str]:
        if before_data is not None:
            before_data()
        self.sent.append(mail)
        return {address: "sent" for address in (*mail.to, *mail.cc)}


class FakeSmsSender:
    def send(self, *, to: str, text: str, reference: str) -> str:
        return f"sms-{reference}"


PORTS: dict[str, Callable[[], object]] = {
    "MailInbox": lambda: MemoryInbox(),
    "MailSender": FakeMailSender,
    "SmsSender": FakeSmsSender,
}


def section_methods() -> list[tuple[str, str]]:
    """Every public method of every section the Helpdesk facade holds."""
    found = []
    for field in attrs.fields(Helpdesk):
        if not str(field.type).endswith("Section"):
            continue
        section = vars(app)[str(field.type)]
        for name, member in vars(section).items():
            if not name.startswith("_") and inspect.isfunction(member):
                found.append((field.name, name))
    return found


METHODS = section_methods()


# -- drawing arguments from annotations --------------------------------------------------


def anything(name: str, hint: Any) -> st.SearchStrategy[Any]:
    """For one parameter: a plausible value, a value of the wrong type or a hostile string."""
    return st.one_of(plausible(name, hint), wrong_values(), hostile_strings())


def plausible(name: str, hint: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return st.one_of(wrong_values(), hostile_strings())
    if hint is None or hint is type(None):
        return st.none()
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(plausible(name, a, depth) for a in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if hint is str:
        good = GOOD_TEXT.get(name, [])
        return st.one_of(st.sampled_from(good) if good else st.nothing(),
                         hostile_strings(good[0] if good else None), st.text(max_size=30))
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.one_of(st.integers(0, 200), st.integers(-(2**70), 2**70))
    if hint is float:
        return st.floats()
    if hint is bytes:
        return st.one_of(st.binary(max_size=300), raw_mails())
    if hint is datetime:
        return hostile_instants()
    if hint is timedelta:
        return st.one_of(st.timedeltas(), st.just(timedelta(hours=1)))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        members = list(hint)
        return st.one_of(st.sampled_from(members),
                         st.sampled_from([m.value for m in members]))
    if hint is Actor:
        return st.one_of(st.just(EVA), actors())
    if origin in (collections.abc.Callable,):
        return st.sampled_from([None, lambda *_: None])
    if origin in (list, tuple, set, frozenset, collections.abc.Sequence,
                  collections.abc.Iterable, collections.abc.Collection):
        item = plausible(name, args[0], depth + 1) if args else wrong_values()
        return st.lists(item, max_size=3).map(origin if origin in (list, tuple) else tuple)
    if origin in (dict, collections.abc.Mapping):
        keys = st.one_of(st.sampled_from(sorted(FORM)), hostile_strings(),
                         wrong_values().filter(_hashable))
        values = st.one_of(st.sampled_from(sorted(FORM.values())), hostile_strings(),
                           wrong_values())
        return st.one_of(
            st.dictionaries(keys, values, max_size=6),
            st.builds(lambda k, v: {**FORM, k: v}, st.sampled_from(sorted(FORM)), values),
        )
    if getattr(hint, "_is_protocol", False):
        maker = PORTS.get(hint.__name__)
        return st.builds(maker) if maker else wrong_values()
    if attrs.has(hint) and depth < 2:
        return instances(hint, depth + 1)
    return wrong_values()


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@st.composite
def instances(draw: st.DrawFn, cls: type, depth: int) -> Any:
    """An instance of the value class ``cls`` with drawn fields; when its constructor
    refuses them (with the library's error, or the draw fails), one with its defaults."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in attrs.fields(cls):
        if not field.init:
            continue
        required = field.default is attrs.NOTHING
        if required or draw(st.booleans()):
            kwargs[field.alias or field.name] = draw(
                st.one_of(plausible(field.name, hints.get(field.name, Any), depth),
                          wrong_values(), hostile_strings()))
    try:
        return cls(**kwargs)
    except HelpdeskError:
        try:
            return cls()
        except (HelpdeskError, TypeError):  # no defaults: a wrong value instead
            return draw(wrong_values())


def call_arguments(method: Callable[..., Any]) -> st.SearchStrategy[tuple[list[Any],
                                                                           dict[str, Any]]]:
    hints = typing.get_type_hints(inspect.unwrap(method))
    signature = inspect.signature(method)

    @st.composite
    def draw_arguments(draw: st.DrawFn) -> tuple[list[Any], dict[str, Any]]:
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        for name, parameter in signature.parameters.items():
            if name == "self":
                continue
            hint = hints.get(name, Any)
            if parameter.kind is parameter.VAR_POSITIONAL:
                positional.extend(draw(st.lists(anything(name, hint), max_size=3)))
            elif parameter.kind is parameter.VAR_KEYWORD:
                known = sorted(_detail_names(method) - set(signature.parameters))
                names = st.one_of(st.sampled_from(known) if known else st.nothing(),
                                  hostile_strings())
                keywords.update(draw(st.dictionaries(names, st.one_of(
                    wrong_values(), hostile_strings(), st.sampled_from(sorted(FORM.values()))),
                    max_size=3)))
            elif parameter.default is parameter.empty or draw(st.booleans()):
                value = draw(anything(name, hint))
                if parameter.kind is parameter.POSITIONAL_OR_KEYWORD and not keywords:
                    positional.append(value)
                else:
                    keywords[name] = value
        return positional, keywords

    return draw_arguments()


def _detail_names(method: Callable[..., Any]) -> set[str]:
    """The keywords ``**details`` are handed on to, read from the method's source."""
    source = inspect.getsource(inspect.unwrap(method))
    names: set[str] = set()
    for service in _SERVICES:
        if f"check_details(details, {service.__qualname__}" in source:
            names |= set(inspect.signature(service).parameters) - {"self"}
    return names


def _services() -> list[Callable[..., Any]]:
    from helpdesk_core.services.intake import Intake
    from helpdesk_core.services.tickets import Tickets

    return [Intake.open_by_staff, Intake.open_from_order, Tickets.add_article]


_SERVICES = _services()


def section_class(section: str) -> type:
    return vars(app)[str(attrs.fields_dict(Helpdesk)[section].type)]  # type: ignore[no-any-return]


def shop_directory() -> InMemoryDirectory:
    """Jana, who owns order 2026-00042."""
    shop = InMemoryDirectory()
    jana = shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                            phone="+420 601 234 567", language="cs"))
    shop.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", "2026-00042"),
                         number="2026-00042", customer_id=jana.id,
                         customer_email="jana@example.cz", summary="Kettle"))
    return shop


def seed(desk: Helpdesk) -> None:
    """One ticket with a reply queued, so that keys, outbox ids and statuses have something
    to find: on a fresh helpdesk in 2026 it is HD-2026-000001."""
    ticket = desk.tickets.open_from_web_form(FORM)
    desk.tickets.reply(ticket.number, "Pošleme novou.", agent=EVA)


def call_refused_cleanly(desk: Helpdesk, section: str, name: str,
                         drawn: tuple[list[Any], dict[str, Any]],
                         written: Callable[[Helpdesk], object]) -> None:
    """Call ``desk.<section>.<name>`` with the drawn arguments: only the library's errors may
    come out, never an AdapterError (bad input must not reach a driver and break there), and
    when the call is refused, ``written(desk)`` — what the storage holds — is as before."""
    positional, keywords = drawn
    before = written(desk)
    try:
        getattr(getattr(desk, section), name)(*positional, **keywords)
    except AdapterError:
        raise
    except HelpdeskError:
        assert written(desk) == before, f"{section}.{name} refused but wrote"
