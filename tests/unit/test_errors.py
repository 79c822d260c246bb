"""The error tree drawn in errors.py's docstring, checked class by class."""

from __future__ import annotations

import pytest

from helpdesk_core import errors
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import (
    AcknowledgementRefused,
    AdapterError,
    ConcurrencyError,
    ConfigurationError,
    ContactNotFound,
    DeliveryError,
    DomainError,
    HelpdeskError,
    InvalidTransition,
    LinkRefused,
    MailboxError,
    MergeConflict,
    MessageTooLarge,
    NotFound,
    OrderNotFound,
    OrderNotOwned,
    PermissionDenied,
    PluginError,
    RateLimited,
    SchemaError,
    SmsTooLong,
    StorageError,
    StorageUnavailable,
    TemplateError,
    TemplateNotFound,
    TicketNotFound,
    UnknownStaff,
    ValidationError,
)

# (class, helpdesk parent, builtin twin or None), as the docstring draws the tree
TREE = [
    (HelpdeskError, Exception, None),
    (DomainError, HelpdeskError, None),
    (ValidationError, DomainError, ValueError),
    (TemplateError, ValidationError, ValueError),
    (SmsTooLong, ValidationError, ValueError),
    (UnknownStaff, ValidationError, ValueError),
    (InvalidTransition, DomainError, ValueError),
    (OrderNotOwned, DomainError, PermissionError),
    (MergeConflict, DomainError, None),
    (PermissionDenied, HelpdeskError, PermissionError),
    (LinkRefused, HelpdeskError, PermissionError),
    (RateLimited, HelpdeskError, None),
    (NotFound, HelpdeskError, LookupError),
    (TicketNotFound, NotFound, LookupError),
    (ContactNotFound, NotFound, LookupError),
    (OrderNotFound, NotFound, LookupError),
    (TemplateNotFound, NotFound, LookupError),
    (ConcurrencyError, HelpdeskError, None),
    (ConfigurationError, HelpdeskError, ValueError),
    (SchemaError, ConfigurationError, ValueError),
    (AdapterError, HelpdeskError, None),
    (StorageError, AdapterError, None),
    (StorageUnavailable, StorageError, None),
    (MailboxError, AdapterError, None),
    (MessageTooLarge, MailboxError, None),
    (AcknowledgementRefused, MailboxError, None),
    (DeliveryError, AdapterError, None),
    (PluginError, HelpdeskError, None),
]


@pytest.mark.parametrize(("cls", "parent", "twin"), TREE, ids=[c.__name__ for c, _, _ in TREE])
def test_each_error_sits_where_the_docstring_draws_it(cls, parent, twin):
    assert issubclass(cls, parent)
    assert issubclass(cls, HelpdeskError) or cls is HelpdeskError
    if twin is not None:
        assert issubclass(cls, twin)
    assert cls.__name__ in (errors.__doc__ or "")


def test_the_tree_lists_every_exported_error():
    assert {c.__name__ for c, _, _ in TREE} == set(errors.__all__)


@pytest.mark.parametrize(
    ("cls", "not_a"),
    [(ValidationError, LookupError), (TicketNotFound, ValueError), (OrderNotOwned, ValueError),
     (ConcurrencyError, ValueError), (StorageError, DomainError), (PluginError, AdapterError),
     (ConfigurationError, DomainError), (MergeConflict, ValueError),
     (PermissionDenied, DomainError), (PermissionDenied, NotFound),
     (OrderNotOwned, PermissionDenied), (LinkRefused, PermissionDenied),
     (LinkRefused, NotFound), (RateLimited, PermissionError)],
)
def test_errors_are_not_mistaken_for_unrelated_ones(cls, not_a):
    assert not issubclass(cls, not_a)


