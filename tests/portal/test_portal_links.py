"""Signed ticket links: what opens, and every way a token is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_support import EVA, SECRET, add_participant, customer_of, make_helpdesk, written

from helpdesk_core import (
    Actor,
    ConfigurationError,
    Helpdesk,
    LinkRefused,
    PermissionDenied,
    RateLimited,
    Settings,
    ValidationError,
    bootstrap,
)
from helpdesk_core.domain.portal import PortalLimits, PortalLink, token_hash
from helpdesk_core.domain.ratelimit import RateRule
from helpdesk_core.inmemory import FakeClock

URL_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


def _ticket(desk: Helpdesk, email: str = "jana@example.cz") -> tuple[Actor, str]:
    jana = customer_of(desk, email)
    [ticket] = desk.portal.my_tickets(actor=jana).items
    return jana, ticket.number


def _refused(desk: Helpdesk, token: str, reason: str, caller: str = "198.51.100.1") -> None:
    with pytest.raises(LinkRefused) as refused:
        desk.portal.open_link(token, caller=caller)
    assert refused.value.reason == reason


def test_a_link_opens_its_ticket_for_its_customer(desk: Helpdesk) -> None:
    jana, number = _ticket(desk)
    token = desk.portal.issue_link(number, actor=EVA, ttl=timedelta(days=7))
    assert URL_SAFE.fullmatch(token)
    opened = desk.portal.open_link(token, caller="198.51.100.1")
    assert opened.actor == Actor.customer(jana.id, opened.actor.name)
    assert opened.ticket.number == number
    assert opened.expires_at == desk.clock.now().replace(microsecond=0) + timedelta(days=7)
    # the actor it answers works on that ticket in the rest of the portal
    assert desk.portal.ticket(number, actor=opened.actor).number == number


def test_tokens_are_random_and_never_stored(desk: Helpdesk) -> None:
    _jana, number = _ticket(desk)
    tokens = {desk.portal.issue_link(number) for _ in range(20)}
    assert len(tokens) == 20
    stored = written(desk)["portal_links"]
    for token in tokens:
        link_id, nonce, _mac = token.split(".")
        assert len(nonce) >= 22  # 144 random bits: base64 of 18 bytes
        assert token not in stored
        assert nonce not in stored
        assert token_hash(token) in stored
        assert link_id in stored


def test_a_participant_s_link_and_a_stranger_s_refusal(desk: Helpdesk) -> None:
    jana, number = _ticket(desk)
    petr = customer_of(desk, "petr@example.cz")
    with pytest.raises(ValidationError, match="neither"):
        desk.portal.issue_link(number, contact=petr.id)
    add_participant(desk, number, "petr@example.cz")
    token = desk.portal.issue_link(number, contact=petr.id)
    assert desk.portal.open_link(token).actor.id == petr.id
    assert jana.id != petr.id


def test_only_agents_the_system_and_the_host_issue_and_revoke(desk: Helpdesk) -> None:
    jana, number = _ticket(desk)
    before = written(desk)
    for call in (lambda: desk.portal.issue_link(number, actor=jana),
                 lambda: desk.portal.revoke_link("x", actor=jana),
                 lambda: desk.portal.revoke_links(ticket=number, actor=jana)):
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert refused.value.ticket is None  # refused before the ticket was read
    assert written(desk) == before


def test_without_a_secret_there_are_no_links() -> None:
    with bootstrap(Settings(storage="memory", autoload_plugins=False), environ={}) as desk:
        _jana, number = _ticket(desk)
        with pytest.raises(ConfigurationError, match="portal_secret"):
            desk.portal.issue_link(number)
        with pytest.raises(ConfigurationError, match="portal_secret"):
            desk.portal.open_link("a.b.c")
    with pytest.raises(ConfigurationError, match="32"):
        Settings(storage="memory", portal_secret="short")
    assert SECRET not in repr(Settings(storage="memory", portal_secret=SECRET))


def test_the_lifetime_is_bounded(desk: Helpdesk) -> None:
    _jana, number = _ticket(desk)
    for ttl in (timedelta(0), timedelta(seconds=-5), timedelta(days=91)):
        with pytest.raises(ValidationError, match="ttl"):
            desk.portal.issue_link(number, ttl=ttl)


# -- refusals ---------------------------------------------------------------------------------


def test_an_expired_link_is_refused(desk: Helpdesk, clock: FakeClock) -> None:
    _jana, number = _ticket(desk)
    token = desk.portal.issue_link(number, ttl=timedelta(hours=1))
    clock.advance(timedelta(minutes=59))
    desk.portal.open_link(token)
    clock.advance(timedelta(minutes=1))
    _refused(desk, token, "expired")


def test_a_revoked_link_is_refused_one_by_one_or_all_of_a_ticket_or_contact(
        desk: Helpdesk) -> None:
    jana, number = _ticket(desk)
    other = desk.portal.open_ticket({"email": "x@example.cz", "message": "x"}, actor=jana)
    one, two, three = (desk.portal.issue_link(k) for k in (number, number, other.number))
    assert desk.portal.revoke_link(one) is True
    assert desk.portal.revoke_link(one) is False
    _refused(desk, one, "revoked")
    desk.portal.open_link(two)
    assert desk.portal.revoke_links(ticket=number) == 1
    _refused(desk, two, "revoked")
    desk.portal.open_link(three)
    assert desk.portal.revoke_links(contact=jana.id) == 1
    _refused(desk, three, "revoked")
    link_id = desk.portal.issue_link(number).split(".")[0]
    assert desk.portal.revoke_link(link_id) is True  # by its id, as the host may log it
    with pytest.raises(ValidationError):
        desk.portal.revoke_links()


@pytest.mark.parametrize("cut", [1, 2, 10, 43, 44, 60, 84])
def test_a_truncated_token_is_refused(desk: Helpdesk, cut: int) -> None:
    _jana, number = _ticket(desk)
    token = desk.portal.issue_link(number)
    _refused(desk, token[:-cut], "invalid")
    _refused(desk, token + "A", "invalid")


TOKEN_LENGTH = 85  # 16 + 1 + 24 + 1 + 43


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(0, TOKEN_LENGTH - 1), other=st.sampled_from("AQgw_-.0z9"))
def test_a_token_with_any_character_changed_is_refused(position: int, other: str) -> None:
    with make_helpdesk() as desk:
        token = desk.portal.issue_link(_ticket(desk)[1])
        assert len(token) == TOKEN_LENGTH
        if token[position] == other:
            other = "B" if other != "B" else "C"
        changed = token[:position] + other + token[position + 1:]
        _refused(desk, changed, "invalid")
        desk.portal.open_link(token)


def test_a_token_made_with_another_secret_is_refused(desk: Helpdesk) -> None:
    _jana, number = _ticket(desk)
    token = desk.portal.issue_link(number)
    other = bootstrap(Settings(storage="memory", autoload_plugins=False,
                               portal_secret="another-secret-" + "z" * 32),
                      storage=desk.storage.reopen(),  # type: ignore[attr-defined]
                      clock=desk.clock, environ={})
    with other:
        _refused(other, token, "invalid")
        forged = other.portal.issue_link(number)
    desk.portal.open_link(token)
    _refused(desk, forged, "invalid")


def test_a_forged_record_without_the_secret_does_not_open(desk: Helpdesk) -> None:
    """Someone who can write the table but does not know the secret: the MAC refuses."""
    jana, number = _ticket(desk)
    token = desk.portal.issue_link(number)
    link_id = token.split(".")[0]
    with desk.storage.unit_of_work() as uow:
        stored = uow.portal_links.get(link_id)
        assert isinstance(stored, PortalLink)
    petr = customer_of(desk, "petr@example.cz")
    state = desk.storage._state  # type: ignore[attr-defined]
    state.portal_links[link_id] = attrs.evolve(stored, contact_id=petr.id)
    _refused(desk, token, "invalid")
    state.portal_links[link_id] = attrs.evolve(stored, expires_at=stored.expires_at
                                               + timedelta(days=365))
    _refused(desk, token, "invalid")
    assert jana.id


def test_a_link_is_refused_after_the_contact_s_email_changed(desk: Helpdesk) -> None:
    jana, number = _ticket(desk)
    token = desk.portal.issue_link(number)
    with desk.storage.unit_of_work() as uow:
        contact = uow.contacts.get(jana.id)
        uow.contacts.update(attrs.evolve(contact, emails=("jana.new@example.cz",)))
        uow.commit()
    _refused(desk, token, "email_changed")
    fresh = desk.portal.issue_link(number)  # a new link to the new address opens
    assert desk.portal.open_link(fresh).ticket.number == number


def test_a_link_is_refused_after_its_ticket_was_merged(desk: Helpdesk) -> None:
    jana, number = _ticket(desk)
    target = desk.portal.open_ticket({"email": "x@example.cz", "message": "the same"},
                                     actor=jana)
    token = desk.portal.issue_link(number)
    desk.tickets.merge(target.number, [number], actor=EVA)
    _refused(desk, token, "merged")
    # a new link for the merged ticket opens the ticket it continues as
    continued = desk.portal.open_link(desk.portal.issue_link(number))
    assert continued.ticket.number == target.number
    assert desk.portal.ticket(number, actor=jana).continues_as == target.number


# -- rate limits ------------------------------------------------------------------------------


def test_guessing_links_locks_the_caller_out_for_a_while(clock: FakeClock) -> None:
    limits = PortalLimits(failed_links=RateRule(5, timedelta(minutes=10)))
    with make_helpdesk(clock, portal_limits=limits) as desk:
        _jana, number = _ticket(desk)
        token = desk.portal.issue_link(number)
        guess = token[:-3] + "AAA"
        for _ in range(5):
            _refused(desk, guess, "invalid", caller="203.0.113.66")
        with pytest.raises(RateLimited) as limited:
            desk.portal.open_link(token, caller="203.0.113.66")  # the right token too
        assert limited.value.action == "open_link_failures"
        assert 0 < limited.value.retry_after <= 120
        desk.portal.open_link(token, caller="203.0.113.67")  # another caller is not locked
        clock.advance(timedelta(seconds=limited.value.retry_after))
        desk.portal.open_link(token, caller="203.0.113.66")  # one failure came back
        _refused(desk, guess, "invalid", caller="203.0.113.66")
        with pytest.raises(RateLimited):
            desk.portal.open_link(token, caller="203.0.113.66")


def test_without_a_caller_failures_count_per_link(clock: FakeClock) -> None:
    limits = PortalLimits(failed_links=RateRule(2, timedelta(minutes=10)))
    with make_helpdesk(clock, portal_limits=limits) as desk:
        _jana, number = _ticket(desk)
        token = desk.portal.issue_link(number)
        for _ in range(2):
            _refused(desk, token[:-1] + ("A" if token[-1] != "A" else "B"), "invalid",
                     caller=None)  # type: ignore[arg-type]
        with pytest.raises(RateLimited):
            desk.portal.open_link(token)


def test_opening_links_is_limited_per_caller(clock: FakeClock) -> None:
    limits = PortalLimits(open_link=RateRule(3, timedelta(minutes=1)))
    with make_helpdesk(clock, portal_limits=limits) as desk:
        _jana, number = _ticket(desk)
        token = desk.portal.issue_link(number)
        for _ in range(3):
            desk.portal.open_link(token, caller="203.0.113.5")
        with pytest.raises(RateLimited) as limited:
            desk.portal.open_link(token, caller="203.0.113.5")
        assert limited.value.action == "open_link"
        assert limited.value.retry_after == pytest.approx(20, abs=0.01)
        clock.advance(timedelta(seconds=20))
        desk.portal.open_link(token, caller="203.0.113.5")


def test_the_secret_comes_from_the_environment_too() -> None:
    assert Settings.from_env({"HELPDESK_PORTAL_SECRET": SECRET}).portal_secret == SECRET
    assert Settings.from_env({}).portal_secret is None
