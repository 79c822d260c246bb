"""Addresses in Cc of a customer's mail: recorded always, taking part and copied on replies
only by policy (``MailPolicy.cc_participants``, ``MailPolicy.cc_notified``).

Before, every Cc address of a customer's mail became a participant: its later mail was
published as the customer's and reopened the ticket, and it could read the ticket in the
portal. Now it is a ``cc_recorded`` event, and its mail is a stranger's.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.services.conftest import MakeHelpdesk
from tests.services.mail_support import raw_mail

from helpdesk_core import Helpdesk
from helpdesk_core.domain import Channel, Contact, StatusCategory
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.ticket import copied, notified, participants
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import ConfigurationError, PermissionDenied
from helpdesk_core.inmemory import InMemoryDirectory
from helpdesk_core.mail.policy import MailChannel, MailPolicy

AGENT = Actor.agent("eva", "Eva")
POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")
CHANNELS = (MailChannel(name="reklamace", addresses=frozenset({"reklamace@shop.example"})),)
JANA = "jana@example.cz"


def desk_with(make_helpdesk: MakeHelpdesk, **policy: object) -> Helpdesk:
    return make_helpdesk(mail_policy=attrs.evolve(POLICY, **policy), mail_channels=CHANNELS)


def opened(desk: Helpdesk, cc: str) -> str:
    outcome = desk.mail.receive(raw_mail(cc=cc))
    assert outcome.outcome == "new_ticket", outcome
    return outcome.ticket_number or ""


def kinds(desk: Helpdesk, number: str, kind: EventKind) -> list[str]:
    return [e.new for e in desk.tickets.history(number) if e.kind is kind]


@pytest.mark.parametrize(("cc", "recorded"), [
    ("Manžel <pavel@example.cz>", ["pavel@example.cz"]),
    ("Pavel@Example.CZ", ["pavel@example.cz"]),
    ("pavel@example.cz, PAVEL@example.cz", ["pavel@example.cz"]),
    ("pavel@example.cz, support@shop.example", ["pavel@example.cz"]),  # never ourselves
    ("reklamace@shop.example, pavel@example.cz", ["pavel@example.cz"]),  # a channel's too
    (f"{JANA}, pavel@example.cz", ["pavel@example.cz"]),  # nor the sender
    ("not-an-address, pavel@example.cz", ["pavel@example.cz"]),
    ("eva@example.cz, pavel@example.cz", ["eva@example.cz", "pavel@example.cz"]),
    ('"Novák, Petr" <petr@example.cz>; lenka@example.sk', ["petr@example.cz",
                                                            "lenka@example.sk"]),
    ("support@shop.example", []),
])
@pytest.mark.parametrize(("take_part", "notify"), [(False, False), (False, True),
                                                   (True, False), (True, True)])
def test_cc_addresses_are_recorded_and_take_part_only_by_policy(
        make_helpdesk: MakeHelpdesk, cc: str, recorded: list[str], take_part: bool,
        notify: bool) -> None:
    desk = desk_with(make_helpdesk, cc_participants=take_part, cc_notified=notify)
    number = opened(desk, cc)
    history = desk.tickets.history(number)
    assert kinds(desk, number, EventKind.PARTICIPANT_ADDED) == (recorded if take_part else [])
    assert kinds(desk, number, EventKind.CC_RECORDED) == ([] if take_part else recorded)
    assert participants(history) == (frozenset(recorded) if take_part else frozenset())
    assert copied(history) == (frozenset() if take_part else frozenset(recorded))
    assert notified(history) == (frozenset(recorded) if notify else frozenset())
    for event in history:
        if event.kind in (EventKind.CC_RECORDED, EventKind.PARTICIPANT_ADDED):
            assert event.actor.kind.value == "system"
            assert event.data["notified"] is notify
            assert event.new in event.describe()


@pytest.mark.parametrize("thread", ["subject", "in-reply-to"])
def test_a_copied_address_does_not_speak_for_the_customer(make_helpdesk: MakeHelpdesk,
                                                          thread: str) -> None:
    desk = desk_with(make_helpdesk)
    number = opened(desk, "Pavel <pavel@example.cz>")
    desk.tickets.transition(number, "resolved", actor=AGENT)
    [ack] = [m for m in desk.outbox.for_ticket(number) if m.kind == "acknowledgement"]
    public = len(desk.tickets.articles(number, public_only=True))
    kw = ({"subject": f"Re: [{number}] Konvice"} if thread == "subject"
          else {"subject": "Re: Konvice", "in_reply_to": ack.message_id})
    outcome = desk.mail.receive(raw_mail(sender="pavel@example.cz", body="Peníze mně.", **kw))
    assert outcome.outcome == "new_ticket"  # a ticket of his own
    assert outcome.held_on == number
    assert outcome.ticket_number != number
    last = desk.tickets.articles(number)[-1]
    assert (last.direction.value, last.public) == ("internal", False)
    assert desk.tickets.get(number).status_category is StatusCategory.RESOLVED  # not reopened
    assert len(desk.tickets.articles(number, public_only=True)) == public


def test_by_policy_a_cc_address_speaks_for_the_customer_as_before(
        make_helpdesk: MakeHelpdesk) -> None:
    desk = desk_with(make_helpdesk, cc_participants=True)
    number = opened(desk, "Pavel <pavel@example.cz>")
    desk.tickets.transition(number, "resolved", actor=AGENT)
    outcome = desk.mail.receive(raw_mail(sender="pavel@example.cz", subject=f"Re: [{number}]"))
    assert (outcome.outcome, outcome.ticket_number) == ("reply", number)
    assert desk.tickets.articles(number)[-1].public
    assert desk.tickets.get(number).status_category is StatusCategory.OPEN


def test_a_copied_address_gets_no_access_to_the_ticket(make_helpdesk: MakeHelpdesk,
                                                       directory: InMemoryDirectory) -> None:
    pavel = directory.add_customer(Contact.create(name="Pavel", email="pavel@example.cz"))
    as_pavel = Actor.customer(pavel.id, "Pavel")
    desk = desk_with(make_helpdesk)
    number = opened(desk, "pavel@example.cz")
    with pytest.raises(PermissionDenied):
        desk.tickets.get(number, actor=as_pavel)
    shared = desk_with(make_helpdesk, cc_participants=True)
    other = opened(shared, "pavel@example.cz")
    assert shared.tickets.get(other, actor=as_pavel).number == other


def test_a_reply_records_new_cc_addresses_once(make_helpdesk: MakeHelpdesk) -> None:
    desk = desk_with(make_helpdesk)
    number = opened(desk, "pavel@example.cz")
    for cc in ("pavel@example.cz, eva@example.cz", "eva@example.cz", "EVA@example.cz"):
        outcome = desk.mail.receive(raw_mail(subject=f"Re: [{number}]", cc=cc))
        assert outcome.outcome == "reply"
    assert kinds(desk, number, EventKind.CC_RECORDED) == ["pavel@example.cz", "eva@example.cz"]


def test_recorded_before_as_a_participant_is_not_recorded_again(
        make_helpdesk: MakeHelpdesk) -> None:
    desk = desk_with(make_helpdesk)
    number = opened(desk, "")
    desk.tickets.reply(number, "Dobrý den", agent=AGENT, cc=["pavel@example.cz"])
    desk.mail.receive(raw_mail(subject=f"Re: [{number}]", cc="pavel@example.cz"))
    assert kinds(desk, number, EventKind.PARTICIPANT_ADDED) == ["pavel@example.cz"]
    assert kinds(desk, number, EventKind.CC_RECORDED) == []


# -- copies of the agents' replies -------------------------------------------------------------


@pytest.mark.parametrize(("notify", "take_part"), [(True, False), (True, True), (False, False),
                                                   (False, True)])
def test_notified_addresses_get_a_copy_of_the_agents_reply(
        make_helpdesk: MakeHelpdesk, notify: bool, take_part: bool) -> None:
    desk = desk_with(make_helpdesk, cc_notified=notify, cc_participants=take_part)
    number = opened(desk, "Pavel <pavel@example.cz>, eva@example.cz")
    _article, message = desk.tickets.reply(number, "Posíláme novou konvici.", agent=AGENT)
    copies = ("eva@example.cz", "pavel@example.cz") if notify else ()
    assert message.recipients == (JANA, *copies)
    assert message.cc == copies
    # a copy makes nobody a participant
    assert kinds(desk, number, EventKind.PARTICIPANT_ADDED) == (
        ["pavel@example.cz", "eva@example.cz"] if take_part else [])


def test_copies_go_only_with_mail_to_the_customer(make_helpdesk: MakeHelpdesk) -> None:
    desk = desk_with(make_helpdesk, cc_notified=True)
    number = opened(desk, "pavel@example.cz")
    _a, to_someone = desk.tickets.reply(number, "Dotaz pro dopravce", agent=AGENT,
                                        to=["doprava@example.cz"])
    assert to_someone.cc == ()
    _a, sms = desk.tickets.reply(number, "Konvice je na cestě", agent=AGENT,
                                 channel=Channel.SMS)
    assert sms.cc == ()
    _a, chosen = desk.tickets.reply(number, "Viz výše", agent=AGENT, cc=["lenka@example.sk"])
    assert chosen.cc == ("lenka@example.sk", "pavel@example.cz")
    # the agent's own Cc takes part; the notified copy does not
    assert kinds(desk, number, EventKind.PARTICIPANT_ADDED) == ["lenka@example.sk"]


@pytest.mark.parametrize("value", ["yes", 1, None])
@pytest.mark.parametrize("field", ["cc_participants", "cc_notified"])
def test_the_cc_policy_takes_only_true_or_false(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        MailPolicy(**{field: value})  # type: ignore[arg-type]


POOL = ["pavel@example.cz", "PAVEL@example.cz", "eva@example.cz", "lenka@example.sk",
        JANA, "support@shop.example", "reklamace@shop.example", "nonsense", "x@y"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=st.lists(st.sampled_from(POOL), max_size=5),
       second=st.lists(st.sampled_from(POOL), max_size=5),
       take_part=st.booleans(), notify=st.booleans())
def test_what_is_recorded_from_cc(make_helpdesk: MakeHelpdesk, first: list[str],
                                  second: list[str], take_part: bool, notify: bool) -> None:
    desk = desk_with(make_helpdesk, cc_participants=take_part, cc_notified=notify)
    number = opened(desk, ", ".join(first))
    desk.mail.receive(raw_mail(subject=f"Re: [{number}]", cc=", ".join(second)))
    ours = {"support@shop.example", "reklamace@shop.example", JANA}
    expected = list(dict.fromkeys(a.lower() for a in [*first, *second]
                                  if "." in a.split("@")[-1] and a.lower() not in ours))
    recorded = kinds(desk, number, EventKind.PARTICIPANT_ADDED if take_part
                     else EventKind.CC_RECORDED)
    assert recorded == expected
    history = desk.tickets.history(number)
    assert participants(history) == (set(expected) if take_part else set())
    assert notified(history) == (set(expected) if notify else set())