def test_error_payloads():
    invalid = ValidationError("must not be empty", field="subject")
    assert (invalid.field, invalid.reason, str(invalid)) == (
        "subject", "must not be empty", "subject: must not be empty"
    )
    assert ValidationError("bad").field is None
    move = InvalidTransition("closed", "new", reason="not allowed")
    assert (move.from_status, move.to_status) == ("closed", "new")
    assert "'closed'" in str(move)
    assert "not allowed" in str(move)
    assert OrderNotOwned("2026-1").order_number == "2026-1"
    assert TicketNotFound("HD-1").key == "HD-1"
    assert ContactNotFound("c1").key == "c1"
    assert OrderNotFound("2026-1").number == "2026-1"
    missing = TemplateNotFound("thanks", languages=["cs", "en"], incident_type="complaint",
                               available=[("general", "en"), ("general", "cs")],
                               ticket="HD-1")
    assert (missing.key, missing.incident_type, missing.languages, missing.ticket) == (
        "thanks", "complaint", ("cs", "en"), "HD-1")
    assert missing.available == (("general", "cs"), ("general", "en"))
    assert str(missing) == ("ticket HD-1: no template 'thanks' for incident type 'complaint' "
                            "in cs or en; it exists for incident types: general (cs, en)")
    too_long = SmsTooLong(segments=7, limit=6, encoding="ucs2")
    assert (too_long.segments, too_long.limit, too_long.encoding, too_long.field) == (
        7, 6, "ucs2", "text"
    )
    assert "7 SMS segments" in str(too_long)
    behind = SchemaError("upgrade it", current="0003", required="0005")
    assert (behind.current, behind.required, str(behind)) == ("0003", "0005", "upgrade it")
    assert SchemaError("create it", current=None, required="0005").current is None
    refused = LinkRefused("email_changed")
    assert (refused.reason, str(refused)) == ("email_changed",
                                              "the link does not open: email changed")
    limited = RateLimited("open_link", retry_after=12.3)
    assert (limited.action, limited.retry_after) == ("open_link", 12.3)
    assert str(limited) == "too many open link calls; try again in 12 s"
    assert RateLimited("reply", retry_after=-1).retry_after == 0.0


def test_builtin_twins_catch_our_errors():
    with pytest.raises(LookupError):
        raise TicketNotFound("HD-1")
    with pytest.raises(PermissionError):
        raise OrderNotOwned("2026-1")
    with pytest.raises(ValueError, match="subject"):
        raise ValidationError("bad", field="subject")
    with pytest.raises(PermissionError, match="may not assign"):
        raise PermissionDenied(Actor.customer("c-1"), "assign", ticket="HD-1")


@pytest.mark.parametrize(
    ("actor", "action", "ticket", "reason", "message"),
    [(Actor.customer("c-1"), "assign", "HD-1", "agents and the system only",
      "customer c-1 may not assign (ticket HD-1): agents and the system only"),
     (Actor.customer(None), "read_ticket", "HD-2", None,
      "customer without an id may not read ticket (ticket HD-2)"),
     (Actor.customer("c-1"), "view_queue", None, None, "customer c-1 may not view queue"),
     (Actor.agent("alice"), "configure", None, "read-only",
      "agent alice may not configure: read-only"),
     (Actor.system(), "resend", None, None, "the system may not resend")],
)
def test_permission_denied_names_the_actor_and_the_action(actor, action, ticket, reason, message):
    denied = PermissionDenied(actor, action, ticket=ticket, reason=reason)
    assert str(denied) == message
    assert (denied.actor, denied.action, denied.ticket, denied.reason) == (
        actor, action, ticket, reason
    )


@pytest.mark.parametrize("transient", [True, False])
def test_delivery_error_says_whether_a_retry_can_help(transient):
    try:
        try:
            raise TimeoutError("smtp timed out")
        except TimeoutError as exc:
            raise DeliveryError("could not hand over", transient=transient) from exc
    except DeliveryError as caught:
        error = caught
    assert error.transient is transient
    assert isinstance(error.__cause__, TimeoutError)
    assert isinstance(error, AdapterError)


def test_delivery_error_requires_the_flag():
    with pytest.raises(TypeError):
        DeliveryError("no flag")  # type: ignore[call-arg]


def test_template_error_lists_its_problems_with_lines():
    from helpdesk_core.domain.templates import TemplateProblem

    error = TemplateError([TemplateProblem("text", 3, "unknown placeholder 'x'"),
                           TemplateProblem("subject", None, "must not be empty")], key="thanks")
    assert error.key == "thanks"
    assert error.field == "template"
    assert [p.line for p in error.problems] == [3, None]
    assert "text, line 3: unknown placeholder 'x'" in str(error)
    assert isinstance(error, ValidationError)
